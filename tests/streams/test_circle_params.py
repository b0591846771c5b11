"""The circle's query parameters: a query with its defaults, or one line on what to change."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from processors.nearby import Circle, JobQuery, PlaceQuery, ShiftWindow
from streams.circle_params import BadParameter, Box, GapsQuery, gaps_query, job_query, place_query

AT = [("lat", "32.2"), ("lon", "119.45"), ("mode", "walk")]
CST = timezone(timedelta(hours=8))


def jobs(*extra: tuple[str, str], base: list[tuple[str, str]] = AT) -> JobQuery | BadParameter:
    return job_query([*base, *extra], 15.0)


def test_a_bare_query_takes_the_circle_minutes_and_the_first_page_of_twenty() -> None:
    assert jobs() == JobQuery(Circle(32.2, 119.45, "walk", 15.0), offset=0, limit=20)
    assert place_query(AT, 10.0) == PlaceQuery(Circle(32.2, 119.45, "walk", 10.0))


def test_every_job_parameter_is_read() -> None:
    query = jobs(
        ("minutes", "30"),
        ("occupation", "装卸搬运工"),
        ("min_daily_wage", "200"),
        ("shift_start", "2026-11-27T13:00:00+08:00"),
        ("shift_end", "2026-11-27T21:00:00Z"),
        ("offset", "40"),
        ("limit", "100"),
    )
    assert query == JobQuery(
        Circle(32.2, 119.45, "walk", 30.0),
        occupation="装卸搬运工",
        min_daily_wage=200.0,
        shift_window=ShiftWindow(
            datetime(2026, 11, 27, 13, tzinfo=CST), datetime(2026, 11, 27, 21, tzinfo=UTC)
        ),
        offset=40,
        limit=100,
    )


def test_a_window_may_be_open_on_one_side() -> None:
    query = jobs(("shift_end", "2026-11-27T21:00:00+08:00"))
    assert isinstance(query, JobQuery)
    assert query.shift_window == ShiftWindow(None, datetime(2026, 11, 27, 21, tzinfo=CST))


def test_places_may_be_asked_for_by_kind() -> None:
    query = place_query([*AT, ("kind", "station"), ("limit", "5")], 15.0)
    assert query == PlaceQuery(Circle(32.2, 119.45, "walk", 15.0), kind="station", limit=5)


def test_the_edges_of_the_ranges_are_allowed() -> None:
    edges = [("lat", "-85.05112878"), ("lon", "180"), ("mode", "car"), ("minutes", "120")]
    query = jobs(("limit", "1"), ("min_daily_wage", "0"), base=edges)
    assert isinstance(query, JobQuery)
    assert query.circle == Circle(-85.05112878, 180.0, "car", 120.0)


REFUSED = [
    ([("lon", "119.45"), ("mode", "walk")], "lat is missing: give the latitude in degrees"),
    ([("lat", "32.2"), ("mode", "walk")], "lon is missing: give the longitude in degrees"),
    (
        [("lat", "32.2"), ("lon", "119.45")],
        "mode is missing: give the travel mode, one of walk, bike, ebike, transit, car",
    ),
    ([("lat", "north"), *AT[1:]], "lat 'north' is not a number"),
    ([("lat", ""), *AT[1:]], "lat is empty: give a number"),
    ([("lat", "nan"), *AT[1:]], "lat 'nan' is not a finite number"),
    ([("lat", "95.2"), *AT[1:]], "lat 95.2 is outside -85.05112878..85.05112878"),
    ([AT[0], ("lon", "-180.5"), AT[2]], "lon -180.5 is outside -180..180"),
    ([*AT[:2], ("mode", "plane")], "mode 'plane' is not one of walk, bike, ebike, transit, car"),
    ([*AT, ("minutes", "0")], "minutes 0.0 must be more than 0 and at most 120"),
    ([*AT, ("minutes", "-5")], "minutes -5.0 must be more than 0 and at most 120"),
    ([*AT, ("minutes", "120.5")], "minutes 120.5 must be more than 0 and at most 120"),
    ([*AT, ("minutes", "inf")], "minutes 'inf' is not a finite number"),
    ([*AT, ("limit", "101")], "limit 101 must be 1..100"),
    ([*AT, ("limit", "0")], "limit 0 must be 1..100"),
    ([*AT, ("limit", "ten")], "limit 'ten' is not a whole number"),
    ([*AT, ("offset", "-1")], "offset -1 must be 0 or more"),
    ([*AT, ("offset", "1.5")], "offset '1.5' is not a whole number"),
    ([*AT, ("lat", "32.3")], "lat is given more than once; give it once"),
    ([*AT, ("occupaton", "普工")], "unknown parameter 'occupaton'; the parameters are lat, lon,"),
]
JOB_REFUSED = [
    (
        [*AT, ("occupation", " ")],
        "occupation is empty: give one such as 装卸搬运工, or leave it out",
    ),
    ([*AT, ("occupation", "工" * 201)], "occupation is 201 characters long; at most 200"),
    ([*AT, ("min_daily_wage", "-1")], "min_daily_wage -1.0 must be 0 or more (CNY a day)"),
    ([*AT, ("min_daily_wage", "¥200")], "min_daily_wage '¥200' is not a number"),
    (
        [*AT, ("shift_start", "soon")],
        "shift_start 'soon' is not an RFC 3339 time such as 2026-11-27T13:00:00+08:00",
    ),
    (
        [*AT, ("shift_end", "2026-11-27T21:00:00")],
        "shift_end '2026-11-27T21:00:00' has no UTC offset; add one such as +08:00",
    ),
    (
        [*AT, ("shift_start", "2026-11-27T13:00:00 08:00")],
        "(in a URL, write the + of an offset as %2B)",
    ),
    (
        [
            *AT,
            ("shift_start", "2026-11-27T21:00:00+08:00"),
            ("shift_end", "2026-11-27T13:00:00+00:00"),
        ],
        "shift_end 2026-11-27T13:00:00+00:00 is not after shift_start 2026-11-27T21:00:00+08:00",
    ),
    ([*AT, ("kind", "market")], "unknown parameter 'kind'"),
]
PLACE_REFUSED = [
    ([*AT, ("kind", "shop")], "kind 'shop' is not one of market, station"),
    ([*AT, ("occupation", "普工")], "unknown parameter 'occupation'"),
]


@pytest.mark.parametrize(("pairs", "reason"), REFUSED + JOB_REFUSED)
def test_each_bad_job_parameter_is_refused_with_what_to_change(
    pairs: list[tuple[str, str]], reason: str
) -> None:
    refused = job_query(pairs, 15.0)
    assert isinstance(refused, BadParameter)
    assert reason in refused.reason
    assert "\n" not in refused.reason


@pytest.mark.parametrize(("pairs", "reason"), REFUSED + PLACE_REFUSED)
def test_each_bad_place_parameter_is_refused_with_what_to_change(
    pairs: list[tuple[str, str]], reason: str
) -> None:
    refused = place_query(pairs, 15.0)
    assert isinstance(refused, BadParameter)
    assert reason in refused.reason


def test_a_long_bad_value_is_quoted_back_cut_short_on_one_line() -> None:
    refused = jobs(("occupation", "普工"), base=[("lat", "1\n" * 500), *AT[1:]])
    assert isinstance(refused, BadParameter)
    assert refused.reason == "lat '" + "1\\n" * 20 + "…' is not a number"


def test_gaps_take_five_picks_over_the_whole_city_by_default() -> None:
    assert gaps_query([]) == GapsQuery(5, None)


def test_gaps_read_k_and_a_box() -> None:
    query = gaps_query([("k", "50"), ("bbox", "32.1,119.3,32.3,119.6")])
    assert query == GapsQuery(50, Box(32.1, 119.3, 32.3, 119.6))
    assert isinstance(query, GapsQuery) and query.box is not None
    assert query.box.holds(32.1, 119.6) and not query.box.holds(32.31, 119.4)


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        ([("k", "0")], "k 0 must be 1..50"),
        ([("k", "51")], "k 51 must be 1..50"),
        ([("k", "two")], "k 'two' is not a whole number"),
        ([("k", "5"), ("k", "6")], "k is given more than once; give it once"),
        ([("bbox", "32,119,33")], "bbox '32,119,33' is not four numbers: south,west,north,east"),
        ([("bbox", "32,119,95,120")], "bbox 95.0 is outside -85.05112878..85.05112878"),
        (
            [("bbox", "33,119,32,120")],
            "bbox '33,119,32,120' has south above north or west beyond east",
        ),
        ([("top", "5")], "unknown parameter 'top'; the parameters are k, bbox"),
    ],
)
def test_a_bad_gaps_parameter_says_what_to_change(
    pairs: list[tuple[str, str]], reason: str
) -> None:
    assert gaps_query(pairs) == BadParameter(reason)
