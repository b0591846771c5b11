"""The matcher: takes match requests, finds and scores candidates, sends matches and pushes.

Every worker runs one, and together they are one consumer group of the
request stream (streams.requests), so each request is handled once, by any
worker, whichever partitions it owns. A request is acknowledged only once its
matches and pushes are delivered to Kafka; one left unacknowledged by a worker
that died is claimed by another after CLAIM_IDLE_MS, and handled again: its
pushes come out with the same notification_ids (streams.dispatch), its matches
with the same event_ids.
"""

import asyncio
import hashlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from processors import jobs
from processors.dispatch import DispatchRules, next_tier_at, not_before, notification, tier_size
from processors.ledger import JOB, Ref
from processors.matching import Match, Weights, best_jobs, best_seekers
from processors.travel import TravelModel
from streams import keys, requests
from streams.dispatch import Dispatcher
from streams.match_queries import jobs_near_seeker, seekers_near_job, seekers_now
from streams.metrics import MATCH_REQUESTS, MATCH_SECONDS, MATCHES_SENT, PUSHES_SENT
from streams.pipeline import MAX_BACKOFF_S, REDIS_AWAY
from streams.store import read_states
from topics.outputs import MatchFound, encode_match, encode_notification

log = logging.getLogger(__name__)
GROUP = "matchers"
READ_COUNT = 50
BLOCK_MS = 1000
CLAIM_IDLE_MS = 30_000
CLAIM_EVERY_S = 10.0

# Sends one record (key, value) to an output topic; returns the delivery to await.
Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]
Entry = tuple[bytes, dict[bytes, bytes]]


@dataclass(frozen=True)
class MatchRules:
    model: TravelModel
    weights: Weights = field(default_factory=Weights)
    dispatch: DispatchRules = field(default_factory=DispatchRules)
    top_seekers: int = 20  # matches sent per job request
    top_jobs: int = 10  # matches sent per seeker request


