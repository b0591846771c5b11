"""The city's figures as Prometheus gauges, read from the counters in Redis on a timer.

Every worker reads the same counters and exports the same values (dashboards take
max by (...) across workers). Labels stay bounded: groups are occupations,
districts and markets, the most active MAX_GROUPS of each grouping by name and
the rest summed into OTHER (every figure is a sum of counters, so the lump's
ratios and quantiles are exact for the lump); live-stream sessions are only
those whose figures changed in the last SESSION_DAYS, MAX_SESSIONS at most. A
series no longer found is dropped at the next refresh.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterable

import faust
from prometheus_client import Gauge
from redis.asyncio import Redis

from processors.figures.activity import CHECKINS, Session, checkins_by_hour, sessions
from processors.figures.counts import Counts, add
from processors.figures.fill import conversion, fill_rows
from processors.figures.groups import CITY, DISTRICT, MARKET, OCCUPATION
from processors.figures.positions import positions_per_seeker
from processors.figures.sketch import LEVELS
from processors.figures.wage_levels import DAILY_WAGE
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
# The windows exported: live, today and this week (a month is gigstream report's).
EXPORTED = (NOW, DAY, WEEK)

Labels = tuple[str, ...]
Samples = dict[Gauge, dict[Labels, float]]
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
    live_sessions = recency.recent(sessions(counts), now_ms)
    export(samples(lumped(counts, MAX_GROUPS), now_ms, live_sessions))
    metrics.FIGURES_REFRESHED.set(now_ms / 1000)


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
    result: Counts = {}
    for key, n in counts.items():
        if key.by in LUMPED and (key.by, key.group) not in kept:
            key = key._replace(group=OTHER)
        add(result, {key: n})
    return result


def samples(counts: Counts, now_ms: int, live_sessions: list[Session]) -> Samples:
    """Every figure gauge's series: labels -> value."""
    found: Samples = defaultdict(dict)
    _positions(found, counts, now_ms)
    _wages(found, counts, now_ms)
    _fill(found, counts, now_ms)
    _checkins(found, counts, now_ms)
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


def _positions(found: Samples, counts: Counts, now_ms: int) -> None:
    for period in EXPORTED:
        window = current_window(period, now_ms)
        # City-wide at 0 when nothing counts yet: a flat line, not a missing one.
        if period == NOW:
            found[metrics.OPEN_POSITIONS][CITY, ""] = 0
        else:
            found[metrics.POSTED_POSITIONS][CITY, "", period] = 0
        found[metrics.ACTIVE_SEEKERS][CITY, "", period] = 0
        for by in GROUPINGS:
            for row in positions_per_seeker(counts, by, window):
                if period == NOW:
                    found[metrics.OPEN_POSITIONS][by, row.group] = row.positions
                else:
                    found[metrics.POSTED_POSITIONS][by, row.group, period] = row.positions
                found[metrics.ACTIVE_SEEKERS][by, row.group, period] = row.seekers
                if row.ratio is not None:
                    found[metrics.POSITIONS_PER_SEEKER][by, row.group, period] = row.ratio


def _wages(found: Samples, counts: Counts, now_ms: int) -> None:
    recent = set(recent_days(now_ms))
    occupations = sorted(
        {
            key.group
            for key in counts
            if (key.figure, key.by) == (DAILY_WAGE, OCCUPATION) and key.window in recent
        }
    )
    for occupation in [None, *occupations]:
        row = wages(counts, occupation, now_ms)
        by, group = (CITY, "") if occupation is None else (OCCUPATION, occupation)
        found[metrics.WAGE_JOBS][by, group] = row.count
        if row.levels is None:
            continue
        for q, yuan in zip(LEVELS, row.levels, strict=True):
            found[metrics.DAILY_WAGE][by, group, str(q)] = yuan


def _fill(found: Samples, counts: Counts, now_ms: int) -> None:
    for period in (DAY, WEEK):
        window = current_window(period, now_ms)
        for by in GROUPINGS:
            for row in fill_rows(counts, by, window):
                labels = (by, row.group, period)
                if row.fill_rate is not None:
                    found[metrics.FILL][labels] = row.fill_rate
                if row.applications_per_job is not None:
                    found[metrics.APPLICATIONS_PER_JOB][labels] = row.applications_per_job
                minutes = (row.time_to_fill_p50_minutes, row.time_to_fill_p90_minutes)
                for q, value in zip(FILL_QUANTILES, minutes, strict=True):
                    if value is not None:
                        found[metrics.TIME_TO_FILL][(*labels, q)] = value * 60
        matched = conversion(counts, window)
        found[metrics.MATCHED_PAIRS][period,] = matched.matches
        if matched.rate is not None:
            found[metrics.MATCH_HIRE_CONVERSION][period,] = matched.rate


def _checkins(found: Samples, counts: Counts, now_ms: int) -> None:
    hours = last_hours(now_ms)
    starts = {"current": hours[0].start_ms, "previous": hours[1].start_ms}
    shown = set(hours)
    markets = sorted(
        {
            key.group
            for key in counts
            if (key.figure, key.by) == (CHECKINS, MARKET) and key.window in shown
        }
    )
    for by, market in [(CITY, None), *((MARKET, m) for m in markets)]:
        by_hour = checkins_by_hour(counts, market)
        for hour, start_ms in starts.items():
            found[metrics.CHECKINS][by, market or "", hour] = by_hour.get(start_ms, 0)
