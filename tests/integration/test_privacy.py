"""Personal information and credentials never leak: a scan of everything the processes said.

Every seeker the integration tests register carries the factory's phone and
name (tests/factory.py) unless a test set its own. Run after the tests that
match, push and serve them (files run in name order), this scans the logs of
the worker, the matcher and the circle, their /metrics, the ranked lists and
every record on gig.matches and gig.notifications since the session began.
"""

import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from ops.settings import Settings
from tests import factory
from tests.integration.conftest import API_TOKEN, BEARER, Publisher, Worker, wait_for
from topics.catalog import MATCHES, NOTIFICATIONS

pytestmark = pytest.mark.integration

PHONE = "13812345678"
NAME = "张三"
SECRETS = (PHONE, NAME, PHONE[3:7] + PHONE[-4:], API_TOKEN)  # credentials are never logged either


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def metrics_of(url: str) -> str:
    """A process's metrics as text, their values aside: a number carries no name, and a
    ratio such as 1/81 = 0.012345679012345678 would read as a masked phone's digits. A value
    equal to the phone itself is kept in."""
    text = urllib.request.urlopen(f"{url}/metrics").read().decode()
    words = []
    for family in text_string_to_metric_families(text):
        words += [family.name, family.documentation]
        for sample in family.samples:
            words += [sample.name, *sample.labels.values()]
            if sample.value == float(PHONE):
                words.append(PHONE)
    return "\n".join(words)


def since_start(bootstrap: str, topic: str, start: dict[TopicPartition, int]) -> str:
    """Every record the session put on the topic, as one text."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [tp for tp in start if tp.topic == topic]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, start[tp])
    ends = consumer.end_offsets(partitions)
    chunks: list[bytes] = []

    def read_to_end() -> bool:
        for records in consumer.poll(timeout_ms=500).values():
            chunks.extend(r.value or b"" for r in records)
        return all(consumer.position(tp) >= ends[tp] for tp in partitions)

    wait_for(read_to_end, f"{topic} read to its end")
    consumer.close()
    return b"\n".join(chunks).decode(errors="replace")


def test_no_log_metric_list_match_or_push_carries_a_phone_or_a_name(
    publish: Publisher,
    db: redis.Redis,
    worker: Worker,
    matcher: Worker,
    circle: Worker,
    live_stack: Settings,
    outputs_at_start: dict[TopicPartition, int],
) -> None:
    seeker, job = f"pii-{uuid.uuid4().hex[:8]}-s", f"pii-{uuid.uuid4().hex[:8]}-j"
    publish.event("gig.seekers", factory.seeker_registered(seeker, 0))  # the factory's phone, name
    wait_for(lambda: db.exists(f"gs:seeker:{seeker}"), "the seeker")
    now = datetime.now(UTC)
    shift = {
        "start": (now + timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=9)).isoformat(),
    }
    publish.event("gig.jobs", factory.job_posted(job, 0, shift=shift))
    bootstrap = live_stack.kafka_bootstrap

    def matched_and_pushed() -> bool:
        topics = (MATCHES.name, NOTIFICATIONS.name)
        return all(seeker in since_start(bootstrap, t, outputs_at_start) for t in topics)

    wait_for(matched_and_pushed, "the seeker's match and push")
    lists = [
        urllib.request.urlopen(
            urllib.request.Request(f"{worker.url}{path}", headers=BEARER), timeout=10
        )
        .read()
        .decode()
        for path in (f"/jobs/{job}/candidates", f"/seekers/{seeker}/matches")
    ]
    assert "138****5678" in lists[0]  # the seeker is listed, masked
    said = {
        "worker log": worker.log.read_text(errors="replace"),
        "matcher log": matcher.log.read_text(errors="replace"),
        "circle log": circle.log.read_text(errors="replace"),
        "worker metrics": metrics_of(worker.url),
        "matcher metrics": metrics_of(matcher.url),
        "circle metrics": metrics_of(circle.url),
        "ranked lists": "\n".join(lists),
        MATCHES.name: since_start(bootstrap, MATCHES.name, outputs_at_start),
        NOTIFICATIONS.name: since_start(bootstrap, NOTIFICATIONS.name, outputs_at_start),
    }
    assert {where: leaks(text) for where, text in said.items() if leaks(text)} == {}
    assert seeker in said[NOTIFICATIONS.name]  # the scan saw this run's push too
