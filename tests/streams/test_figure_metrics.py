"""The figures' gauges from counters in a real Redis (db 3), as the wiring would keep them.

The counters come from events through the real ledger and the in-memory model
of the wiring (tests/processors/figures/wiring.py), written with HINCRBY as the
worker writes them; the gauges must say what the pure readers say of them.
"""

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from processors.figures.activity import Session
from processors.figures.counts import Counts, Key
from processors.figures.fill import conversion, fill_rows
from processors.figures.groups import CITY, DISTRICT, MARKET, OCCUPATION
from processors.figures.positions import OPEN_POSITIONS, positions_per_seeker
from processors.figures.sketch import LEVELS
from processors.figures.wage_levels import wage_levels
from processors.figures.windows import DAY, DAY_MS, LIVE, NOW, WEEK, recent_days
from streams.figure_counters import counters_key, increments
from streams.figure_metrics import (
    MAX_SESSIONS,
    OTHER,
    SessionRecency,
    lumped,
    refresh,
)
from streams.figure_reads import current_window
from tests import factory
from tests.processors.figures.build import event, ms
from tests.processors.figures.wiring import Figures

pytestmark = pytest.mark.integration

NOW_MS = ms(80)  # 17:20 Beijing: the current hour began at minute 60


async def write(redis: Redis, counts: Counts) -> None:
    """Adds the counts as the worker does: HINCRBY on each window's hash."""
    async with redis.pipeline(transaction=True) as pipe:
        for window, fields in increments(counts).items():
            for field, n in fields.items():
                pipe.hincrby(counters_key(window), field, n)
        await pipe.execute()


def city() -> Figures:
    """Two markets, three seekers, four jobs (one from a live stream), check-ins, a hire."""
    figures = Figures()
    at_m2 = {"location": {"lat": 32.19, "lon": 119.42}, "district": "润州区"}
    figures.apply(
        [event(factory.market_upserted("M1")), event(factory.market_upserted("M2", **at_m2))],
        ms(0),
    )
    figures.apply(
        [
            event(factory.seeker_registered("S1", 1, occupations=["装卸搬运工", "快递员"])),
            event(factory.seeker_registered("S2", 2, occupations=["快递员"])),
            event(
                factory.seeker_registered(
                    "S3", 3, occupations=["家政服务员"], home={"lat": 32.2, "lon": 119.4}
                )
            ),
        ],
        ms(3),
    )
    job = factory.job_posted
    figures.apply(
        [
            event(job("J1", 5, headcount=2, market_id="M1"), "livestream:L1"),
            event(
                job("J2", 6, occupation="快递员", headcount=3, wage={"amount": 25, "unit": "hour"})
            ),
            event(
                job("J3", 7, occupation="快递员", headcount=1, wage={"amount": 3, "unit": "piece"})
            ),
            event(job("J4", 8, occupation="家政服务员", headcount=1, location=at_m2["location"])),
        ],
        ms(8),
    )
    figures.apply(
        [
            event(factory.checkin("S1", 10, market_id="M1")),
            event(factory.application_submitted("A1", "J1", "S1", 12)),
            event(factory.application_submitted("A2", "J2", "S2", 13)),
        ],
        ms(13),
    )
    figures.match("J1", "S1", ms(11), ms(14))
    figures.match("J2", "S2", ms(13), ms(14))
    figures.apply(
        [
            event(factory.hire_confirmed("J1", "S1", 20)),
            event(factory.hire_confirmed("J4", "S3", 30)),
            event(factory.checkin("S2", 70, market_id="M2")),
            event(factory.checkin("S3", 75, location={"lat": 32.2, "lon": 119.4})),
        ],
        ms(75),
    )
    return figures


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def series(name: str) -> list[dict[str, str]]:
    return [
        sample.labels
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name
    ]


async def test_the_ratios_are_what_the_counters_say_for_every_grouping_and_window(
    figures_redis: Redis,
) -> None:
    counts = city().counters
    await write(figures_redis, counts)
    await refresh(figures_redis, NOW_MS, SessionRecency())
    for period in (NOW, DAY, WEEK):
        window = current_window(period, NOW_MS)
        for by in (CITY, OCCUPATION, DISTRICT, MARKET):
            rows = positions_per_seeker(counts, by, window)
            assert rows or by != CITY
            for row in rows:
                labels = {"by": by, "group": row.group}
                if period == NOW:
                    assert gauge("gigstream_open_positions", **labels) == row.positions
                else:
                    positions = gauge("gigstream_posted_positions", **labels, window=period)
                    assert positions == row.positions
                labels["window"] = period
                assert gauge("gigstream_active_seekers", **labels) == row.seekers
                assert gauge("gigstream_positions_per_seeker", **labels) == row.ratio
    # J1 has one of two places left, J2 three, J3 one, J4 none; S3's check-in was
    # at a bare place, so no market counts them; 快递员 is S1's and S2's.
    assert gauge("gigstream_open_positions", by=CITY, group="") == 5
    assert gauge("gigstream_active_seekers", by=CITY, group="", window=NOW) == 3
    assert gauge("gigstream_positions_per_seeker", by=OCCUPATION, group="快递员", window=NOW) == 2


