"""Applications of seekers to jobs: submitted, withdrawn (last writer wins)."""

import msgspec

from processors.outcome import APPLIED, PENDING, STALE, Result
from topics.applications import ApplicationSubmitted, ApplicationWithdrawn

ApplicationEvent = ApplicationSubmitted | ApplicationWithdrawn


class ApplicationState(msgspec.Struct):
    job_id: str
    seeker_id: str
    updated_ms: int
    withdrawn: bool = False


def apply(
    state: ApplicationState | None, data: ApplicationEvent, occurred_ms: int
) -> tuple[Result, ApplicationState | None]:
    if state is None and isinstance(data, ApplicationWithdrawn):
        return PENDING, None
    if state is not None and occurred_ms < state.updated_ms:
        return STALE, state
    if isinstance(data, ApplicationWithdrawn):
        assert state is not None
        state.withdrawn, state.updated_ms = True, occurred_ms
        return APPLIED, state
    return APPLIED, ApplicationState(data.job_id, data.seeker_id, occurred_ms)