class Matcher:
    def __init__(self, redis: Redis, rules: MatchRules, send_match: Send, send_push: Send) -> None:
        self.redis = redis
        self.rules = rules
        self.send_match = send_match
        self.send_push = send_push
        self.dispatcher = Dispatcher(redis, rules.dispatch)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self._claimed_at = 0.0

    async def run(self) -> None:
        """Handles requests for as long as the worker runs; Redis outages are waited out."""
        backoff = 0.1
        while True:
            try:
                await self.step(BLOCK_MS)
                backoff = 0.1
            except REDIS_AWAY as error:
                log.warning(
                    "Redis unavailable to the matcher (%s); retrying in %.1fs", error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def step(self, block_ms: int | None) -> int:
        """Handles the next requests (after waiting up to block_ms for some); how many."""
        await self._join_group()
        entries = await self._claim_abandoned() or await self._read(block_ms)
        for entry_id, fields in entries:
            await self._handle(entry_id.decode(), fields)
        if entries:
            done = [entry_id for entry_id, _ in entries]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xack(keys.MATCH_REQUESTS, GROUP, *done)
                pipe.xdel(keys.MATCH_REQUESTS, *done)
                await pipe.execute()
        return len(entries)

    async def _join_group(self) -> None:
        try:
            await self.redis.xgroup_create(keys.MATCH_REQUESTS, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _read(self, block_ms: int | None) -> list[Entry]:
        reply = await self.redis.xreadgroup(
            GROUP, self.consumer, {keys.MATCH_REQUESTS: ">"}, count=READ_COUNT, block=block_ms
        )
        return [entry for _, entries in reply or [] for entry in entries]

    async def _claim_abandoned(self) -> list[Entry]:
        """Requests a worker took and never acknowledged (it died), now idle long enough."""
        if time.monotonic() - self._claimed_at < CLAIM_EVERY_S:
            return []
        self._claimed_at = time.monotonic()
        _, claimed, trimmed = await self.redis.xautoclaim(
            keys.MATCH_REQUESTS, GROUP, self.consumer, CLAIM_IDLE_MS, count=READ_COUNT
        )
        if trimmed:
            await self.redis.xack(keys.MATCH_REQUESTS, GROUP, *trimmed)
        return [(entry_id, fields) for entry_id, fields in claimed if fields]

    async def _handle(self, request_id: str, fields: dict[bytes, bytes]) -> None:
        kind, entity_id, widen = requests.parse(fields)
        started = time.perf_counter()
        try:
            if kind == JOB:
                deliveries = await self._job(request_id, entity_id, widen)
            else:
                deliveries = await self._seeker(request_id, entity_id)
            await asyncio.gather(*deliveries)
        except REDIS_AWAY:
            raise
        except Exception:
            # A request is derived, not input: one that makes matching raise is a
            # bug to fix, logged and counted, never retried for ever.
            log.exception("match request %s (%s) failed; dropping it", request_id, kind)
            MATCH_REQUESTS.labels(kind, "failed").inc()
            return
        MATCH_REQUESTS.labels(kind, "done" if deliveries else "stopped").inc()
        MATCH_SECONDS.observe(time.perf_counter() - started)

    async def _job(self, request_id: str, job_id: str, widen: bool) -> list[Awaitable[Any]]:
        now = datetime.now(UTC)
        now_ms = _ms(now)
        states = await read_states(self.redis, [Ref(JOB, job_id)])
        if not states or not jobs.is_open(states[0][1], now_ms):
            await self.dispatcher.stop(self.redis, job_id)
            return []
        state: jobs.JobState = states[0][1]
        rules = self.rules
        candidates = await seekers_near_job(self.redis, rules.model, state.job)
        found = best_seekers(job_id, state.job, candidates, now_ms, rules.model, rules.weights)
        deliveries = []
        if not widen:
            deliveries += [
                await self._match(request_id, m, now) for m in found[: rules.top_seekers]
            ]
        opted_in = {seeker.seeker_id for seeker in candidates if seeker.profile.push_opt_in}
        reachable = {m.seeker_id: m for m in found if m.seeker_id in opted_in}
        at = not_before(now, rules.dispatch)
        tier = await self.dispatcher.decide(
            request_id,
            job_id,
            widen,
            tier_size(jobs.remaining_headcount(state), rules.dispatch),
            list(reachable),
            _ms(at),
            _ms(next_tier_at(now, rules.dispatch)),
        )
        for seeker_id in tier.seeker_ids:
            # One chosen before a crash may have withdrawn or moved away since: no push then.
            if seeker_id in reachable:
                push = notification(state.job, reachable[seeker_id], at, rules.dispatch)
                deliveries.append(
                    await self.send_push(seeker_id.encode(), encode_notification(push, now))
                )
                PUSHES_SENT.inc()
        return deliveries

    async def _seeker(self, request_id: str, seeker_id: str) -> list[Awaitable[Any]]:
        now = datetime.now(UTC)
        now_ms = _ms(now)
        found = await seekers_now(self.redis, [seeker_id])
        if not found:
            return []
        rules = self.rules
        candidates = await jobs_near_seeker(self.redis, rules.model, found[0], now_ms)
        best = best_jobs(found[0], candidates, now_ms, rules.model, rules.weights)
        return [await self._match(request_id, m, now) for m in best[: rules.top_jobs]]

    async def _match(self, request_id: str, found: Match, now: datetime) -> Awaitable[Any]:
        record = MatchFound(
            found.job_id, found.seeker_id, found.score, found.travel_minutes, found.reasons
        )
        event_id = _match_event_id(request_id, found)
        MATCHES_SENT.inc()
        return await self.send_match(found.seeker_id.encode(), encode_match(event_id, record, now))


def _match_event_id(request_id: str, found: Match) -> str:
    """The same for the same request and pair, so a request handled twice is recognisable."""
    text = f"{request_id}\x1f{found.job_id}\x1f{found.seeker_id}".encode()
    return "m-" + hashlib.blake2b(text, digest_size=16).hexdigest()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
