"""One batch of raw messages from an input topic: validate, apply, dead-letter.

Every message ends in exactly one outcome (applied, duplicate, stale, pending,
rejected) and each rejected one is sent to gig.deadletter before the batch's
offsets are committed, unless a rebuild replays it (it was sent the first
time). Redis being away is waited out, never dead-lettered; a message that
makes processing raise is isolated and dead-lettered alone.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiokafka.errors import KafkaError
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from processors.ledger import Applied, Incoming, Origin
from processors.outcome import Outcome, Result
from streams.metrics import (
    BATCH_SECONDS,
    DEADLETTERS,
    EVENT_LATENCY,
    EVENTS,
    INTERNAL_ERRORS,
    LATE_EVENTS,
)
from streams.rejections import reason_of
from streams.store import Store
from topics.catalog import BY_NAME
from topics.deadletter import deadletter_record
from topics.envelope import Event, Rejection, decode
from topics.fields import epoch_ms

log = logging.getLogger(__name__)

# Sends one dead-letter record (key, value) and returns the delivery to await.
DeadletterSend = Callable[[bytes | None, bytes], Awaitable[Awaitable[Any]]]
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError, BusyLoadingError)
MAX_BACKOFF_S = 5.0


class Verdict(NamedTuple):
    """The final word on one message; late when it had waited for its referent."""

    origin: Origin
    result: Result
    late: bool = False


class Pipeline:
    def __init__(
        self,
        store: Store,
        send_deadletter: DeadletterSend,
        replay_until: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        self.store = store
        self.send_deadletter = send_deadletter
        # A rebuild's (topic, partition) -> the end offset when it began: what lies
        # before it was processed once already, so it sends nothing out again.
        self.replay_until = replay_until or {}

    async def process(self, messages: Sequence[Any]) -> None:
        """Messages of any input topics, each with topic, partition, offset, key, value and
        timestamp (see _observe_latency)."""
        now = datetime.now(UTC)
        now_ms = epoch_ms(now)
        with BATCH_SECONDS.time():
            incoming: list[Incoming] = []
            refused: list[Verdict] = []
            for message in messages:
                origin = Origin(
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.value or b"",
                    now_ms,
                    self._replayed(message.topic, message.partition, message.offset),
                )
                decoded = self._decode(origin, now)
                if isinstance(decoded, Rejection):
                    refused.append(Verdict(origin, Result(Outcome.REJECTED, decoded.reason)))
                else:
                    incoming.append(Incoming(decoded, origin))
            applied = await self._apply(incoming, now_ms) if incoming else []
            _observe_latency(messages, time.time())
            verdicts = [Verdict(a.incoming.origin, a.result, a.late) for a in applied]
            await self._account([*refused, *verdicts], now)

    def _replayed(self, topic: str, partition: int, offset: int) -> bool:
        return offset < self.replay_until.get((topic, partition), 0)

    def _decode(self, origin: Origin, now: datetime) -> Event | Rejection:
        """The message decoded or refused; a decoder that raises (a bug) refuses it too."""
        try:
            return decode(BY_NAME[origin.topic], origin.key, origin.raw, now, self.store.limits)
        except Exception as error:
            log.exception("decoding a message raised; dead-lettering it")
            INTERNAL_ERRORS.labels(origin.topic).inc()
            return Rejection(f"internal error while decoding: {type(error).__name__}"[:300])

    async def expire_pending(self, now: datetime) -> None:
        """Dead-letter the events whose referent did not arrive within the retention."""
        for ref, waiting in await self.store.expired_pending(epoch_ms(now)):
            hours = self.store.pending_ttl_ms / 3_600_000
            reason = (
                f"{ref.kind} {ref.id!r} did not arrive within {hours:g}h:"
                " publish it, then this event again"
            )
            rejected = Result(Outcome.REJECTED, reason)
            await self._account([Verdict(o, rejected, late=True) for o in waiting.values()], now)
            await self.store.forget_pending(ref, list(waiting), epoch_ms(now))

    async def _apply(self, batch: list[Incoming], now_ms: int) -> list[Applied]:
        try:
            return await self._apply_waiting_out_redis(batch, now_ms)
        except Exception as error:
            if len(batch) > 1:
                # Decide each message alone, so one bad apple spoils nothing else.
                return [a for one in batch for a in await self._apply([one], now_ms)]
            log.exception("processing a message raised; dead-lettering it")
            INTERNAL_ERRORS.labels(batch[0].origin.topic).inc()
            reason = f"internal error while applying: {type(error).__name__}: {error}"
            return [Applied(batch[0], Result(Outcome.REJECTED, reason[:300]))]

    async def _apply_waiting_out_redis(self, batch: list[Incoming], now_ms: int) -> list[Applied]:
        backoff = 0.1
        while True:
            try:
                return await self.store.apply(batch, now_ms)
            except REDIS_AWAY as error:
                log.warning("Redis unavailable (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _account(self, verdicts: list[Verdict], now: datetime) -> None:
        for verdict in verdicts:
            counter = LATE_EVENTS if verdict.late else EVENTS
            counter.labels(verdict.origin.topic, verdict.result.outcome.value).inc()
        await self._deadletter(verdicts, now)

    async def _deadletter(self, verdicts: list[Verdict], now: datetime) -> None:
        """Sends the batch's dead letters, waiting out a broker that refuses them: the batch
        is acknowledged after this, and a dead letter lost then would be lost for good."""
        rejected = [
            v for v in verdicts if v.result.outcome is Outcome.REJECTED and not v.origin.replayed
        ]
        letters = [(v.origin.key, self._letter(v, now)) for v in rejected]
        backoff = 0.1
        while letters := await self._undelivered(letters):
            log.warning("%d dead letters not delivered; retrying in %.1fs", len(letters), backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        for verdict in rejected:
            DEADLETTERS.labels(verdict.origin.topic, reason_of(verdict.result.reason)).inc()

    def _letter(self, verdict: Verdict, now: datetime) -> bytes:
        origin = verdict.origin
        return deadletter_record(
            origin.topic, origin.partition, origin.offset, origin.raw, verdict.result.reason, now
        )

    async def _undelivered(
        self, letters: list[tuple[bytes | None, bytes]]
    ) -> list[tuple[bytes | None, bytes]]:
        deliveries = []
        for key, record in letters:
            try:
                deliveries.append(await self.send_deadletter(key, record))
            except KafkaError as error:  # the producer refused it outright
                deliveries.append(_failed(error))
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        undelivered = []
        for letter, result in zip(letters, results, strict=True):
            if isinstance(result, KafkaError):
                undelivered.append(letter)
            elif isinstance(result, BaseException):
                raise result  # a bug, not the broker
        return undelivered


async def _failed(error: KafkaError) -> None:
    raise error


def _observe_latency(messages: Sequence[Any], written_s: float) -> None:
    """gigstream_event_latency_seconds of each message with a timestamp: Faust gives it in
    seconds (a float), aiokafka's records (a rebuild's) in milliseconds (an int)."""
    for message in messages:
        stamp = message.timestamp
        if stamp is None or stamp < 0:
            continue
        sent_s = stamp / 1000 if isinstance(stamp, int) else stamp
        EVENT_LATENCY.observe(max(0.0, written_s - sent_s))
