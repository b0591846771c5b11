"""Every Kafka topic of the event contract (shared/EVENTS.md), declared once."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from topics.applications import ApplicationSubmitted, ApplicationWithdrawn, HireConfirmed
from topics.checkins import Checkin, Checkout
from topics.jobs import JobClosed, JobPosted, JobUpdated
from topics.markets import MarketRemoved, MarketUpserted
from topics.seekers import SeekerRegistered, SeekerUpdated, SeekerWithdrawn

DataType = type[msgspec.Struct]


@dataclass(frozen=True)
class Topic:
    name: str
    # The data fields the message key is taken from; the first one present wins.
    key_fields: tuple[str, ...]
    # Event type -> the struct its data decodes into (input topics only).
    event_types: Mapping[str, DataType] = field(default_factory=dict)
    compacted: bool = False
    is_input: bool = True

    def key_of(self, data: Mapping[str, object]) -> str | None:
        """The message key the contract asks for, from an event's data."""
        for key_field in self.key_fields:
            value = data.get(key_field)
            if isinstance(value, str):
                return value
        return None


JOBS = Topic(
    "gig.jobs",
    ("job_id",),
    {"job.posted": JobPosted, "job.updated": JobUpdated, "job.closed": JobClosed},
    compacted=True,
)
SEEKERS = Topic(
    "gig.seekers",
    ("seeker_id",),
    {
        "seeker.registered": SeekerRegistered,
        "seeker.updated": SeekerUpdated,
        "seeker.withdrawn": SeekerWithdrawn,
    },
    compacted=True,
)
CHECKINS = Topic("gig.checkins", ("seeker_id",), {"checkin": Checkin, "checkout": Checkout})
# application.withdrawn names only its application_id; publishers key it by
# job_id when they know it (an optional extension), else by application_id.
APPLICATIONS = Topic(
    "gig.applications",
    ("job_id", "application_id"),
    {
        "application.submitted": ApplicationSubmitted,
        "application.withdrawn": ApplicationWithdrawn,
        "hire.confirmed": HireConfirmed,
    },
)
MARKETS = Topic(
    "gig.markets",
    ("market_id",),
    {"market.upserted": MarketUpserted, "market.removed": MarketRemoved},
    compacted=True,
)

MATCHES = Topic("gig.matches", ("seeker_id",), is_input=False)
NOTIFICATIONS = Topic("gig.notifications", ("seeker_id",), is_input=False)
DEADLETTER = Topic("gig.deadletter", (), is_input=False)

INPUT_TOPICS = (JOBS, SEEKERS, CHECKINS, APPLICATIONS, MARKETS)
ALL_TOPICS = (*INPUT_TOPICS, MATCHES, NOTIFICATIONS, DEADLETTER)
BY_NAME = {topic.name: topic for topic in ALL_TOPICS}
