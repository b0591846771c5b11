"""Hostile input at volume: 100,000 messages, most of them bad, and every one accounted for.

The worker must never crash, and its counts must reconcile exactly: messages
in = applied + duplicate + stale + rejected (dead-lettered), each class known
here by construction. Bad classes: wrong types, huge strings, deep nesting,
Infinity, out-of-range coordinates, far-future and ancient timestamps, unknown
types, invalid UTF-8, empty payloads; the valid ones come with exact
duplicates and out-of-order (older) updates.
"""

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from ops.offsets import end_offsets, input_end_offsets
from tests import factory
from tests.integration.conftest import Worker, wait_for
from topics.catalog import DEADLETTER, INPUT_TOPICS

pytestmark = pytest.mark.integration

TOTAL = 100_000
SEED = 99
OUTCOMES = ("applied", "duplicate", "stale", "pending", "rejected")


def shift() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "start": (now + timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=9)).isoformat(),
    }


def posted(job_id: str, **data: Any) -> dict[str, Any]:
    return factory.job_posted(job_id, 0, shift=shift(), **data)


def with_envelope(job_id: str, **fields: Any) -> bytes:
    return orjson.dumps({**posted(job_id), **fields})


BAD: dict[str, Callable[[str, random.Random], bytes]] = {
    "wrong type": lambda j, r: orjson.dumps(posted(j, headcount=r.choice(["two", [], None]))),
    "huge string": lambda j, r: orjson.dumps(posted(j, title="长" * r.randint(201, 20_000))),
    "deep nesting": lambda j, r: (
        orjson.dumps(posted(j))[:-2] + b',"x":' + b"[" * r.randint(2_000, 30_000) + b"]" * 30_000
    ),
    "infinity": lambda j, r: orjson.dumps(posted(j)).replace(b'"amount":200', b'"amount":1e999'),
    "coordinates": lambda j, r: orjson.dumps(
        posted(j, location={"lat": r.uniform(86, 1e6), "lon": r.uniform(-1e6, 1e6)})
    ),
    "far future": lambda j, r: with_envelope(j, occurred_at="2999-01-01T00:00:00+08:00"),
    "ancient": lambda j, r: with_envelope(j, occurred_at="1970-01-01T00:00:00+08:00"),
    "unknown type": lambda j, r: with_envelope(j, type=r.choice(["job.deleted", "x", ""])),
    "invalid utf-8": lambda j, r: b'{"event_id": "' + bytes([0xFF, 0xFE, r.randrange(256)]) + b'"}',
    "empty": lambda j, r: b"",
}


def counts(worker: Worker) -> Counter[str]:
    scrape = worker.scrape()
    return Counter(
        {
            outcome: sum(
                scrape.value("gigstream_events_total", topic=topic.name, outcome=outcome)
                for topic in INPUT_TOPICS
            )
            for outcome in OUTCOMES
        }
    )


def caught_up(bootstrap: str, group: str) -> bool:
    """Whether the group has committed every input message published so far."""
    ends = input_end_offsets(bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return all((consumer.committed(tp) or 0) >= end for tp, end in ends.items())
    finally:
        consumer.close()


def alive(worker: Worker) -> bool:
    """True, or the test fails here: polls that must not render /metrics for nothing."""
    assert worker.alive(), "the worker died"
    return True


def dead_letters_so_far(bootstrap: str) -> int:
    return sum(end_offsets(bootstrap, [DEADLETTER.name]).values())


def test_a_hundred_thousand_hostile_messages_reconcile_exactly(
    worker: Worker, worker_env: dict[str, str]
) -> None:
    rng = random.Random(SEED)
    run = uuid.uuid4().hex[:8]
    bootstrap, group = worker_env["GIGSTREAM_KAFKA_BOOTSTRAP"], worker_env["GIGSTREAM_APP_ID"]
    # Earlier tests' messages all counted first, so the difference is this test's.
    wait_for(lambda: alive(worker) and caught_up(bootstrap, group), "the worker caught up")
    before, letters_before = counts(worker), dead_letters_so_far(bootstrap)
    # Large batches: a hundred thousand messages one request each would not all be
    # delivered within the producer's timeout on a busy machine.
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=50,
        batch_size=1024 * 1024,
        delivery_timeout_ms=600_000,
        request_timeout_ms=120_000,
    )
    expected: Counter[str] = Counter()
    sent: list[Any] = []
    valid = TOTAL // 20  # 5,000 postings, each duplicated once and updated out of order once
    # An occupation of this run's own: the session's matcher, started later, then finds
    # no one for these jobs among the seekers other tests (and sessions) registered.
    occupation = f"装卸搬运工-{run}"
    for n in range(valid):
        job_id = f"hostile-{run}-ok-{n}"
        event = factory.job_posted(job_id, 10, shift=shift(), occupation=occupation)
        raw = orjson.dumps(event)
        older = orjson.dumps(factory.job_updated(job_id, 5, title="旧标题"))
        for value in (raw, raw, older):  # one partition per key: this order holds
            sent.append(producer.send("gig.jobs", key=job_id.encode(), value=value))
        expected.update(applied=1, duplicate=1, stale=1)
    classes = list(BAD.items())
    for n in range(TOTAL - 3 * valid):
        _, make = classes[n % len(classes)]
        job_id = f"hostile-{run}-bad-{n}"
        sent.append(producer.send("gig.jobs", key=job_id.encode(), value=make(job_id, rng)))
        expected.update(rejected=1)
    producer.flush()
    for delivery in sent:  # every one reached the broker, or the test says so here
        delivery.get(timeout=60)
    producer.close()
    assert sum(expected.values()) == len(sent) == TOTAL

    def settled() -> bool:
        return alive(worker) and sum((counts(worker) - before).values()) >= TOTAL

    wait_for(settled, f"{TOTAL:,} messages processed", deadline_s=600)
    assert counts(worker) - before == expected
    # Dead letters are delivered before a batch counts: every rejected one is there.
    assert dead_letters_so_far(bootstrap) - letters_before >= expected["rejected"]
    assert worker.metric("gigstream_internal_errors_total", topic="gig.jobs") == 0
    assert worker.alive()
