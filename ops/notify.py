"""`gigstream notify`: the reference consumer that turns gig.notifications into pushes.

Every record ends in one outcome, counted in gigstream_notifications_total:
delivered; duplicate (its notification_id was delivered before); held (not due
yet, or the receiver unavailable: kept in the sorted set gs:notify:held, scored
by when it may go out); failed (refused by the receiver: the reason is kept in
the hash gs:notify:failed); malformed (logged with a one-line reason). The
offsets of a fetched batch are committed only once each of its records has its
outcome written to Redis; Redis being away is waited out meanwhile.

Pushes go out one at a time. A marker gs:notify:delivered:<id> is checked before
a push is sent and written right after the receiver took it, so a
notification_id is delivered once, across restarts. The one window that cannot
be closed: a crash (or a stop while Redis is away) after the receiver accepted a
push and before its marker is written sends that push again on restart: at most
one repeat per crash, with the same Idempotency-Key for the receiver to drop.
A held push is claimed before it is sent by moving its score past a lease, so
two consumers of a group never send it at once and one whose consumer died
comes back when the lease ends.
"""

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple, TypeVar

import msgspec
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ops.kafka_auth import Principal, client_options
from ops.process import log_to_stderr, stop_on_signals
from ops.senders import LogSender, Outcome, Sender, Sent, WebhookSender, one_line, retry_delays
from ops.settings import Settings
from streams import lag
from topics.catalog import NOTIFICATIONS
from topics.fields import epoch_ms
from topics.outputs import NotificationRequested, decode_notification

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], datetime]

PREFIX = "gs:notify"
HELD = f"{PREFIX}:held"  # raw record -> when it may go out (ms): its not_before or a retry
FAILED = f"{PREFIX}:failed"  # notification_id -> why the receiver refused it
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError, BusyLoadingError)
MAX_REDIS_BACKOFF_S = 5.0

# The first due member, its score moved to the lease's end: the caller owns it until then.
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], due[1])
return due[1]
"""


class Handled(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    HELD = "held"
    FAILED = "failed"
    MALFORMED = "malformed"


PUSHES = Counter(
    "gigstream_notifications_total",
    "gig.notifications records by outcome (delivered, duplicate, held, failed, malformed).",
    ["outcome"],
)
for _handled in Handled:
    PUSHES.labels(_handled.value)
DELIVERY_SECONDS = Histogram(
    "gigstream_notification_delivery_seconds",
    "Time to send one push, retries included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HELD_PUSHES = Gauge("gigstream_notifications_held", "Pushes waiting in gs:notify:held.")


class Malformed(NamedTuple):
    reason: str


class Stopped(Exception):
    """A stop came while Redis was away: the record in hand stays uncommitted."""


def delivered_key(notification_id: str) -> str:
    return f"{PREFIX}:delivered:{notification_id}"


def read(raw: bytes) -> NotificationRequested | Malformed:
    """The notification, or why the record is not one (never a copy of the payload)."""
    try:
        return decode_notification(raw)
    except msgspec.DecodeError as error:  # ValidationError included
        return Malformed(one_line(str(error)))


def due_ms(notification: NotificationRequested) -> int:
    # Rounded up: a push never goes out in the millisecond before its not_before.
    return math.ceil(notification.not_before.timestamp() * 1000)


def claim_lease_s(cfg: Settings) -> float:
    """Twice the longest a send can take, so a live consumer never loses its claim."""
    delays = retry_delays(cfg.notify_backoff_s, cfg.notify_retries)
    return 2 * (cfg.notify_timeout_s * (len(delays) + 1) + sum(delays))


def retry_after_s(cfg: Settings) -> float:
    """How long an unavailable receiver is left alone: the backoff's next step."""
    return cfg.notify_backoff_s * 2.0**cfg.notify_retries


def utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        redis: Redis,
        sender: Sender,
        stop: asyncio.Event,
        *,
        delivered_ttl_s: int,
        lease_s: float,
        retry_after_s: float,
        clock: Clock = utcnow,
    ) -> None:
        self.redis = redis
        self.sender = sender
        self.stop = stop
        self.delivered_ttl_s = delivered_ttl_s
        self.lease_ms = int(lease_s * 1000)
        self.retry_after_ms = int(retry_after_s * 1000)
        self.clock = clock
        self.claim = redis.register_script(CLAIM)
        # While the receiver is unavailable, due pushes are held without trying it.
        self.away_until_ms = 0

    async def handle(self, raw: bytes | None, where: str) -> None:
        """One record of the topic; when this returns, its outcome is in Redis."""
        if raw is None:
            return self._malformed("no value", where)
        notification = read(raw)
        if isinstance(notification, Malformed):
            return self._malformed(notification.reason, where)
        if await self._was_delivered(notification):
            return PUSHES.labels(Handled.DUPLICATE).inc()
        at_ms = max(due_ms(notification), self.away_until_ms)
        if at_ms <= epoch_ms(self.clock()):
            return await self._deliver(notification, raw, held=False)
        await self._redis(partial(self.redis.zadd, HELD, {raw: at_ms}, nx=True))
        PUSHES.labels(Handled.HELD).inc()

    async def deliver_due(self, limit: int) -> None:
        """Sends up to limit held pushes whose time has come, one at a time."""
        for _ in range(limit):
            now_ms = epoch_ms(self.clock())
            if self.stop.is_set() or now_ms < self.away_until_ms:
                return
            claim = partial(self.claim, keys=[HELD], args=[now_ms, now_ms + self.lease_ms])
            member: bytes | None = await self._redis(claim)
            if member is None:
                return
            notification = read(member)
            if isinstance(notification, Malformed):
                await self._redis(partial(self.redis.zrem, HELD, member))
                self._malformed(notification.reason, "held")
            elif await self._was_delivered(notification):
                await self._redis(partial(self.redis.zrem, HELD, member))
                PUSHES.labels(Handled.DUPLICATE).inc()
            else:
                await self._deliver(notification, member, held=True)

    async def next_due_in_s(self, longest_s: float) -> float:
        """How long until a held push is due, at most longest_s; updates the held gauge."""
        count, first = await self._redis(self._held_head)
        HELD_PUSHES.set(count)
        if not first:
            return longest_s
        wait_ms = max(float(first[0][1]), self.away_until_ms) - epoch_ms(self.clock())
        return min(max(wait_ms / 1000, 0.0), longest_s)

    async def _held_head(self) -> list[Any]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(HELD)
            pipe.zrange(HELD, 0, 0, withscores=True)
            return list(await pipe.execute())

    async def _deliver(self, notification: NotificationRequested, raw: bytes, held: bool) -> None:
        with DELIVERY_SECONDS.time():
            sent = await self._send(notification)
        nid = notification.notification_id
        if sent.outcome is Outcome.UNAVAILABLE:
            self.away_until_ms = epoch_ms(self.clock()) + self.retry_after_ms
            log.warning("push %s not taken (%s): held for another try", nid, sent.reason)
            # A claimed push gets its new time in place; a fresh one joins only if not there.
            retry = {raw: self.away_until_ms}
            await self._redis(partial(self.redis.zadd, HELD, retry, xx=held, nx=not held))
            PUSHES.labels(Handled.HELD).inc()
            return
        await self._redis(partial(self._record, nid, raw, sent, held))
        if sent.outcome is Outcome.DELIVERED:
            PUSHES.labels(Handled.DELIVERED).inc()
            return
        log.warning("push %s failed for good: %s", nid, sent.reason)
        PUSHES.labels(Handled.FAILED).inc()

    async def _record(self, nid: str, raw: bytes, sent: Sent, held: bool) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if sent.outcome is Outcome.DELIVERED:
                pipe.set(delivered_key(nid), 1, ex=self.delivered_ttl_s)
            else:
                pipe.hset(FAILED, nid, sent.reason)
            if held:
                pipe.zrem(HELD, raw)
            await pipe.execute()

    async def _send(self, notification: NotificationRequested) -> Sent:
        try:
            return await self.sender.send(notification)
        except Exception as error:  # a bug: fail this push rather than stop all the others
            log.exception("sending push %s raised", notification.notification_id)
            return Sent(Outcome.REFUSED, one_line(f"internal error: {type(error).__name__}"))

    async def _was_delivered(self, notification: NotificationRequested) -> bool:
        key = delivered_key(notification.notification_id)
        return bool(await self._redis(partial(self.redis.exists, key)))

    def _malformed(self, reason: str, where: str) -> None:
        log.warning("skipped a malformed record (%s): %s", where, reason)
        PUSHES.labels(Handled.MALFORMED).inc()

    async def _redis(self, call: Callable[[], Awaitable[T]]) -> T:
        backoff = 0.1
        while True:
            try:
                return await call()
            except REDIS_AWAY as error:
                log.warning("Redis unavailable (%s); retrying in %.1fs", error, backoff)
            if await _set_within(self.stop, backoff):
                raise Stopped
            backoff = min(backoff * 2, MAX_REDIS_BACKOFF_S)


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


