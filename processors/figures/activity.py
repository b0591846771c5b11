"""Activity: check-ins per market per Beijing hour; jobs, applications and hires per live stream.

A check-in counts once, in the hour it happened, at its market or station
(and city-wide; one at a bare location only city-wide), if the ledger applied
it or found it stale: a late check-in still happened.

A live-stream session (直播带岗, source livestream:<id>) is credited with the
jobs whose first posting came from it, and with the applications and hires
those jobs received, whatever channel sent them: what the session brought
about, each counted once.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from processors.figures.counts import Counts, Key, Terms, by_group, expand, spread, term
from processors.figures.fill import APPLICATIONS, POSTED_JOBS
from processors.figures.groups import CITY, CITY_WIDE, MARKET, SESSION
from processors.figures.history import JobHistory
from processors.figures.positions import POSTED_POSITIONS
from processors.figures.windows import EVER, HOUR, hour_window
from processors.jobs import JobState
from topics.checkins import Checkin

CHECKINS = "checkins"
HIRES = "hires"
_LIVESTREAM = "livestream:"


def session_of(source: str | None) -> str | None:
    """The live-stream session a channel names, if it is one."""
    if source is None or not source.startswith(_LIVESTREAM):
        return None
    return source.removeprefix(_LIVESTREAM)


def checkin_counts(data: Checkin, occurred_ms: int) -> Counts:
    groups = [CITY_WIDE]
    if data.market_id is not None:
        groups.append((MARKET, data.market_id))
    return spread(CHECKINS, groups, [hour_window(occurred_ms)], 1)


def job_counts(state: JobState, history: JobHistory) -> Counts:
    return expand(job_terms(state, history))


def job_terms(state: JobState, history: JobHistory) -> Terms:
    session = session_of(history.source)
    if session is None:
        return []
    group = [(SESSION, session)]
    return [
        *term(POSTED_JOBS, group, [EVER], 1),
        *term(POSTED_POSITIONS, group, [EVER], state.job.headcount),
        *term(APPLICATIONS, group, [EVER], len(history.applications)),
        *term(HIRES, group, [EVER], len(state.hires)),
    ]


@dataclass(frozen=True)
class Session:
    session: str
    posted_jobs: int
    posted_positions: int
    applications: int
    hires: int


def sessions(counts: Mapping[Key, int]) -> list[Session]:
    posted_jobs = by_group(counts, POSTED_JOBS, SESSION, EVER)
    posted = by_group(counts, POSTED_POSITIONS, SESSION, EVER)
    applications = by_group(counts, APPLICATIONS, SESSION, EVER)
    hires = by_group(counts, HIRES, SESSION, EVER)
    return [
        Session(s, posted_jobs[s], posted.get(s, 0), applications.get(s, 0), hires.get(s, 0))
        for s in sorted(posted_jobs)
    ]


def checkins_by_hour(counts: Mapping[Key, int], market_id: str | None) -> dict[int, int]:
    """Check-ins at a market (city-wide for None) by the start (UTC ms) of each Beijing hour."""
    by, group = (CITY, "") if market_id is None else (MARKET, market_id)
    return {
        key.window.start_ms: n
        for key, n in counts.items()
        if key.figure == CHECKINS
        and (key.by, key.group) == (by, group)
        and key.window.period == HOUR
    }
