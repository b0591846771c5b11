"""Data of the gig.jobs events (key: job_id)."""

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from topics.fields import EntityId, Location, LongText, Tags, Text, TimeRange, Timestamp, Wage

Headcount = Annotated[int, Meta(ge=1, le=100_000)]
CloseReason = Literal["filled", "cancelled", "expired"]


class JobPosted(msgspec.Struct, frozen=True):
    job_id: EntityId
    employer_id: EntityId
    title: Text
    occupation: Text
    skills: Tags
    headcount: Headcount
    wage: Wage
    location: Location
    shift: TimeRange
    market_id: EntityId | None = None
    expires_at: Timestamp | None = None
    description: LongText | None = None


class JobUpdated(msgspec.Struct, frozen=True):
    """Any subset of the job.posted fields; UNSET marks a field not sent."""

    job_id: EntityId
    employer_id: EntityId | UnsetType = UNSET
    title: Text | UnsetType = UNSET
    occupation: Text | UnsetType = UNSET
    skills: Tags | UnsetType = UNSET
    headcount: Headcount | UnsetType = UNSET
    wage: Wage | UnsetType = UNSET
    location: Location | UnsetType = UNSET
    shift: TimeRange | UnsetType = UNSET
    market_id: EntityId | UnsetType | None = UNSET
    expires_at: Timestamp | UnsetType | None = UNSET
    description: LongText | UnsetType | None = UNSET


class JobClosed(msgspec.Struct, frozen=True):
    job_id: EntityId
    reason: CloseReason