async def consume(cfg: Settings, notifier: Notifier, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        NOTIFICATIONS.name,
        **client_options(cfg, Principal.GIGSTREAM),
        group_id=f"{cfg.app_id}-notify",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while not stop.is_set():
            await notifier.deliver_due(cfg.batch_max)
            wait_s = await notifier.next_due_in_s(cfg.notify_poll_s)
            batch = await consumer.getmany(timeout_ms=int(wait_s * 1000), max_records=cfg.batch_max)
            await _commit(consumer, await _handle(notifier, batch, stop))
            await _measure_lag(consumer)
    except Stopped:
        pass
    finally:
        await consumer.stop()


async def _handle(
    notifier: Notifier, batch: Batch, stop: asyncio.Event
) -> dict[TopicPartition, int]:
    """The offsets to commit: past every record that has its outcome."""
    done: dict[TopicPartition, int] = {}
    try:
        for partition, records in batch.items():
            for record in records:
                if stop.is_set():
                    return done
                await notifier.handle(
                    record.value, f"partition {partition.partition}, offset {record.offset}"
                )
                done[partition] = record.offset + 1
    except Stopped:
        pass
    return done


async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
    except KafkaError as error:
        # Harmless: the records come again and their markers make them duplicates.
        log.warning("committing offsets failed (%s)", error)


async def _measure_lag(consumer: AIOKafkaConsumer) -> None:
    try:
        lag.export(await lag.aiokafka_lag(consumer, [NOTIFICATIONS.name]))
    except KafkaError as error:  # a partition revoked meanwhile: the next batch measures
        log.debug("measuring the consumer lag failed (%s)", error)


def make_sender(cfg: Settings) -> Sender:
    if cfg.notify_sender == "webhook" and cfg.notify_webhook_url:
        return WebhookSender(
            cfg.notify_webhook_url,
            timeout_s=cfg.notify_timeout_s,
            retries=cfg.notify_retries,
            backoff_s=cfg.notify_backoff_s,
        )
    return LogSender()


async def run(cfg: Settings) -> None:
    stop = stop_on_signals()
    redis: Redis = Redis.from_url(cfg.redis_url)
    sender = make_sender(cfg)
    notifier = Notifier(
        redis,
        sender,
        stop,
        delivered_ttl_s=cfg.notify_delivered_ttl_s,
        lease_s=claim_lease_s(cfg),
        retry_after_s=retry_after_s(cfg),
    )
    try:
        await consume(cfg, notifier, stop)
    finally:
        await sender.close()
        await redis.aclose()
    log.info("stopped")


def serve(cfg: Settings) -> None:
    log_to_stderr(cfg.log_level)
    start_http_server(cfg.notify_metrics_port, addr=cfg.web_host)
    asyncio.run(run(cfg))
