"""What became of one input event: every message ends in exactly one of these."""

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # its event_id (or, for a hire, its job and seeker) was seen
    STALE = "stale"  # older than the state it would replace
    PENDING = "pending"  # waits for its referent (a hire for a job not yet posted)
    REJECTED = "rejected"  # dead-lettered with the reason


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    reason: str = ""


APPLIED = Result(Outcome.APPLIED)
DUPLICATE = Result(Outcome.DUPLICATE)
STALE = Result(Outcome.STALE)
PENDING = Result(Outcome.PENDING)
