"""`gigstream matcher`: a matcher process, one of the consumer group of the match requests.

Matching runs beside the Faust workers, not inside them: on a worker's event
loop every round trip of a request batch waited behind the agent's batches and
the coverage feed, and matching, not ingest, became the limit (measured: tens
of requests a second at 200 events/s). A matcher has a loop of its own, sends
with a plain aiokafka producer, and widens due dispatch tiers each second;
any number of matchers can run, on any machine, whatever the partitions.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from prometheus_client import start_http_server
from redis.asyncio import Redis

from ops.kafka_auth import Principal, client_options
from ops.process import log_to_stderr, stop_on_signals
from ops.settings import Settings
from processors.ledger import JOB, SEEKER
from streams import match_backlog
from streams.matcher import Handled, Matcher, MatchRules
from streams.metrics import MATCH_REQUESTS
from topics.catalog import MATCHES, NOTIFICATIONS

log = logging.getLogger(__name__)
WIDEN_EVERY_S = 1.0


def rules_of(cfg: Settings) -> MatchRules:
    return MatchRules(
        cfg.travel_model(),
        cfg.match_weights(),
        cfg.dispatch_rules(),
        cfg.match_top_seekers,
        cfg.match_top_jobs,
    )


async def run(cfg: Settings) -> None:
    stop = stop_on_signals()
    redis = Redis.from_url(cfg.redis_url)
    producer = AIOKafkaProducer(
        **client_options(cfg, Principal.GIGSTREAM),
        acks="all",
        enable_idempotence=True,
        linger_ms=int(cfg.producer_linger_s * 1000),
        max_batch_size=256 * 1024,
    )
    await producer.start()

    async def send_match(key: bytes, value: bytes) -> Any:
        return await producer.send(MATCHES.name, value=value, key=key)

    async def send_push(key: bytes, value: bytes) -> Any:
        return await producer.send(NOTIFICATIONS.name, value=value, key=key)

    matcher = Matcher(redis, rules_of(cfg), send_match, send_push)
    widening = asyncio.create_task(_widen(matcher, stop))
    measuring = asyncio.create_task(_measure_backlog(redis, cfg.lag_interval_s, stop))
    try:
        await matcher.run(lambda: not stop.is_set())
    finally:
        stop.set()
        await widening
        await measuring
        await producer.stop()
        await redis.aclose()
    log.info("stopped")


async def _widen(matcher: Matcher, stop: asyncio.Event) -> None:
    """Requests for the jobs whose next dispatch tier is due, each second."""
    while not stop.is_set():
        try:
            await matcher.dispatcher.widen_due(time.time_ns() // 1_000_000)
        except Exception as error:
            log.warning("widening due tiers failed (%r); the next tick retries", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WIDEN_EVERY_S)


async def _measure_backlog(redis: Redis, every_s: float, stop: asyncio.Event) -> None:
    """gigstream_match_requests_backlog, every every_s."""
    while not stop.is_set():
        try:
            match_backlog.export(await match_backlog.backlog(redis))
        except Exception as error:
            log.warning("measuring the request backlog failed (%r); the next tick retries", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


def serve(cfg: Settings) -> None:
    log_to_stderr(cfg.log_level)
    # Every kind's outcomes at 0 from the start, so the failures' rate has a series.
    for kind in (JOB, SEEKER):
        for outcome in Handled:
            MATCH_REQUESTS.labels(kind, outcome)
    start_http_server(cfg.matcher_metrics_port, addr=cfg.web_host)
    asyncio.run(run(cfg))
