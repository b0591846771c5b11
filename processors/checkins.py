"""Check-ins: a seeker present and available now at a market, a station or a place.

A check-in at a market is placed at the market's location; one at a market not
known yet waits for it, one at a removed market is rejected. A check-in without
available_until lasts a configured default, so a forgotten checkout ends.
"""

import msgspec

from processors import markets
from processors.markets import MarketState
from processors.outcome import APPLIED, STALE, Outcome, Result
from topics.checkins import Checkin, Checkout
from topics.fields import Point, epoch_ms

CheckinEvent = Checkin | Checkout


class CheckinState(msgspec.Struct):
    updated_ms: int
    place: Point | None = None  # None once checked out
    market_id: str | None = None
    until_ms: int | None = None
    # The offset of the event that wrote it in the seeker's partition: of two
    # events in one millisecond the later there wins, whichever was applied
    # first (one waiting for its market is applied after the other).
    updated_offset: int = -1


def apply(
    state: CheckinState | None,
    data: CheckinEvent,
    occurred_ms: int,
    offset: int,
    market: MarketState | None,
    default_stay_ms: int,
) -> tuple[Result, CheckinState | None]:
    if state is not None and (occurred_ms, offset) < (state.updated_ms, state.updated_offset):
        return STALE, state
    if isinstance(data, Checkout):
        return APPLIED, CheckinState(occurred_ms, updated_offset=offset)
    if data.market_id is not None:
        if market is None:
            raise ValueError("a check-in at a market is applied only once the market is known")
        if not markets.is_active(market):
            return Result(Outcome.REJECTED, f"market {data.market_id!r} was removed"), state
        place: Point = market.market.location
    else:
        assert data.location is not None  # the contract: market_id or location
        place = data.location
    until_ms = occurred_ms + default_stay_ms
    if data.available_until is not None:
        until_ms = epoch_ms(data.available_until)
    return APPLIED, CheckinState(occurred_ms, place, data.market_id, until_ms, offset)


def is_present(state: CheckinState, now_ms: int) -> bool:
    return state.place is not None and state.until_ms is not None and now_ms < state.until_ms
