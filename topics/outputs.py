"""The records gigstream publishes: gig.matches and gig.notifications (EVENTS.md, output topics).

Each is one UTF-8 JSON object in the input topics' envelope (event_id, type,
occurred_at, source, data), keyed by seeker_id. A notification's event_id is
its notification_id, so a copy sent again after a crash is recognisably the same.
"""

import hashlib
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from topics.fields import EntityId, Timestamp, epoch_ms

SOURCE = "gigstream"
MATCH_FOUND = "match.found"
NOTIFICATION_REQUESTED = "notification.requested"


class MatchFound(msgspec.Struct, frozen=True):
    job_id: EntityId
    seeker_id: EntityId
    score: Annotated[float, Meta(ge=0, le=1)]
    travel_minutes: Annotated[float, Meta(ge=0)]
    reasons: list[str]


class NotificationRequested(msgspec.Struct, frozen=True):
    notification_id: str
    seeker_id: EntityId
    job_id: EntityId
    channel: str
    title: str
    body: str
    not_before: Timestamp


Output = MatchFound | NotificationRequested


class OutputEnvelope(msgspec.Struct, frozen=True):
    event_id: str
    type: str
    occurred_at: datetime
    source: str
    data: Output


def notification_id(seeker_id: str, job_id: str) -> str:
    """Stable for a seeker and a job: the same pair never yields two notifications."""
    pair = f"{seeker_id}\x1f{job_id}".encode()
    return "n-" + hashlib.blake2b(pair, digest_size=16).hexdigest()


def encode_match(event_id: str, match: MatchFound, at: datetime) -> bytes:
    return msgspec.json.encode(OutputEnvelope(event_id, MATCH_FOUND, at, SOURCE, match))


class _MatchedPair(msgspec.Struct, frozen=True):
    job_id: str
    seeker_id: str


class _MatchEnvelope(msgspec.Struct, frozen=True):
    occurred_at: datetime
    data: _MatchedPair


def matched_pair(record: bytes) -> tuple[str, str, int]:
    """The job, the seeker and the time (ms) of a match.found record."""
    envelope = msgspec.json.decode(record, type=_MatchEnvelope)
    return envelope.data.job_id, envelope.data.seeker_id, epoch_ms(envelope.occurred_at)


def encode_notification(notification: NotificationRequested, at: datetime) -> bytes:
    envelope = OutputEnvelope(
        notification.notification_id, NOTIFICATION_REQUESTED, at, SOURCE, notification
    )
    return msgspec.json.encode(envelope)


class _NotificationEnvelope(msgspec.Struct, frozen=True):
    event_id: str
    type: str
    data: NotificationRequested


def decode_notification(raw: bytes) -> NotificationRequested:
    """A gig.notifications record; raises a msgspec error when it is not one."""
    envelope = msgspec.json.decode(raw, type=_NotificationEnvelope)
    if envelope.type != NOTIFICATION_REQUESTED:
        raise msgspec.ValidationError(f"type {envelope.type!r} is not {NOTIFICATION_REQUESTED}")
    return envelope.data
