"""Query parameters of the worker's HTTP views (circle, ranked lists, figures): a query, or
why not.

Pure: the view hands over the parameters as (name, value) pairs, repeats
included, and gets back a query or a BadParameter whose reason is one line a
person can act on. The first problem found is the one reported.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from processors.figures.groups import CITY, DISTRICT, MARKET, OCCUPATION
from processors.figures.windows import NOW
from processors.nearby import Circle, JobQuery, PlaceQuery, ShiftWindow
from processors.travel import MODES
from streams.figure_reads import WINDOWS
from topics.fields import MAX_LATITUDE, MAX_TEXT
from topics.markets import MarketKind

MAX_MINUTES = 120.0
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_GAPS = 50
DEFAULT_GAPS = 5
KINDS: tuple[MarketKind, ...] = get_args(MarketKind)
RATIO_BYS = (OCCUPATION, DISTRICT, MARKET, CITY)
# A bad value is quoted back this far, so a pasted essay does not make a long reply.
SHOWN_CHARS = 40


@dataclass(frozen=True)
class BadParameter:
    reason: str


@dataclass(frozen=True)
class Box:
    """A box of latitudes and longitudes, edges included; it does not cross the antimeridian."""

    south: float
    west: float
    north: float
    east: float

    def holds(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


@dataclass(frozen=True)
class GapsQuery:
    k: int = DEFAULT_GAPS
    box: Box | None = None  # only the seekers at home in it count


@dataclass(frozen=True)
class RatioQuery:
    by: str  # occupation, district, market or city
    window: str = NOW  # now, day, week or month


@dataclass(frozen=True)
class WageQuery:
    occupation: str | None = None  # None: city-wide


Pairs = Iterable[tuple[str, str]]
Parser = Callable[[str, str], Any]


def job_query(pairs: Pairs, circle_minutes: float) -> JobQuery | BadParameter:
    given = _given(pairs, JOB_PARSERS, REQUIRED, _page_defaults(circle_minutes))
    if isinstance(given, BadParameter):
        return given
    start, end = given.get("shift_start"), given.get("shift_end")
    if start is not None and end is not None and end <= start:
        return BadParameter(
            f"shift_end {end.isoformat()} is not after shift_start {start.isoformat()}"
        )
    window = None if start is None and end is None else ShiftWindow(start, end)
    return JobQuery(
        _circle(given),
        occupation=given.get("occupation"),
        min_daily_wage=given.get("min_daily_wage"),
        shift_window=window,
        offset=given["offset"],
        limit=given["limit"],
    )


def place_query(pairs: Pairs, circle_minutes: float) -> PlaceQuery | BadParameter:
    given = _given(pairs, PLACE_PARSERS, REQUIRED, _page_defaults(circle_minutes))
    if isinstance(given, BadParameter):
        return given
    return PlaceQuery(
        _circle(given), kind=given.get("kind"), offset=given["offset"], limit=given["limit"]
    )


def gaps_query(pairs: Pairs) -> GapsQuery | BadParameter:
    given = _given(pairs, GAPS_PARSERS, {}, {})
    if isinstance(given, BadParameter):
        return given
    return GapsQuery(given.get("k", DEFAULT_GAPS), given.get("bbox"))


def limit_query(pairs: Pairs, default: int) -> int | BadParameter:
    """The one parameter of the ranked lists (/seekers/{id}/matches, /jobs/{id}/candidates)."""
    given = _given(pairs, {"limit": _one_to(MAX_LIMIT)}, {}, {"limit": default})
    return given if isinstance(given, BadParameter) else int(given["limit"])


def ratio_query(pairs: Pairs) -> RatioQuery | BadParameter:
    """The parameters of /figures/positions-per-seeker."""
    required = {"by": f"give one of {', '.join(RATIO_BYS)}"}
    given = _given(pairs, RATIO_PARSERS, required, {"window": NOW})
    return given if isinstance(given, BadParameter) else RatioQuery(given["by"], given["window"])


def wage_query(pairs: Pairs) -> WageQuery | BadParameter:
    """The parameters of /figures/wages."""
    given = _given(pairs, {"occupation": _occupation}, {}, {})
    return given if isinstance(given, BadParameter) else WageQuery(given.get("occupation"))


def _page_defaults(circle_minutes: float) -> dict[str, Any]:
    return {"minutes": circle_minutes, "offset": 0, "limit": DEFAULT_LIMIT}


def _circle(given: Mapping[str, Any]) -> Circle:
    return Circle(given["lat"], given["lon"], given["mode"], given["minutes"])


def _given(
    pairs: Pairs,
    parsers: Mapping[str, Parser],
    required: Mapping[str, str],
    defaults: Mapping[str, Any],
) -> dict[str, Any] | BadParameter:
    """Every parameter parsed, with the defaults of those left out; or the first problem."""
    given: dict[str, Any] = {}
    for name, raw in pairs:
        parser = parsers.get(name)
        if parser is None:
            known = ", ".join(parsers)
            return BadParameter(f"unknown parameter {_shown(name)}; the parameters are {known}")
        if name in given:
            return BadParameter(f"{name} is given more than once; give it once")
        value = parser(name, raw)
        if isinstance(value, BadParameter):
            return value
        given[name] = value
    for name, hint in required.items():
        if name not in given:
            return BadParameter(f"{name} is missing: {hint}")
    return {**defaults, **given}


def _shown(raw: str) -> str:
    """The value quoted back, cut short, on one line."""
    return repr(raw if len(raw) <= SHOWN_CHARS else raw[:SHOWN_CHARS] + "…")


def _number(name: str, raw: str) -> float | BadParameter:
    if not raw.strip():
        return BadParameter(f"{name} is empty: give a number")
    try:
        value = float(raw)
    except ValueError:
        return BadParameter(f"{name} {_shown(raw)} is not a number")
    if not math.isfinite(value):
        return BadParameter(f"{name} {_shown(raw)} is not a finite number")
    return value


def _whole(name: str, raw: str) -> int | BadParameter:
    try:
        return int(raw)
    except ValueError:
        return BadParameter(f"{name} {_shown(raw)} is not a whole number")


def _latitude(name: str, raw: str) -> float | BadParameter:
    value = _number(name, raw)
    if isinstance(value, float) and not -MAX_LATITUDE <= value <= MAX_LATITUDE:
        return BadParameter(f"{name} {value!r} is outside -{MAX_LATITUDE}..{MAX_LATITUDE}")
    return value


def _longitude(name: str, raw: str) -> float | BadParameter:
    value = _number(name, raw)
    if isinstance(value, float) and not -180 <= value <= 180:
        return BadParameter(f"{name} {value!r} is outside -180..180")
    return value


def _one_of(choices: Iterable[str]) -> Parser:
    """A parser of one of the choices."""
    choices = tuple(choices)

    def parse(name: str, raw: str) -> str | BadParameter:
        if raw not in choices:
            return BadParameter(f"{name} {_shown(raw)} is not one of {', '.join(choices)}")
        return raw

    return parse


def _minutes(name: str, raw: str) -> float | BadParameter:
    value = _number(name, raw)
    if isinstance(value, float) and not 0 < value <= MAX_MINUTES:
        return BadParameter(f"{name} {value!r} must be more than 0 and at most {MAX_MINUTES:g}")
    return value


def _offset(name: str, raw: str) -> int | BadParameter:
    value = _whole(name, raw)
    if isinstance(value, int) and value < 0:
        return BadParameter(f"{name} {value} must be 0 or more")
    return value


def _one_to(most: int) -> Parser:
    """A parser of a whole number from 1 to `most`."""

    def parse(name: str, raw: str) -> int | BadParameter:
        value = _whole(name, raw)
        if isinstance(value, int) and not 1 <= value <= most:
            return BadParameter(f"{name} {value} must be 1..{most}")
        return value

    return parse


def _box(name: str, raw: str) -> Box | BadParameter:
    parts = raw.split(",")
    if len(parts) != 4:
        return BadParameter(f"{name} {_shown(raw)} is not four numbers: south,west,north,east")
    corners = []
    for part, check in zip(parts, (_latitude, _longitude, _latitude, _longitude), strict=True):
        value = check(name, part)
        if isinstance(value, BadParameter):
            return value
        corners.append(value)
    box = Box(*corners)
    if box.south > box.north or box.west > box.east:
        return BadParameter(f"{name} {_shown(raw)} has south above north or west beyond east")
    return box


def _occupation(name: str, raw: str) -> str | BadParameter:
    if not raw.strip():
        return BadParameter(f"{name} is empty: give one such as 装卸搬运工, or leave it out")
    if len(raw) > MAX_TEXT:
        return BadParameter(f"{name} is {len(raw)} characters long; at most {MAX_TEXT}")
    return raw


def _min_daily_wage(name: str, raw: str) -> float | BadParameter:
    value = _number(name, raw)
    if isinstance(value, float) and value < 0:
        return BadParameter(f"{name} {value!r} must be 0 or more (CNY a day)")
    return value


def _timestamp(name: str, raw: str) -> datetime | BadParameter:
    # A '+' left raw in a URL query arrives as a space.
    plus = " (in a URL, write the + of an offset as %2B)" if " " in raw else ""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return BadParameter(
            f"{name} {_shown(raw)} is not an RFC 3339 time such as 2026-11-27T13:00:00+08:00{plus}"
        )
    if value.tzinfo is None:
        return BadParameter(f"{name} {_shown(raw)} has no UTC offset; add one such as +08:00{plus}")
    return value


REQUIRED = {
    "lat": "give the latitude in degrees, e.g. lat=32.2",
    "lon": "give the longitude in degrees, e.g. lon=119.45",
    "mode": f"give the travel mode, one of {', '.join(MODES)}",
}
CIRCLE_PARSERS: dict[str, Parser] = {
    "lat": _latitude,
    "lon": _longitude,
    "mode": _one_of(MODES),
    "minutes": _minutes,
}
PAGE_PARSERS: dict[str, Parser] = {"offset": _offset, "limit": _one_to(MAX_LIMIT)}
JOB_PARSERS: dict[str, Parser] = {
    **CIRCLE_PARSERS,
    "occupation": _occupation,
    "min_daily_wage": _min_daily_wage,
    "shift_start": _timestamp,
    "shift_end": _timestamp,
    **PAGE_PARSERS,
}
PLACE_PARSERS: dict[str, Parser] = {**CIRCLE_PARSERS, "kind": _one_of(KINDS), **PAGE_PARSERS}
GAPS_PARSERS: dict[str, Parser] = {"k": _one_to(MAX_GAPS), "bbox": _box}
RATIO_PARSERS: dict[str, Parser] = {"by": _one_of(RATIO_BYS), "window": _one_of(WINDOWS)}
