"""Data of the gig.checkins events (key: seeker_id)."""

import msgspec

from topics.fields import EntityId, Point, Timestamp


class Checkin(msgspec.Struct, frozen=True):
    """A check-in names either a market_id (a market or station) or a location."""

    seeker_id: EntityId
    market_id: EntityId | None = None
    location: Point | None = None
    available_until: Timestamp | None = None

    def __post_init__(self) -> None:
        if (self.market_id is None) == (self.location is None):
            raise ValueError("a checkin names exactly one of market_id and location")


class Checkout(msgspec.Struct, frozen=True):
    seeker_id: EntityId
