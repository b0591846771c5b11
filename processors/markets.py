"""Gig markets (零工市场) and gig stations (零工驿站): reference data, last writer wins.

Each market.upserted carries the whole record, so the record and the removal
are two last-writer-wins registers.
"""

from typing import Any

import msgspec

from processors.outcome import APPLIED, PENDING, STALE, Result
from topics.markets import MarketRemoved, MarketUpserted

MarketEvent = MarketUpserted | MarketRemoved


class MarketState(msgspec.Struct):
    market: MarketUpserted
    extra: dict[str, Any]
    upserted_ms: int
    removed_ms: int | None = None  # set while the newest word on the market is its removal


def apply(
    state: MarketState | None, data: MarketEvent, occurred_ms: int, extra: dict[str, Any]
) -> tuple[Result, MarketState | None]:
    if isinstance(data, MarketRemoved):
        if state is None:
            return PENDING, None
        if occurred_ms < state.upserted_ms or (state.removed_ms or 0) > occurred_ms:
            return STALE, state
        state.removed_ms = occurred_ms
        return APPLIED, state
    if state is not None and occurred_ms < max(state.upserted_ms, state.removed_ms or 0):
        return STALE, state
    return APPLIED, MarketState(data, extra, occurred_ms)


def is_active(state: MarketState) -> bool:
    return state.removed_ms is None
