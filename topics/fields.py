"""Constrained field types shared by the event schemas, with the contract's limits."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, the unit every stored time is in."""
    return int(moment.timestamp() * 1000)


# Limits that keep one message from eating a worker's memory or an index's.
MAX_ID = 64
MAX_TEXT = 200
MAX_LONG_TEXT = 4000
MAX_LIST = 50

EntityId = Annotated[str, Meta(min_length=1, max_length=MAX_ID)]
Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
LongText = Annotated[str, Meta(max_length=MAX_LONG_TEXT)]
Tags = Annotated[list[Text], Meta(max_length=MAX_LIST)]
Timestamp = Annotated[datetime, Meta(tz=True)]
# Redis geo indexes (Web Mercator) cannot hold the polar caps beyond ±85.05°.
MAX_LATITUDE = 85.05112878
Latitude = Annotated[float, Meta(ge=-MAX_LATITUDE, le=MAX_LATITUDE)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
TravelMode = Literal["walk", "bike", "ebike", "transit", "car"]
WageUnit = Literal["hour", "day", "piece", "month"]


class Point(msgspec.Struct, frozen=True):
    lat: Latitude
    lon: Longitude


class Location(msgspec.Struct, frozen=True):
    lat: Latitude
    lon: Longitude
    district: Text | None = None
    address: Annotated[str, Meta(max_length=MAX_TEXT)] | None = None


class Wage(msgspec.Struct, frozen=True):
    # The upper bound only rejects nonsense (a wage of 1e300 CNY).
    amount: Annotated[float, Meta(gt=0, le=10_000_000)]
    unit: WageUnit


class TimeRange(msgspec.Struct, frozen=True):
    start: Timestamp
    end: Timestamp

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
