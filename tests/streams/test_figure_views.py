"""/figures/positions-per-seeker and /figures/wages: their parameters, and their handlers
answering from counters in a real Redis (db 3, the fixture of test_figure_metrics)."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from multidict import MultiDict
from redis.asyncio import Redis

from processors.figures import sketch
from processors.figures.counts import Counts, Key
from processors.figures.groups import CITY, DISTRICT, OCCUPATION
from processors.figures.positions import ACTIVE_SEEKERS, OPEN_POSITIONS, POSTED_POSITIONS
from processors.figures.wage_levels import DAILY_WAGE
from processors.figures.windows import LIVE, day_of, day_window
from streams import figure_views
from streams.circle_params import BadParameter, RatioQuery, WageQuery, ratio_query, wage_query
from streams.figure_reads import current_window
from tests.streams.test_figure_metrics import write

Handler = Callable[[Any, Any], Awaitable[tuple[int, Any]]]


def test_a_ratio_query_needs_a_grouping_and_takes_a_window() -> None:
    assert ratio_query([("by", "district")]) == RatioQuery("district", "now")
    assert ratio_query([("by", "city"), ("window", "month")]) == RatioQuery("city", "month")
    assert ratio_query([]) == BadParameter(
        "by is missing: give one of occupation, district, market, city"
    )
    assert ratio_query([("by", "seeker")]) == BadParameter(
        "by 'seeker' is not one of occupation, district, market, city"
    )
    assert ratio_query([("by", "city"), ("window", "year")]) == BadParameter(
        "window 'year' is not one of now, day, week, month"
    )
    assert ratio_query([("by", "city"), ("by", "market")]) == BadParameter(
        "by is given more than once; give it once"
    )


def test_a_wage_query_is_city_wide_without_an_occupation() -> None:
    assert wage_query([]) == WageQuery(None)
    assert wage_query([("occupation", "快递员")]) == WageQuery("快递员")
    empty = wage_query([("occupation", " ")])
    assert isinstance(empty, BadParameter) and empty.reason.startswith("occupation is empty")
    unknown = wage_query([("occupation_id", "1")])
    assert isinstance(unknown, BadParameter) and "the parameters are occupation" in unknown.reason


class App:
    """Takes the pages a register adds, as the worker's Faust app would."""

    def __init__(self) -> None:
        self.pages: dict[str, Handler] = {}

    def page(self, path: str) -> Callable[[Handler], None]:
        return lambda handler: self.pages.__setitem__(path, handler)


class View:
    """Answers as faust.web.View does: JSON with a status, errors as {"error": reason}."""

    def json(self, value: Any, status: int = 200) -> tuple[int, Any]:
        return status, orjson.loads(orjson.dumps(value))

    def error(self, status: int, reason: str) -> tuple[int, Any]:
        return self.json({"error": reason}, status=status)


class Request:
    def __init__(self, **query: str) -> None:
        self.query = MultiDict(query)


async def get(redis: Redis, path: str, **query: str) -> tuple[int, Any]:
    app = App()
    figure_views.register(app, redis)  # type: ignore[arg-type]
    return await app.pages[path](View(), Request(**query))


@pytest.mark.integration
async def test_positions_per_seeker_rows_by_group_now_and_this_week(figures_redis: Redis) -> None:
    now_ms = time.time_ns() // 1_000_000
    week = current_window("week", now_ms)
    counts: Counts = {
        Key(OPEN_POSITIONS, DISTRICT, "京口区", LIVE): 6,
        Key(ACTIVE_SEEKERS, DISTRICT, "京口区", LIVE): 4,
        Key(OPEN_POSITIONS, DISTRICT, "润州区", LIVE): 2,
        Key(POSTED_POSITIONS, CITY, "", week): 9,
        Key(ACTIVE_SEEKERS, CITY, "", week): 3,
    }
    await write(figures_redis, counts)
    status, answer = await get(figures_redis, figure_views.POSITIONS_PER_SEEKER_PATH, by="district")
    assert status == 200
    assert answer == {
        "by": "district",
        "window": "now",
        "start": None,
        "items": [
            {"group": "京口区", "positions": 6, "seekers": 4, "ratio": 1.5},
            {"group": "润州区", "positions": 2, "seekers": 0, "ratio": None},
        ],
    }
    status, answer = await get(
        figures_redis, figure_views.POSITIONS_PER_SEEKER_PATH, by="city", window="week"
    )
    assert (status, answer["items"]) == (
        200,
        [{"group": "", "positions": 9, "seekers": 3, "ratio": 3.0}],
    )
    assert answer["start"].endswith("T00:00:00+08:00")


@pytest.mark.integration
async def test_wages_over_30_days_city_wide_or_of_one_occupation(figures_redis: Redis) -> None:
    today = day_of(time.time_ns() // 1_000_000)
    counts: Counts = {}
    for days_ago, daily, occupation in [
        (1, 180.0, "快递员"),
        (2, 240.0, "普工"),
        (40, 900.0, "普工"),
    ]:
        bucket = sketch.bucket_of(daily)
        window = day_window(today - days_ago)
        for by, group in [(CITY, ""), (OCCUPATION, occupation)]:
            counts[Key(DAILY_WAGE, by, group, window, bucket)] = 1
    await write(figures_redis, counts)
    status, answer = await get(figures_redis, figure_views.WAGES_PATH)
    assert status == 200
    assert answer["count"] == 2 and answer["occupation"] is None and answer["days"] == 30
    assert answer["p10"] == pytest.approx(180, rel=0.005)
    assert answer["p90"] == pytest.approx(240, rel=0.005)
    _, answer = await get(figures_redis, figure_views.WAGES_PATH, occupation="普工")
    assert answer["count"] == 1 and answer["p50"] == pytest.approx(240, rel=0.005)
    _, answer = await get(figures_redis, figure_views.WAGES_PATH, occupation="电工")
    assert answer == {
        "occupation": "电工",
        "days": 30,
        "count": 0,
        **dict.fromkeys(["p10", "p25", "p50", "p75", "p90"]),
    }


@pytest.mark.integration
async def test_a_bad_parameter_gets_400_and_what_to_change(figures_redis: Redis) -> None:
    status, answer = await get(figures_redis, figure_views.POSITIONS_PER_SEEKER_PATH, by="seeker")
    assert status == 400 and answer["error"].startswith("by 'seeker' is not one of")
    status, answer = await get(figures_redis, figure_views.WAGES_PATH, occupation="")
    assert status == 400 and answer["error"].startswith("occupation is empty")
