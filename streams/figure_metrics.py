"""The city's figures as Prometheus gauges, read from the counters in Redis on a timer.

Every worker reads the same counters and exports the same values (dashboards take
max by (...) across workers). Labels stay bounded: groups are occupations,
districts and markets, the most active MAX_GROUPS of each grouping by name and
the rest summed into OTHER (every figure is a sum of counters, so the lump's
ratios and quantiles are exact for the lump); live-stream sessions are only
those whose figures changed in the last SESSION_DAYS, MAX_SESSIONS at most. A
series no longer found is dropped at the next refresh.
"""

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable

import faust
from prometheus_client import Gauge
from redis.asyncio import Redis

from processors.figures.activity import Session, checkins_by_hour, sessions
from processors.figures.counts import Counts, Key
from processors.figures.fill import conversion, fill_rows
from processors.figures.groups import CITY, DISTRICT, MARKET, OCCUPATION, SESSION
from processors.figures.positions import positions_per_seeker
from processors.figures.sketch import LEVELS
from processors.figures.windows import (
    DAY,
    DAY_MS,
    EVER,
    HOUR_MS,
    LIVE,
    NOW,
    WEEK,
    Window,
    hour_window,
    recent_days,
)
from streams import metrics
from streams.figure_counters import read_counts
from streams.figure_reads import current_window, wages

log = logging.getLogger(__name__)

GROUPINGS = (CITY, OCCUPATION, DISTRICT, MARKET)
LUMPED = frozenset({OCCUPATION, DISTRICT, MARKET})
MAX_GROUPS = 100
OTHER = "其他"
SESSION_DAYS = 7
MAX_SESSIONS = 50
CHECKIN_HOURS = 24  # a market with a check-in in these hours is exported, at 0 if quiet now
FILL_QUANTILES = ("0.5", "0.9")
HOURS = ("current", "previous")  # the Beijing hours check-ins are exported for
# The windows exported: live, today and this week (a month is gigstream report's).
EXPORTED = (NOW, DAY, WEEK)

Labels = tuple[str, ...]
Samples = dict[Gauge, dict[Labels, float]]
Parts = dict[Window, Counts]  # a group's counters, window by window
FIGURE_GAUGES = (
    metrics.OPEN_POSITIONS,
    metrics.POSTED_POSITIONS,
    metrics.ACTIVE_SEEKERS,
    metrics.POSITIONS_PER_SEEKER,
    metrics.DAILY_WAGE,
    metrics.WAGE_JOBS,
    metrics.FILL,
    metrics.APPLICATIONS_PER_JOB,
    metrics.TIME_TO_FILL,
    metrics.MATCHED_PAIRS,
    metrics.MATCH_HIRE_CONVERSION,
    metrics.CHECKINS,
    metrics.SESSION_POSTED_JOBS,
    metrics.SESSION_POSTED_POSITIONS,
    metrics.SESSION_APPLICATIONS,
    metrics.SESSION_HIRES,
)


class SessionRecency:
    """When this process first saw each live-stream session's current figures.

    The counters keep a session's totals but not when it ran, so recency is
    what the exporter saw change: a process started later sees every session as
    new, and exports at most MAX_SESSIONS of them for SESSION_DAYS.
    """

    def __init__(self) -> None:
        self._changed: dict[str, tuple[Session, int]] = {}

    def recent(self, found: Iterable[Session], now_ms: int) -> list[Session]:
        changed = {}
        for session in found:
            known = self._changed.get(session.session)
            if known is None or known[0] != session:
                known = (session, now_ms)
            changed[session.session] = known
        self._changed = changed
        since_ms = now_ms - SESSION_DAYS * DAY_MS
        fresh = sorted(
            (item for item in changed.values() if item[1] > since_ms),
            key=lambda item: (-item[1], item[0].session),
        )
        return [session for session, _ in fresh[:MAX_SESSIONS]]


_RECENCY = SessionRecency()


