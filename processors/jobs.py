"""A job's life: posted, updated, closed, filled by hires, expired.

A job is open from job.posted until job.closed, its expires_at, its shift's
end, or its headcount filled by hires. Closure by job.closed is final: a later
update changes the record but never reopens it. Filled and expired are derived
from the record and the clock, so raising the headcount reopens a filled job.
Postings and updates merge field by field, newest occurred_at winning.
"""

from typing import Any

import msgspec

from processors.merge import Stamps, newer_fields, replace, stamped
from processors.outcome import APPLIED, DUPLICATE, PENDING, STALE, Result
from topics.applications import HireConfirmed
from topics.fields import epoch_ms
from topics.jobs import JobClosed, JobPosted, JobUpdated

JobEvent = JobPosted | JobUpdated | JobClosed | HireConfirmed
ID_FIELD = "job_id"


class JobState(msgspec.Struct):
    job: JobPosted
    stamps: Stamps  # field -> occurred_at (ms) of the event that last wrote it
    extra: dict[str, Any]  # fields the contract does not name, kept as sent
    closed_reason: str | None = None
    closed_ms: int | None = None
    hires: list[str] = []  # seeker ids, each hired once


def apply(
    state: JobState | None, data: JobEvent, occurred_ms: int, extra: dict[str, Any]
) -> tuple[Result, JobState | None]:
    if state is None:
        if not isinstance(data, JobPosted):
            return PENDING, None
        fields = newer_fields(data, {}, occurred_ms, ID_FIELD)
        return APPLIED, JobState(data, stamped({}, fields, occurred_ms), extra)
    if isinstance(data, JobPosted | JobUpdated):
        return _merge(state, data, occurred_ms, extra)
    if isinstance(data, JobClosed):
        return _close(state, data, occurred_ms)
    return _hire(state, data)


def _merge(
    state: JobState, data: JobPosted | JobUpdated, occurred_ms: int, extra: dict[str, Any]
) -> tuple[Result, JobState]:
    fields = newer_fields(data, state.stamps, occurred_ms, ID_FIELD)
    if not fields:
        return STALE, state
    state.job = replace(state.job, fields)
    state.stamps = stamped(state.stamps, fields, occurred_ms)
    state.extra = {**state.extra, **extra}
    return APPLIED, state


def _close(state: JobState, data: JobClosed, occurred_ms: int) -> tuple[Result, JobState]:
    if state.closed_reason is not None:
        return STALE, state
    state.closed_reason, state.closed_ms = data.reason, occurred_ms
    return APPLIED, state


def _hire(state: JobState, data: HireConfirmed) -> tuple[Result, JobState]:
    if data.seeker_id in state.hires:
        return DUPLICATE, state
    # In order of id, not of arrival: hires waiting for their job arrive in another order.
    state.hires = sorted([*state.hires, data.seeker_id])
    return APPLIED, state


def remaining_headcount(state: JobState) -> int:
    return max(0, state.job.headcount - len(state.hires))


def deadline_ms(state: JobState) -> int:
    """When the job stops being open by the clock: its expiry or its shift's end."""
    end = state.job.shift.end
    if state.job.expires_at is not None:
        end = min(end, state.job.expires_at)
    return epoch_ms(end)


def close_reason(state: JobState, now_ms: int) -> str | None:
    """Why the job is not open now, or None while it is."""
    if state.closed_reason is not None:
        return state.closed_reason
    if remaining_headcount(state) == 0:
        return "filled"
    if now_ms >= deadline_ms(state):
        return "expired"
    return None


def is_open(state: JobState, now_ms: int) -> bool:
    return close_reason(state, now_ms) is None
