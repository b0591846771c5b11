"""Events waiting for a referent that never comes end in the dead-letter topic, not in limbo."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from ops.settings import Settings
from processors.ledger import JOB, Incoming, Origin, Ref, Rules
from processors.outcome import Outcome
from streams import keys
from streams.pipeline import Pipeline
from streams.store import Store
from tests import factory
from tests.integration.conftest import DeadLetters, wait_for
from topics.catalog import APPLICATIONS, DEADLETTER
from topics.envelope import Event, Limits, decode

pytestmark = pytest.mark.integration
LIMITS = Limits(64 * 1024, timedelta(days=1))
WAIT_MS = 3_600_000


@pytest.fixture
async def kafka_producer(live_stack: Settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=live_stack.kafka_bootstrap)
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def pipeline(
    worker_env: dict[str, str], kafka_producer: AIOKafkaProducer
) -> AsyncIterator[Pipeline]:
    redis = Redis.from_url(worker_env["GIGSTREAM_REDIS_URL"])
    store = Store(redis, Rules(3_600_000), LIMITS, seen_ttl_s=600, pending_ttl_ms=WAIT_MS)

    async def send(key: bytes | None, value: bytes) -> Any:
        return await kafka_producer.send(DEADLETTER.name, value, key=key)

    yield Pipeline(store, send)
    await redis.aclose()


async def test_a_hire_whose_job_never_comes_is_dead_lettered_after_the_wait(
    pipeline: Pipeline, deadletters: DeadLetters
) -> None:
    job = f"never-{uuid.uuid4().hex[:8]}"
    raw = orjson.dumps(factory.hire_confirmed(job, "seeker-a"))
    now = datetime.now(UTC)
    event = decode(APPLICATIONS, job.encode(), raw, now, LIMITS)
    assert isinstance(event, Event)
    origin = Origin(APPLICATIONS.name, 3, 42, job.encode(), raw, int(now.timestamp() * 1000))
    applied = await pipeline.store.apply([Incoming(event, origin)], origin.received_ms)
    assert applied[0].result.outcome is Outcome.PENDING

    await pipeline.expire_pending(now + timedelta(milliseconds=WAIT_MS - 1))
    assert await pipeline.store.redis.exists(keys.pending(Ref(JOB, job)))

    await pipeline.expire_pending(now + timedelta(milliseconds=WAIT_MS))
    records = wait_for(lambda: deadletters.for_key(job.encode()), "the expired hire")
    assert len(records) == 1
    assert records[0]["reason"] == (
        f"job {job!r} did not arrive within 1h: publish it, then this event again"
    )
    assert (records[0]["partition"], records[0]["offset"]) == (3, 42)
    assert records[0]["raw"].encode() == raw
    assert not await pipeline.store.redis.exists(keys.pending(Ref(JOB, job)))
    member = keys.member(Ref(JOB, job))
    assert await pipeline.store.redis.zscore(keys.DUE_PENDING, member) is None