def register(app: faust.App, redis: Redis, interval_s: float) -> None:
    """Adds the timer that exports the figures every interval_s."""

    async def export_figures() -> None:
        try:
            await refresh(redis, time.time_ns() // 1_000_000)
        except Exception as error:
            log.warning("exporting the figures failed (%r); the next tick retries", error)

    app.timer(interval_s, name="figure_metrics.export_figures")(export_figures)


async def refresh(redis: Redis, now_ms: int, recency: SessionRecency = _RECENCY) -> None:
    """Reads the counters the figures need, in one round trip, and sets every gauge."""
    counts = await read_counts(redis, windows_read(now_ms))
    # Reading a city's figures off its counters takes a while: off the event loop, so the
    # agent and the web server keep going; the gauges are set back on it, all at once.
    found = await asyncio.to_thread(_samples_of, counts, now_ms, recency)
    export(found)
    metrics.FIGURES_REFRESHED.set(now_ms / 1000)


def _samples_of(counts: Counts, now_ms: int, recency: SessionRecency) -> Samples:
    # One pass for the sessions' counters: sessions() scans what it is given per figure.
    of_sessions = {key: n for key, n in counts.items() if key.by == SESSION}
    live_sessions = recency.recent(sessions(of_sessions), now_ms)
    return samples(lumped(counts, MAX_GROUPS), now_ms, live_sessions)


def windows_read(now_ms: int) -> list[Window]:
    """The live now, all time (sessions), this week, the last 30 days and 24 hours."""
    week = current_window(WEEK, now_ms)
    return [LIVE, EVER, week, *recent_days(now_ms), *last_hours(now_ms)]


def last_hours(now_ms: int) -> list[Window]:
    """The Beijing hour windows of the last CHECKIN_HOURS hours, the current one first."""
    return [hour_window(now_ms - n * HOUR_MS) for n in range(CHECKIN_HOURS)]


def lumped(counts: Counts, max_groups: int) -> Counts:
    """The counts with each grouping's groups beyond its max_groups most active (by the sum
    of their counters, then by name) counted as OTHER."""
    activity: dict[tuple[str, str], int] = defaultdict(int)
    for key, n in counts.items():
        if key.by in LUMPED:
            activity[key.by, key.group] += abs(n)
    ranked = sorted(activity, key=lambda group: (group[0], -activity[group], group[1]))
    kept: set[tuple[str, str]] = set()
    for by in LUMPED:
        kept.update([group for group in ranked if group[0] == by][:max_groups])
    if len(kept) == len(activity):
        return counts
    result: Counts = {}
    for key, n in counts.items():
        if key.by in LUMPED and (key.by, key.group) not in kept:
            key = Key(key.figure, key.by, OTHER, key.window, key.bucket)  # not _replace: slow
        result[key] = result.get(key, 0) + n
    return result


def samples(counts: Counts, now_ms: int, live_sessions: list[Session]) -> Samples:
    """Every figure gauge's series: labels -> value. Read group by group and window by
    window: the readers scan all they are given for each figure, window and group, and a
    city has a hundred thousand counters."""
    found: Samples = defaultdict(dict)
    _city_at_zero(found)
    parts: dict[tuple[str, str], dict[Window, Counts]] = defaultdict(dict)
    for key, n in counts.items():
        parts[key.by, key.group].setdefault(key.window, {})[key] = n
    for (by, group), windows in sorted(parts.items()):
        if by not in GROUPINGS:
            continue
        _positions(found, windows, by, now_ms)
        _fill(found, windows, by, now_ms)
        if by in (CITY, OCCUPATION):
            _wages(found, windows, by, group, now_ms)
        if by in (CITY, MARKET):
            _checkins(found, windows, by, group, now_ms)
    for session in live_sessions:
        found[metrics.SESSION_POSTED_JOBS][session.session,] = session.posted_jobs
        found[metrics.SESSION_POSTED_POSITIONS][session.session,] = session.posted_positions
        found[metrics.SESSION_APPLICATIONS][session.session,] = session.applications
        found[metrics.SESSION_HIRES][session.session,] = session.hires
    return found


def export(found: Samples) -> None:
    """Sets the gauges to the samples, dropping every other series. Nothing awaits in
    between, so a scrape sees one refresh whole, never half of one."""
    for gauge in FIGURE_GAUGES:
        gauge.clear()
        for labels, value in found.get(gauge, {}).items():
            gauge.labels(*labels).set(value)


def _city_at_zero(found: Samples) -> None:
    """The city-wide counts before anything counts: a flat line, not a missing one."""
    found[metrics.OPEN_POSITIONS][CITY, ""] = 0
    found[metrics.WAGE_JOBS][CITY, ""] = 0
    for period in EXPORTED:
        found[metrics.ACTIVE_SEEKERS][CITY, "", period] = 0
        if period != NOW:
            found[metrics.POSTED_POSITIONS][CITY, "", period] = 0
            found[metrics.MATCHED_PAIRS][period,] = 0
    for hour in HOURS:
        found[metrics.CHECKINS][CITY, "", hour] = 0


def _positions(found: Samples, windows: Parts, by: str, now_ms: int) -> None:
    for period in EXPORTED:
        window = current_window(period, now_ms)
        for row in positions_per_seeker(windows.get(window, {}), by, window):
            if period == NOW:
                found[metrics.OPEN_POSITIONS][by, row.group] = row.positions
            else:
                found[metrics.POSTED_POSITIONS][by, row.group, period] = row.positions
            found[metrics.ACTIVE_SEEKERS][by, row.group, period] = row.seekers
            if row.ratio is not None:
                found[metrics.POSITIONS_PER_SEEKER][by, row.group, period] = row.ratio


def _fill(found: Samples, windows: Parts, by: str, now_ms: int) -> None:
    for period in (DAY, WEEK):
        window = current_window(period, now_ms)
        part = windows.get(window, {})
        for row in fill_rows(part, by, window):
            labels = (by, row.group, period)
            if row.fill_rate is not None:
                found[metrics.FILL][labels] = row.fill_rate
            if row.applications_per_job is not None:
                found[metrics.APPLICATIONS_PER_JOB][labels] = row.applications_per_job
            minutes = (row.time_to_fill_p50_minutes, row.time_to_fill_p90_minutes)
            for q, value in zip(FILL_QUANTILES, minutes, strict=True):
                if value is not None:
                    found[metrics.TIME_TO_FILL][(*labels, q)] = value * 60
        if by == CITY:
            matched = conversion(part, window)
            found[metrics.MATCHED_PAIRS][period,] = matched.matches
            if matched.rate is not None:
                found[metrics.MATCH_HIRE_CONVERSION][period,] = matched.rate


def _wages(found: Samples, windows: Parts, by: str, group: str, now_ms: int) -> None:
    row = wages(_union(windows, recent_days(now_ms)), None if by == CITY else group, now_ms)
    if row.levels is None:
        return
    found[metrics.WAGE_JOBS][by, group] = row.count
    for q, yuan in zip(LEVELS, row.levels, strict=True):
        found[metrics.DAILY_WAGE][by, group, str(q)] = yuan


def _checkins(found: Samples, windows: Parts, by: str, group: str, now_ms: int) -> None:
    by_hour = checkins_by_hour(_union(windows, last_hours(now_ms)), None if by == CITY else group)
    if not by_hour:
        return  # no check-in in the last CHECKIN_HOURS
    for name, hour in zip(HOURS, last_hours(now_ms), strict=False):
        found[metrics.CHECKINS][by, group, name] = by_hour.get(hour.start_ms, 0)


def _union(windows: Parts, wanted: Iterable[Window]) -> Counts:
    return {key: n for window in wanted for key, n in windows.get(window, {}).items()}