async def test_a_group_with_positions_and_no_seeker_has_no_ratio(figures_redis: Redis) -> None:
    await write(figures_redis, {Key(OPEN_POSITIONS, OCCUPATION, "电工", LIVE): 4})
    await refresh(figures_redis, NOW_MS, SessionRecency())
    assert gauge("gigstream_open_positions", by=OCCUPATION, group="电工") == 4
    assert gauge("gigstream_active_seekers", by=OCCUPATION, group="电工", window=NOW) == 0
    assert gauge("gigstream_positions_per_seeker", by=OCCUPATION, group="电工", window=NOW) is None


async def test_wage_levels_are_the_last_30_days_city_wide_and_by_occupation(
    figures_redis: Redis,
) -> None:
    counts = city().counters
    await write(figures_redis, counts)
    await refresh(figures_redis, NOW_MS, SessionRecency())
    days = recent_days(NOW_MS)
    for by, occupation in [(CITY, None), (OCCUPATION, "装卸搬运工"), (OCCUPATION, "快递员")]:
        levels = wage_levels(counts, occupation, days)
        assert levels is not None
        group = occupation or ""
        for q, yuan in zip(LEVELS, levels, strict=True):
            assert gauge("gigstream_daily_wage_yuan", by=by, group=group, quantile=str(q)) == yuan
    # J3's piece rate has no daily wage: three jobs city-wide, one of them a 快递员's.
    assert gauge("gigstream_daily_wage_jobs", by=CITY, group="") == 3
    assert gauge("gigstream_daily_wage_jobs", by=OCCUPATION, group="快递员") == 1
    median = gauge("gigstream_daily_wage_yuan", by=CITY, group="", quantile="0.5")
    assert median == pytest.approx(200, rel=0.005)


async def test_a_wage_posted_31_days_ago_is_left_out(figures_redis: Redis) -> None:
    await write(figures_redis, city().counters)
    await refresh(figures_redis, NOW_MS + 30 * DAY_MS, SessionRecency())
    assert gauge("gigstream_daily_wage_jobs", by=CITY, group="") == 0
    assert gauge("gigstream_daily_wage_yuan", by=CITY, group="", quantile="0.5") is None
    await refresh(figures_redis, NOW_MS + 29 * DAY_MS, SessionRecency())
    assert gauge("gigstream_daily_wage_jobs", by=CITY, group="") == 3


async def test_fill_and_conversion_are_todays_and_this_weeks(figures_redis: Redis) -> None:
    counts = city().counters
    await write(figures_redis, counts)
    await refresh(figures_redis, NOW_MS, SessionRecency())
    for period in (DAY, WEEK):
        window = current_window(period, NOW_MS)
        for by in (CITY, OCCUPATION, DISTRICT, MARKET):
            for row in fill_rows(counts, by, window):
                labels = {"by": by, "group": row.group, "window": period}
                assert gauge("gigstream_fill_ratio", **labels) == row.fill_rate
                per_job = gauge("gigstream_applications_per_job", **labels)
                assert per_job == row.applications_per_job
                p90 = row.time_to_fill_p90_minutes
                expected = None if p90 is None else p90 * 60
                assert gauge("gigstream_time_to_fill_seconds", **labels, quantile="0.9") == expected
        matched = conversion(counts, window)
        assert gauge("gigstream_matched_pairs", window=period) == matched.matches
        assert gauge("gigstream_match_hire_conversion_ratio", window=period) == matched.rate
    # Two of seven places filled; J4 filled 22 minutes after its posting.
    assert gauge("gigstream_fill_ratio", by=CITY, group="", window=DAY) == 2 / 7
    p50 = gauge("gigstream_time_to_fill_seconds", by=CITY, group="", window=DAY, quantile="0.5")
    assert p50 == pytest.approx(22 * 60, rel=0.005)
    assert gauge("gigstream_match_hire_conversion_ratio", window=DAY) == 1 / 2


