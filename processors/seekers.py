"""A seeker's registration, profile updates and withdrawal, merged field by field.

Withdrawal is one more last-writer-wins field: a registration newer than the
withdrawal makes the seeker active again, an older one does not.
"""

from typing import Any

import msgspec

from processors.merge import Stamps, newer_fields, replace, stamped
from processors.outcome import APPLIED, PENDING, STALE, Outcome, Result
from topics.seekers import SeekerRegistered, SeekerUpdated, SeekerWithdrawn

SeekerEvent = SeekerRegistered | SeekerUpdated | SeekerWithdrawn
ID_FIELD = "seeker_id"
WITHDRAWN = "withdrawn"


class SeekerState(msgspec.Struct):
    profile: SeekerRegistered
    stamps: Stamps  # field (and "withdrawn") -> occurred_at (ms) of its last write
    extra: dict[str, Any]  # fields the contract does not name, kept as sent
    withdrawn: bool = False


def apply(
    state: SeekerState | None, data: SeekerEvent, occurred_ms: int, extra: dict[str, Any]
) -> tuple[Result, SeekerState | None]:
    if state is None:
        if not isinstance(data, SeekerRegistered):
            return PENDING, None
        fields = newer_fields(data, {}, occurred_ms, ID_FIELD)
        stamps = stamped({}, [*fields, WITHDRAWN], occurred_ms)
        return APPLIED, SeekerState(data, stamps, extra)
    if isinstance(data, SeekerWithdrawn):
        return _set_withdrawn(state, True, occurred_ms)
    fields = newer_fields(data, state.stamps, occurred_ms, ID_FIELD)
    result = STALE
    if fields:
        state.profile = replace(state.profile, fields)
        state.stamps = stamped(state.stamps, fields, occurred_ms)
        state.extra = {**state.extra, **extra}
        result = APPLIED
    if isinstance(data, SeekerRegistered):
        reactivated, state = _set_withdrawn(state, False, occurred_ms)
        if reactivated.outcome is Outcome.APPLIED:
            result = APPLIED
    return result, state


def _set_withdrawn(
    state: SeekerState, withdrawn: bool, occurred_ms: int
) -> tuple[Result, SeekerState]:
    if state.stamps.get(WITHDRAWN, occurred_ms) > occurred_ms:
        return STALE, state
    state.withdrawn = withdrawn
    state.stamps = stamped(state.stamps, [WITHDRAWN], occurred_ms)
    return APPLIED, state


def is_active(state: SeekerState) -> bool:
    return not state.withdrawn
