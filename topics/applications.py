"""Data of the gig.applications events (key: job_id)."""

import msgspec

from topics.fields import EntityId


class ApplicationSubmitted(msgspec.Struct, frozen=True):
    application_id: EntityId
    job_id: EntityId
    seeker_id: EntityId


class ApplicationWithdrawn(msgspec.Struct, frozen=True):
    application_id: EntityId
    # Optional extension: lets publishers key the message by job_id.
    job_id: EntityId | None = None


class HireConfirmed(msgspec.Struct, frozen=True):
    job_id: EntityId
    seeker_id: EntityId