async def test_checkins_are_this_and_the_last_beijing_hours_for_each_recent_market(
    figures_redis: Redis,
) -> None:
    await write(figures_redis, city().counters)
    await refresh(figures_redis, NOW_MS, SessionRecency())
    found = {
        (labels["by"], labels["group"], labels["hour"]): gauge("gigstream_checkins", **labels)
        for labels in series("gigstream_checkins")
    }
    assert found == {
        (CITY, "", "current"): 2,
        (CITY, "", "previous"): 1,
        (MARKET, "M1", "current"): 0,
        (MARKET, "M1", "previous"): 1,
        (MARKET, "M2", "current"): 1,
        (MARKET, "M2", "previous"): 0,
    }
    await refresh(figures_redis, NOW_MS + DAY_MS, SessionRecency())
    assert {labels["group"] for labels in series("gigstream_checkins")} == {""}


async def test_sessions_are_exported_with_what_they_brought_about(figures_redis: Redis) -> None:
    await write(figures_redis, city().counters)
    await refresh(figures_redis, NOW_MS, SessionRecency())
    assert gauge("gigstream_session_posted_jobs", session="L1") == 1
    assert gauge("gigstream_session_posted_positions", session="L1") == 2
    assert gauge("gigstream_session_applications", session="L1") == 1
    assert gauge("gigstream_session_hires", session="L1") == 1


def session(name: str, jobs: int = 1) -> Session:
    return Session(name, jobs, jobs, 0, 0)


def test_a_session_unchanged_for_7_days_is_left_out_until_it_changes() -> None:
    recency = SessionRecency()
    assert recency.recent([session("L1")], 0) == [session("L1")]
    assert recency.recent([session("L1"), session("L2")], 6 * DAY_MS) == [
        session("L2"),
        session("L1"),
    ]
    assert recency.recent([session("L1"), session("L2")], 7 * DAY_MS) == [session("L2")]
    assert recency.recent([session("L1", 2), session("L2")], 8 * DAY_MS) == [
        session("L1", 2),
        session("L2"),
    ]


def test_only_the_latest_sessions_are_kept_at_most() -> None:
    recency = SessionRecency()
    for n in range(MAX_SESSIONS + 10):
        found = recency.recent([session(f"L{i:03}") for i in range(n + 1)], n)
    assert len(found) == MAX_SESSIONS
    assert found[0] == session(f"L{MAX_SESSIONS + 9:03}")
    assert found[-1] == session("L010")


def test_groups_beyond_the_most_active_are_summed_into_other() -> None:
    counts: Counts = {
        Key(OPEN_POSITIONS, OCCUPATION, f"工种{n:03}", LIVE): n + 1 for n in range(105)
    }
    counts[Key(OPEN_POSITIONS, CITY, "", LIVE)] = sum(range(1, 106))
    kept = lumped(counts, 100)
    assert kept[Key(OPEN_POSITIONS, OCCUPATION, OTHER, LIVE)] == 1 + 2 + 3 + 4 + 5
    assert Key(OPEN_POSITIONS, OCCUPATION, "工种104", LIVE) in kept
    assert Key(OPEN_POSITIONS, OCCUPATION, "工种004", LIVE) not in kept
    assert len(kept) == 100 + 1 + 1
    assert sum(kept.values()) == sum(counts.values())


async def test_at_most_100_groups_and_other_are_exported(figures_redis: Redis) -> None:
    await write(
        figures_redis, {Key(OPEN_POSITIONS, MARKET, f"M{n:03}", LIVE): n + 1 for n in range(150)}
    )
    await refresh(figures_redis, NOW_MS, SessionRecency())
    markets = {s["group"] for s in series("gigstream_open_positions") if s["by"] == MARKET}
    assert len(markets) == 101
    assert gauge("gigstream_open_positions", by=MARKET, group=OTHER) == sum(range(1, 51))


async def test_series_no_longer_found_are_dropped(figures_redis: Redis) -> None:
    await write(figures_redis, city().counters)
    await refresh(figures_redis, NOW_MS, SessionRecency())
    assert gauge("gigstream_open_positions", by=OCCUPATION, group="快递员") == 4
    await figures_redis.flushdb()
    await write(figures_redis, {Key(OPEN_POSITIONS, OCCUPATION, "电工", LIVE): 1})
    await refresh(figures_redis, NOW_MS, SessionRecency())
    groups = {s["group"] for s in series("gigstream_open_positions")}
    assert groups == {"", "电工"}
    assert series("gigstream_session_hires") == []
    assert series("gigstream_daily_wage_yuan") == []
