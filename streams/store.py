"""The live state in Redis: load what a batch touches, apply it, write it back atomically.

One optimistic transaction per batch: WATCH every key the batch reads, read
them in one pipeline, decide every transition in processors.ledger, then write
states, indexes, waiting events and event_id markers in one MULTI/EXEC. If
another worker or agent changed any of those keys meanwhile, EXEC fails and
the batch is decided again on fresh state, so last-writer-wins and the
duplicate check hold across workers, not only within one.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from processors import applications, checkins, jobs, markets, seekers
from processors.ledger import (
    APPLICATION,
    CHECKIN,
    JOB,
    MARKET,
    SEEKER,
    STATE_TYPES,
    Applied,
    Incoming,
    Origin,
    Ref,
    Rules,
    World,
    apply_batch,
    refs_of,
    unloaded_refs,
)
from streams import keys
from streams.metrics import CONFLICTS
from topics.catalog import BY_NAME
from topics.envelope import Event, Limits, decode

SWEEP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
return #due
"""
FORGET_PENDING = """
if #ARGV > 2 then redis.call('HDEL', KEYS[1], unpack(ARGV, 3)) end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
end
"""


class Store:
    def __init__(
        self, redis: Redis, rules: Rules, limits: Limits, seen_ttl_s: int, pending_ttl_ms: int
    ) -> None:
        self.redis = redis
        self.rules = rules
        self.limits = limits
        self.seen_ttl_s = seen_ttl_s
        self.pending_ttl_ms = pending_ttl_ms
        self._sweep_due = redis.register_script(SWEEP_DUE)
        self._forget_pending = redis.register_script(FORGET_PENDING)

    async def apply(self, batch: Sequence[Incoming], now_ms: int) -> list[Applied]:
        refs = refs_of(incoming.event for incoming in batch)
        while True:
            try:
                return await self._attempt(batch, refs, now_ms)
            except WatchError:
                CONFLICTS.inc()

    async def sweep_expired(self, now_ms: int, limit: int = 1000) -> int:
        """Drop jobs and check-ins whose deadline passed from the geo indexes."""
        swept = 0
        for due, geo in ((keys.DUE_JOBS, keys.GEO_JOBS), (keys.DUE_CHECKINS, keys.GEO_CHECKINS)):
            swept += int(await self._sweep_due(keys=[due, geo], args=[now_ms, limit]))
        return swept

    async def expired_pending(self, now_ms: int) -> list[tuple[Ref, dict[str, Origin]]]:
        """Referents still missing when their first waiting event's wait ran out."""
        members = await self.redis.zrangebyscore(keys.DUE_PENDING, "-inf", now_ms)
        expired = []
        for member in members:
            kind, _, entity_id = member.decode().partition(":")
            ref = Ref(kind, entity_id)
            waiting = await self.redis.hgetall(keys.pending(ref))
            origins = {
                event_id.decode(): msgspec.json.decode(blob, type=Origin)
                for event_id, blob in waiting.items()
            }
            expired.append((ref, origins))
        return expired

    async def forget_pending(self, ref: Ref, event_ids: list[str], now_ms: int) -> None:
        """Drop dead-lettered waiting events; later arrivals keep waiting, afresh."""
        await self._forget_pending(
            keys=[keys.pending(ref), keys.DUE_PENDING],
            args=[keys.pending_member(ref), now_ms + self.pending_ttl_ms, *event_ids],
        )

    async def _attempt(
        self, batch: Sequence[Incoming], refs: set[Ref], now_ms: int
    ) -> list[Applied]:
        async with self.redis.pipeline(transaction=True) as tx:
            seen_keys = [keys.seen(incoming.event.event_id) for incoming in batch]
            await tx.watch(*seen_keys)
            flags = await self.redis.mget(seen_keys)
            seen = {i.event.event_id for i, flag in zip(batch, flags, strict=True) if flag}
            world = World({}, {}, seen)
            while refs:
                await tx.watch(*self._watched(refs))
                await self._load(world, refs)
                refs = unloaded_refs(world)
            applied = apply_batch(world, batch, self.rules)
            tx.multi()
            self._write(tx, world, now_ms)
            await tx.execute()
        return applied

    @staticmethod
    def _watched(refs: Iterable[Ref]) -> list[str]:
        return [key for ref in refs for key in (keys.state(ref), keys.pending(ref))]

    async def _load(self, world: World, refs: set[Ref]) -> None:
        order = list(refs)
        async with self.redis.pipeline(transaction=False) as reads:
            for ref in order:
                reads.hgetall(keys.state(ref))
                reads.hvals(keys.pending(ref))
            replies = await reads.execute()
        for index, ref in enumerate(order):
            fields, waiting = replies[2 * index], replies[2 * index + 1]
            world.states[ref] = decode_state(ref.kind, fields) if fields else None
            if waiting:
                world.pending[ref] = [self._incoming(blob) for blob in waiting]

    def _incoming(self, blob: bytes) -> Incoming:
        """A waiting event, decoded again exactly as when it first arrived."""
        origin = msgspec.json.decode(blob, type=Origin)
        received = datetime.fromtimestamp(origin.received_ms / 1000, UTC)
        event = decode(BY_NAME[origin.topic], origin.key, origin.raw, received, self.limits)
        if not isinstance(event, Event):
            raise ValueError(f"a waiting event no longer decodes: {event.reason}")
        return Incoming(event, origin)

    def _write(self, tx: Pipeline, world: World, now_ms: int) -> None:
        for ref in world.changed:
            state = world.states[ref]
            tx.hset(keys.state(ref), mapping=encode_state(state))
            write_index(tx, ref, state, now_ms)
        for ref in world.pending_changed:
            self._write_pending(tx, ref, world.pending.get(ref, []))
        for event_id in world.new_seen:
            tx.set(keys.seen(event_id), 1, ex=self.seen_ttl_s)

    def _write_pending(self, tx: Pipeline, ref: Ref, waiting: list[Incoming]) -> None:
        tx.delete(keys.pending(ref))
        if not waiting:
            tx.zrem(keys.DUE_PENDING, keys.pending_member(ref))
            return
        tx.hset(
            keys.pending(ref),
            mapping={i.event.event_id: msgspec.json.encode(i.origin) for i in waiting},
        )
        oldest = min(i.origin.received_ms for i in waiting)
        tx.zadd(keys.DUE_PENDING, {keys.pending_member(ref): oldest + self.pending_ttl_ms})


