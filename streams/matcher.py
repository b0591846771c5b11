"""The matcher: takes match requests, finds and scores candidates, sends matches and pushes.

Every matcher process (streams.match_worker) runs one, and together they are
one consumer group of the request stream (streams.requests), so each request
is handled once, by any of them. A request is acknowledged only once its
matches and pushes are delivered to Kafka; one left unacknowledged by a matcher
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
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from processors.cards import JobCard
from processors.dispatch import (
    DispatchRules,
    next_tier_at,
    not_before,
    notification,
    shortlist,
    tier_size,
)
from processors.ledger import JOB
from processors.matching import Match, SeekerNow, Weights, best_jobs, best_seekers, explain
from processors.travel import TravelModel
from streams import keys, requests
from streams.dispatch import Ask, Dispatcher
from streams.match_queries import jobs_near_seekers, open_jobs, seekers_near_jobs, seekers_now
from streams.metrics import MATCH_REQUESTS, MATCH_SECONDS, MATCHES_SENT, PUSHES_SENT
from streams.pipeline import MAX_BACKOFF_S, REDIS_AWAY
from streams.tallies import count_matches
from topics.fields import epoch_ms
from topics.outputs import MatchFound, encode_match, encode_notification, matched_pair

log = logging.getLogger(__name__)
GROUP = "matchers"
READ_COUNT = 200
BLOCK_MS = 1000
CLAIM_IDLE_MS = 30_000
CLAIM_EVERY_S = 10.0

# Sends one record (key, value) to an output topic; returns the delivery to await.
Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]
Entry = tuple[bytes, dict[bytes, bytes]]
Output = tuple[Send, bytes, bytes]  # where to, key, value


class Handled(StrEnum):
    """What became of a request, in gigstream_match_requests_total."""

    DONE = "done"  # its job or seeker was matched
    STOPPED = "stopped"  # its job is no longer open, or its seeker no longer active
    FAILED = "failed"  # matching it raised (a bug): it was dropped


@dataclass(frozen=True)
class Request:
    request_id: str  # its entry's id in the request stream
    kind: str
    entity_id: str
    widen: bool


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
        self._in_group = False
        self._unacknowledged = True  # a restart under the same name finds its own first

    async def run(self, running: Callable[[], bool]) -> None:
        """Handles requests while running(); Redis and Kafka troubles are waited out."""
        backoff = 0.1
        while running():
            try:
                await self.step(BLOCK_MS)
                backoff = 0.1
            except Exception as error:
                # Nothing is acknowledged: the same requests are taken again.
                self._unacknowledged = True
                self._in_group = False
                if not running():
                    return
                log.warning("matching paused (%r); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def step(self, block_ms: int | None) -> int:
        """Handles the next requests (after waiting up to block_ms for some); how many.

        Their matches and pushes are delivered to Kafka before they are acknowledged.
        """
        await self._join_group()
        entries = await self._claim_abandoned() or await self._read(block_ms)
        batch = [
            Request(entry_id.decode(), *requests.parse(fields)) for entry_id, fields in entries
        ]
        outputs = await self._handle(batch) if batch else []
        deliveries = [await send(key, value) for send, key, value in outputs]
        await asyncio.gather(*deliveries)
        for send, _, _ in outputs:
            (PUSHES_SENT if send is self.send_push else MATCHES_SENT).inc()
        matched = [matched_pair(value) for send, _, value in outputs if send is self.send_match]
        if matched:
            await count_matches(self.redis, matched)
        if entries:
            done = [entry_id for entry_id, _ in entries]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xack(keys.MATCH_REQUESTS, GROUP, *done)
                pipe.xdel(keys.MATCH_REQUESTS, *done)
                await pipe.execute()
        return len(entries)

    async def _join_group(self) -> None:
        if self._in_group:
            return
        try:
            await self.redis.xgroup_create(keys.MATCH_REQUESTS, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._in_group = True

    async def _read(self, block_ms: int | None) -> list[Entry]:
        """This matcher's own unacknowledged requests after a failure, else new ones."""
        if self._unacknowledged:
            own = await self._read_from("0", None)
            if own:
                return own
            self._unacknowledged = False
        return await self._read_from(">", block_ms)

    async def _read_from(self, after: str, block_ms: int | None) -> list[Entry]:
        reply = await self.redis.xreadgroup(
            GROUP, self.consumer, {keys.MATCH_REQUESTS: after}, count=READ_COUNT, block=block_ms
        )
        return [entry for _, entries in reply or [] for entry in entries if entry[1]]

    async def _claim_abandoned(self) -> list[Entry]:
        """Requests a matcher took and never acknowledged (it died), now idle long enough."""
        if time.monotonic() - self._claimed_at < CLAIM_EVERY_S:
            return []
        self._claimed_at = time.monotonic()
        _, claimed, trimmed = await self.redis.xautoclaim(
            keys.MATCH_REQUESTS, GROUP, self.consumer, CLAIM_IDLE_MS, count=READ_COUNT
        )
        if trimmed:
            await self.redis.xack(keys.MATCH_REQUESTS, GROUP, *trimmed)
        return [(entry_id, fields) for entry_id, fields in claimed if fields]

    async def _handle(self, batch: list[Request]) -> list[Output]:
        """The records a batch of requests sends; a request that makes matching raise (a bug,
        logged and counted) sends none and spoils nothing else: a request is derived data,
        not input, so it is never retried for ever."""
        try:
            return await self._outputs(batch)
        except REDIS_AWAY:
            raise
        except Exception:
            if len(batch) > 1:
                return [out for one in batch for out in await self._handle([one])]
            log.exception("match request %s failed; dropping it", batch[0].request_id)
            MATCH_REQUESTS.labels(batch[0].kind, Handled.FAILED).inc()
            return []

    async def _outputs(self, batch: list[Request]) -> list[Output]:
        started = time.perf_counter()
        now = datetime.now(UTC)
        now_ms = epoch_ms(now)
        job_asks = [r for r in batch if r.kind == JOB]
        seeker_asks = [r for r in batch if r.kind != JOB]
        open_cards, seekers = await asyncio.gather(
            open_jobs(self.redis, list(dict.fromkeys(r.entity_id for r in job_asks)), now_ms),
            seekers_now(self.redis, list(dict.fromkeys(r.entity_id for r in seeker_asks))),
        )
        jobs_now = dict(open_cards)
        closed = [r.entity_id for r in job_asks if r.entity_id not in jobs_now]
        await self.dispatcher.stop(self.redis, closed)
        job_asks = [r for r in job_asks if r.entity_id in jobs_now]
        rules = self.rules
        for_jobs, for_seekers = await asyncio.gather(
            seekers_near_jobs(self.redis, rules.model, [jobs_now[r.entity_id] for r in job_asks]),
            jobs_near_seekers(self.redis, rules.model, seekers, now_ms),
        )
        outputs = await self._dispatch(job_asks, jobs_now, for_jobs, now)
        request_of = {r.entity_id: r.request_id for r in seeker_asks}
        for seeker, candidates in zip(seekers, for_seekers, strict=True):
            best = best_jobs(seeker, candidates, now_ms, rules.model, rules.weights)
            cards = dict(candidates)
            outputs += [
                self._match(request_of[seeker.seeker_id], m, cards[m.job_id], seeker, now_ms)
                for m in best[: rules.top_jobs]
            ]
        matched = {r.entity_id for r in job_asks} | {s.seeker_id for s in seekers}
        for request in batch:
            outcome = Handled.DONE if request.entity_id in matched else Handled.STOPPED
            MATCH_REQUESTS.labels(request.kind, outcome).inc()
        MATCH_SECONDS.observe(time.perf_counter() - started)
        return outputs

    async def _dispatch(
        self,
        asks: list[Request],
        cards: dict[str, JobCard],
        candidates: list[list[SeekerNow]],
        now: datetime,
    ) -> list[Output]:
        """Matches for each job request, and its dispatch tier's pushes."""
        rules, now_ms = self.rules, epoch_ms(now)
        at = not_before(now, rules.dispatch)
        next_at = next_tier_at(now, rules.dispatch)
        outputs: list[Output] = []
        turns, reachable_of, people = [], [], []
        for request, near in zip(asks, candidates, strict=True):
            job = cards[request.entity_id]
            who = {seeker.seeker_id: seeker for seeker in near}
            found = best_seekers(request.entity_id, job, near, now_ms, rules.model, rules.weights)
            if not request.widen:
                outputs += [
                    self._match(request.request_id, m, job, who[m.seeker_id], now_ms)
                    for m in found[: rules.top_seekers]
                ]
            reachable = {m.seeker_id: m for m in found if who[m.seeker_id].card.push_opt_in}
            reachable_of.append(reachable)
            people.append(who)
            size = tier_size(job.remaining_headcount, rules.dispatch)
            turns.append(
                Ask(
                    request.request_id,
                    request.entity_id,
                    request.widen,
                    size,
                    shortlist(list(reachable), size, rules.dispatch),
                    epoch_ms(at),
                    epoch_ms(next_at),
                )
            )
        tiers = await self.dispatcher.decide(self.redis, turns)
        for request, reachable, who, tier in zip(asks, reachable_of, people, tiers, strict=True):
            job = cards[request.entity_id]
            for seeker_id in tier.seeker_ids:
                # One chosen before a crash may have withdrawn or moved away since: no push then.
                if seeker_id not in reachable:
                    continue
                pair = reachable[seeker_id]
                why = explain(job, who[seeker_id].card, pair, now_ms)
                push = notification(job, pair, why, at, rules.dispatch)
                outputs.append((self.send_push, seeker_id.encode(), encode_notification(push, now)))
        return outputs

    def _match(
        self, request_id: str, found: Match, job: JobCard, seeker: SeekerNow, now_ms: int
    ) -> Output:
        why = explain(job, seeker.card, found, now_ms)
        record = MatchFound(found.job_id, found.seeker_id, found.score, found.travel_minutes, why)
        event_id = _match_event_id(request_id, found)
        at = datetime.fromtimestamp(now_ms / 1000, UTC)
        return (self.send_match, found.seeker_id.encode(), encode_match(event_id, record, at))


def _match_event_id(request_id: str, found: Match) -> str:
    """The same for the same request and pair, so a request handled twice is recognisable."""
    text = f"{request_id}\x1f{found.job_id}\x1f{found.seeker_id}".encode()
    return "m-" + hashlib.blake2b(text, digest_size=16).hexdigest()
