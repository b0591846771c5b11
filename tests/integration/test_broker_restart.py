"""The broker restarted mid-stream: the upstream producer and the worker recover, nothing is lost.

A broker of this module's own (started and stopped by ops.stack, as
`gigstream stack up|down` do, in a temporary stack directory on ports of its
own; the shared Redis is reused) takes a simulated city in three parts: one
before the broker stops, one sent while it is down (the producer holds and
retries it), one after it is back. The worker, left running throughout,
ends with exactly the state a replay of the broker's topics builds, and
every refused message has its dead letter.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer

from ops import stack
from ops.rebuild import derived_state, rebuild
from ops.settings import Settings, redis_database
from ops.simulator.feed import Feed, Message
from tests.integration.conftest import (
    ROOT,
    differences,
    free_port,
    processed,
    stack_of_its_own,
    start,
    wait_counted,
    wait_for,
)
from topics.catalog import BY_NAME, DEADLETTER
from topics.envelope import Event, Limits, decode

pytestmark = pytest.mark.integration

FIRST_PORT = 19192
EVENTS = 1500
SEED = 20261129
LIVE_DB, REPLAYED_DB = 7, 6
RESTART_S = 120.0  # a KRaft broker on two busy cores takes half a minute to be back


@pytest.fixture(scope="module")
def own_stack(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    with (
        stack_of_its_own(
            base_settings,
            tmp_path_factory.mktemp("restart-stack"),
            FIRST_PORT,
            redis_url=redis_database(base_settings.redis_url, LIVE_DB),  # the shared Redis
            app_id=f"gigstream-restart-{uuid.uuid4().hex[:8]}",
            log_level="warn",
            web_port=free_port(),
        ) as (cfg, _)
    ):
        yield cfg


def env_of(cfg: Settings) -> dict[str, str]:
    return {
        "PYTHONPATH": str(ROOT),
        "GIGSTREAM_KAFKA_BOOTSTRAP": cfg.kafka_bootstrap,
        "GIGSTREAM_REDIS_URL": cfg.redis_url,
        "GIGSTREAM_APP_ID": cfg.app_id,
        "GIGSTREAM_WEB_PORT": str(cfg.web_port),
        "GIGSTREAM_LOG_LEVEL": cfg.log_level,
        "GIGSTREAM_STACK_DIR": str(cfg.stack_dir),
    }


def send(producer: KafkaProducer, messages: list[Message]) -> None:
    for message in messages:
        producer.send(message.topic, key=message.key, value=message.value)


def refused(messages: list[Message]) -> int:
    """How many of the messages the contract refuses (the feed's malformed ones)."""
    now, limits = datetime.now(UTC), Limits(64 * 1024, timedelta(days=1))
    return sum(
        not isinstance(decode(BY_NAME[m.topic], m.key, m.value or b"", now, limits), Event)
        for m in messages
    )


def dead_letter_origins(cfg: Settings) -> set[tuple[Any, ...]]:
    consumer = KafkaConsumer(
        DEADLETTER.name,
        bootstrap_servers=cfg.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    try:
        records = [orjson.loads(record.value) for record in consumer]
    finally:
        consumer.close()
    return {(r["topic"], r["partition"], r["offset"]) for r in records}


def test_after_a_broker_restart_mid_stream_the_state_is_what_the_topics_say(
    own_stack: Settings, tmp_path: Path
) -> None:
    cfg = own_stack
    live = redis.Redis.from_url(cfg.redis_url)
    live.flushdb()
    messages = list(islice(Feed(SEED, datetime.now(UTC), 1000.0), EVENTS))
    first, second, third = messages[:500], messages[500:1000], messages[1000:]
    producer = KafkaProducer(
        bootstrap_servers=cfg.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        retries=1_000_000,
        delivery_timeout_ms=int(RESTART_S * 3 * 1000),
        request_timeout_ms=10_000,
    )
    url = f"http://127.0.0.1:{cfg.web_port}"
    worker = start("worker", env_of(cfg), tmp_path, url)
    running = next(worker)
    try:
        send(producer, first)
        producer.flush()
        wait_for(lambda: processed(running) >= len(first), "the first part applied")
        stack.down(cfg)
        send(producer, second)  # held by the producer while the broker is away
        stack.up(cfg)
        send(producer, third)
        producer.flush(timeout=RESTART_S * 3)
        wait_counted(running, live, EVENTS, deadline_s=RESTART_S)
        assert running.alive()
    finally:
        producer.close()
        next(worker, None)
    # Read before the replay below, which sends every dead letter again (no worker group
    # has processed this broker's records as far as it knows).
    assert len(dead_letter_origins(cfg)) == refused(messages) > 0
    replayed_cfg = cfg.model_copy(
        update={
            "redis_url": redis_database(cfg.redis_url, REPLAYED_DB),
            "app_id": f"{cfg.app_id}-replay",
        }
    )
    redis.Redis.from_url(replayed_cfg.redis_url).flushdb()
    rebuild(replayed_cfg, progress=False)  # from the beginning: this broker holds only the city
    oracle = derived_state(redis.Redis.from_url(replayed_cfg.redis_url))
    assert not (wrong := differences(derived_state(live), oracle)), wrong
