"""The notification consumer's parts without a broker: reading records, timing, Redis away."""

import asyncio
import logging
from datetime import UTC, datetime

import msgspec
import pytest
from redis.asyncio import Redis

from ops.notify import (
    Malformed,
    Notifier,
    Stopped,
    claim_lease_s,
    delivered_key,
    due_ms,
    read,
    retry_after_s,
)
from ops.senders import DELIVERED, Sent
from ops.settings import Settings
from tests import factory
from tests.integration.conftest import free_port
from topics.outputs import NotificationRequested, encode_notification

NOTIFICATION = factory.notification()
SECRET = "13812345678"


def test_a_notification_record_reads_back() -> None:
    raw = encode_notification(NOTIFICATION, datetime(2026, 11, 26, tzinfo=UTC))
    assert read(raw) == NOTIFICATION


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (f"{{oops {SECRET}".encode(), "JSON is malformed"),
        (b"", "Input data was truncated"),
        (f'["{SECRET}"]'.encode(), "Expected `object`, got `array`"),
        (
            b'{"event_id": "e", "type": "match.found", "data": {}}',
            "Object missing required field `notification_id` - at `$.data`",
        ),
        (
            b'{"event_id": "e", "type": "notification.requested", "data": {"notification_id": "n",'
            b' "seeker_id": "s", "job_id": "j", "channel": "push", "title": "t", "body": "b",'
            b' "not_before": "2026-11-27T08:00:00"}}',
            "Expected `datetime` with a timezone component - at `$.data.not_before`",
        ),
        (
            f'{{"event_id": "e", "type": "notification.requested", "data": {{"notification_id":'
            f' "n", "seeker_id": {SECRET}}}}}'.encode(),
            "Expected `str`, got `int` - at `$.data.seeker_id`",
        ),
    ],
)
def test_a_malformed_record_has_a_one_line_reason_without_its_payload(
    raw: bytes, reason: str
) -> None:
    malformed = read(raw)
    assert isinstance(malformed, Malformed)
    assert malformed.reason.startswith(reason)
    assert "\n" not in malformed.reason
    assert SECRET not in malformed.reason


def test_a_record_of_another_type_is_malformed() -> None:
    raw = encode_notification(NOTIFICATION, datetime(2026, 11, 26, tzinfo=UTC))
    raw = raw.replace(b'"notification.requested"', b'"match.found"', 1)
    assert read(raw) == Malformed("type 'match.found' is not notification.requested")


def test_a_push_is_due_from_the_millisecond_its_not_before_has_passed() -> None:
    at = datetime(2026, 11, 27, 8, 0, 0, 1500, tzinfo=UTC)  # 1.5 ms past the second
    second_ms = int(at.replace(microsecond=0).timestamp()) * 1000
    assert due_ms(msgspec.structs.replace(NOTIFICATION, not_before=at)) == second_ms + 2


def test_a_claim_outlasts_the_longest_send() -> None:
    cfg = Settings(notify_timeout_s=5, notify_retries=4, notify_backoff_s=0.5)
    # 5 attempts of 5 s each and waits of 0.5 + 1 + 2 + 4 s between them, twice over.
    assert claim_lease_s(cfg) == 2 * (25 + 7.5)


def test_an_unavailable_receiver_is_left_alone_for_the_backoffs_next_step() -> None:
    assert retry_after_s(Settings(notify_retries=4, notify_backoff_s=0.5)) == 8.0


def test_a_webhook_sender_needs_a_url() -> None:
    with pytest.raises(ValueError, match="GIGSTREAM_NOTIFY_WEBHOOK_URL"):
        Settings(notify_sender="webhook")


def test_delivered_markers_live_under_the_notify_prefix() -> None:
    assert delivered_key("n-1") == "gs:notify:delivered:n-1"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, notification: NotificationRequested) -> Sent:
        self.sent.append(notification.notification_id)
        return DELIVERED

    async def close(self) -> None:
        return None


async def test_redis_away_is_waited_out_and_nothing_is_sent_meanwhile() -> None:
    stop = asyncio.Event()
    waits: list[str] = []

    class StopOnThirdWait(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Redis unavailable"):
                waits.append(record.getMessage())
            if len(waits) == 3:
                stop.set()

    sender = Recorder()
    # Nothing listens there: every Redis call fails as when Redis is down.
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    notifier = Notifier(client, sender, stop, delivered_ttl_s=600, lease_s=30, retry_after_s=10)
    handler = StopOnThirdWait()
    logging.getLogger("ops.notify").addHandler(handler)
    try:
        with pytest.raises(Stopped):
            await notifier.handle(encode_notification(NOTIFICATION, NOTIFICATION.not_before), "t")
    finally:
        logging.getLogger("ops.notify").removeHandler(handler)
        await client.aclose()
    assert len(waits) == 3
    assert sender.sent == []
