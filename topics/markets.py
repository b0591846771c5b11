"""Data of the gig.markets events (key: market_id, compacted reference data)."""

from typing import Any, Literal

import msgspec

from topics.fields import EntityId, Point, Tags, Text

MarketKind = Literal["market", "station"]


class MarketUpserted(msgspec.Struct, frozen=True):
    market_id: EntityId
    name: Text
    kind: MarketKind
    location: Point
    district: Text
    services: Tags = []
    # Free form: a string ("07:00-18:00") or an object per weekday.
    open_hours: Any = None


class MarketRemoved(msgspec.Struct, frozen=True):
    market_id: EntityId
