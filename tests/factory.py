"""Valid contract events for tests, built as dicts so tests can break them on purpose."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from topics.outputs import NotificationRequested

BASE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
# event_ids unique across runs, since integration runs share one Redis database.
_RUN = uuid.uuid4().hex[:8]
_ids = itertools.count(1)


def at(minutes: float = 0) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


def envelope(
    type_: str, data: dict[str, Any], minutes: float = 0, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"evt-{_RUN}-{next(_ids)}",
        "type": type_,
        "occurred_at": at(minutes),
        "source": "market:jingkou",
        "data": data,
    }


def job_posted(job_id: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
    data = {
        "job_id": job_id,
        "employer_id": "emp-1",
        "title": "仓库装卸",
        "occupation": "装卸搬运工",
        "skills": ["叉车"],
        "headcount": 2,
        "wage": {"amount": 200, "unit": "day"},
        "location": {"lat": 32.2, "lon": 119.45, "district": "京口区"},
        "shift": {"start": at(60), "end": at(60 * 9)},
        **fields,
    }
    return envelope("job.posted", data, minutes)


def job_updated(job_id: str, minutes: float, **fields: Any) -> dict[str, Any]:
    return envelope("job.updated", {"job_id": job_id, **fields}, minutes)


def job_closed(job_id: str, minutes: float, reason: str = "cancelled") -> dict[str, Any]:
    return envelope("job.closed", {"job_id": job_id, "reason": reason}, minutes)


def seeker_registered(seeker_id: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
    data = {
        "seeker_id": seeker_id,
        "occupations": ["装卸搬运工"],
        "skills": ["叉车"],
        "home": {"lat": 32.21, "lon": 119.46},
        "travel_mode": "ebike",
        "phone": "13812345678",
        "name": "张三",
        **fields,
    }
    return envelope("seeker.registered", data, minutes)


def seeker_updated(seeker_id: str, minutes: float, **fields: Any) -> dict[str, Any]:
    return envelope("seeker.updated", {"seeker_id": seeker_id, **fields}, minutes)


def seeker_withdrawn(seeker_id: str, minutes: float) -> dict[str, Any]:
    return envelope("seeker.withdrawn", {"seeker_id": seeker_id}, minutes)


def market_upserted(market_id: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
    data = {
        "market_id": market_id,
        "name": "京口区零工市场",
        "kind": "market",
        "location": {"lat": 32.22, "lon": 119.47},
        "district": "京口区",
        **fields,
    }
    return envelope("market.upserted", data, minutes)


def market_removed(market_id: str, minutes: float) -> dict[str, Any]:
    return envelope("market.removed", {"market_id": market_id}, minutes)


def checkin(seeker_id: str, minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return envelope("checkin", {"seeker_id": seeker_id, **fields}, minutes)


def checkout(seeker_id: str, minutes: float) -> dict[str, Any]:
    return envelope("checkout", {"seeker_id": seeker_id}, minutes)


def application_submitted(
    application_id: str, job_id: str, seeker_id: str, minutes: float = 0
) -> dict[str, Any]:
    data = {"application_id": application_id, "job_id": job_id, "seeker_id": seeker_id}
    return envelope("application.submitted", data, minutes)


def application_withdrawn(application_id: str, minutes: float) -> dict[str, Any]:
    return envelope("application.withdrawn", {"application_id": application_id}, minutes)


def hire_confirmed(job_id: str, seeker_id: str, minutes: float = 0) -> dict[str, Any]:
    return envelope("hire.confirmed", {"job_id": job_id, "seeker_id": seeker_id}, minutes)


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def notification(notification_id: str = "n-1") -> NotificationRequested:
    """A notification.requested record as the matcher sends it (no personal information)."""
    return NotificationRequested(
        notification_id,
        "seeker-1",
        "job-1",
        "push",
        "快递员 2km",
        "明早 8 点开工",
        datetime(2026, 11, 27, tzinfo=UTC),
    )
