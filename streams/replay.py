"""A rebuild's replay: the input topics read from given offsets up to given ends, through
the worker's own Pipeline and Store.

No Faust and no consumer group: a replay stops exactly at the ends it was
given (compacted topics have gaps, so it goes by position, not by count), and
ops.rebuild sets the workers' group afterwards.
"""

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from redis.asyncio import Redis

from ops.kafka_auth import Principal, client_options
from ops.settings import Settings
from processors.ledger import Rules
from streams.pipeline import Pipeline
from streams.store import Store
from streams.tallies import count_matches
from topics.catalog import DEADLETTER
from topics.envelope import Limits
from topics.outputs import matched_pair

log = logging.getLogger(__name__)
Positions = Mapping[tuple[str, int], int]  # (topic, partition) -> offset


def store_of(cfg: Settings) -> Store:
    """The worker's store as the settings configure it."""
    return Store(
        Redis.from_url(cfg.redis_url),
        Rules(checkin_stay_ms=cfg.checkin_stay_s * 1000),
        Limits(cfg.max_message_bytes, timedelta(seconds=cfg.max_future_skew_s)),
        seen_ttl_s=cfg.seen_retention_s,
        pending_ttl_ms=cfg.pending_retention_s * 1000,
    )


async def replay(
    cfg: Settings,
    start: Positions,
    end: Positions,
    processed_once: Positions,
    progress: Callable[[int], Any],
) -> None:
    """Applies every input record from start up to end; those before processed_once send
    nothing out again (their dead letters and match requests went out the first time)."""
    producer = AIOKafkaProducer(
        **client_options(cfg, Principal.GIGSTREAM), acks="all", enable_idempotence=True
    )
    await producer.start()
    store = store_of(cfg)
    try:

        async def send_deadletter(key: bytes | None, value: bytes) -> Any:
            return await producer.send(DEADLETTER.name, key=key, value=value)

        pipeline = Pipeline(store, send_deadletter, processed_once)
        async for records in read_between(cfg, start, end):
            await pipeline.process(records)
            progress(len(records))
    finally:
        await producer.stop()
        await store.redis.aclose()


async def replay_matches(
    cfg: Settings, start: Positions, end: Positions, progress: Callable[[int], Any]
) -> None:
    """Counts the pairs of gig.matches from start up to end again, as the matcher did when
    it sent them (match → hire conversion); a record that does not decode is skipped."""
    redis = Redis.from_url(cfg.redis_url)
    try:
        async for records in read_between(cfg, start, end):
            matches = []
            for record in records:
                try:
                    matches.append(matched_pair(record.value))
                except (msgspec.DecodeError, ValueError):
                    log.warning("skipping a gig.matches record that is not a match.found")
            if matches:
                await count_matches(redis, matches)
            progress(len(records))
    finally:
        await redis.aclose()


async def read_between(cfg: Settings, start: Positions, end: Positions) -> AsyncIterator[list[Any]]:
    """The records of each partition from start up to end, in the consumer's batches."""
    wanted = {TopicPartition(*where): stop for where, stop in end.items() if stop > start[where]}
    if not wanted:
        return  # aiokafka's consumer, assigned nothing, raises as it stops
    consumer = AIOKafkaConsumer(
        **client_options(cfg, Principal.GIGSTREAM),
        enable_auto_commit=False,
        max_poll_records=cfg.batch_max,
    )
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for partition in wanted:
            consumer.seek(partition, start[partition.topic, partition.partition])
        while wanted:
            batches = await consumer.getmany(*wanted, timeout_ms=1000)
            records = [r for p, rs in batches.items() for r in rs if r.offset < wanted[p]]
            if records:
                yield records
            for partition, stop in list(wanted.items()):
                if await consumer.position(partition) >= stop:
                    del wanted[partition]
    finally:
        await consumer.stop()