def encode_state(state: msgspec.Struct) -> dict[str, bytes]:
    """One hash field per state field, each holding that field's JSON."""
    return {name: orjson.dumps(value) for name, value in msgspec.to_builtins(state).items()}


def decode_state(kind: str, fields: dict[bytes, bytes]) -> Any:
    document = b"{" + b",".join(b'"%s":%s' % item for item in fields.items()) + b"}"
    return msgspec.json.decode(document, type=STATE_TYPES[kind])


def write_index(tx: Pipeline, ref: Ref, state: Any, now_ms: int) -> None:
    """Keep the global indexes in step with one entity's new state."""
    if ref.kind == JOB:
        _index_job(tx, ref.id, state, now_ms)
    elif ref.kind == SEEKER:
        _place(tx, keys.GEO_SEEKERS, ref.id, state.profile.home, seekers.is_active(state))
    elif ref.kind == CHECKIN:
        present = checkins.is_present(state, now_ms)
        _place(tx, keys.GEO_CHECKINS, ref.id, state.place, present)
        _due(tx, keys.DUE_CHECKINS, ref.id, state.until_ms, present)
    elif ref.kind == MARKET:
        _index_market(tx, ref.id, state)
    elif ref.kind == APPLICATION:
        _index_application(tx, ref.id, state)


def _index_job(tx: Pipeline, job_id: str, state: jobs.JobState, now_ms: int) -> None:
    is_open = jobs.is_open(state, now_ms)
    _place(tx, keys.GEO_JOBS, job_id, state.job.location, is_open)
    _due(tx, keys.DUE_JOBS, job_id, jobs.deadline_ms(state), is_open)


def _index_market(tx: Pipeline, market_id: str, state: markets.MarketState) -> None:
    active = markets.is_active(state)
    is_station = state.market.kind == "station"
    _place(tx, keys.GEO_STATIONS, market_id, state.market.location, active and is_station)
    _place(tx, keys.GEO_MARKETS, market_id, state.market.location, active and not is_station)


def _index_application(
    tx: Pipeline, application_id: str, state: applications.ApplicationState
) -> None:
    key = keys.job_applications(state.job_id)
    if state.withdrawn:
        tx.srem(key, application_id)
    else:
        tx.sadd(key, application_id)


def _place(tx: Pipeline, geo: str, member: str, point: Any, present: bool) -> None:
    if present and point is not None:
        tx.geoadd(geo, (point.lon, point.lat, member))
    else:
        tx.zrem(geo, member)


def _due(tx: Pipeline, due: str, member: str, at_ms: int | None, present: bool) -> None:
    if present and at_ms is not None:
        tx.zadd(due, {member: at_ms})
    else:
        tx.zrem(due, member)
