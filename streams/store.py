"""The live state in Redis: load what a batch touches, apply it, write it back atomically.

One optimistic transaction per batch, in two Redis commands: a read script
returns every state and pending hash the batch touches (each with a version
field `_v`) and which event_ids were seen; processors.ledger decides every
transition; a write script checks that no version changed and no marker
appeared meanwhile and then, atomically, applies every write of the batch.
If another worker or agent got there first, the batch is decided again on
fresh state, so last-writer-wins and the duplicate check hold across workers.
Two commands a batch instead of several per event: the per-command cost of
the client, not Redis, was what limited throughput. The scripts and the plan
are streams.plan's; the indexes, cards and change feed that follow a state
are streams.indexes'; the figures counted in the same write, streams.tallies'.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from redis.asyncio import Redis

from processors.figures.tally import (
    PAIR,
    Was,
    follows,
    places_moved,
    recount_job,
    recount_pair,
    recount_seeker,
    redistricted,
    take_facts,
    total,
)
from processors.ledger import (
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
)
from streams import changes, keys, requests, tallies
from streams.indexes import CARDS, INDEXED, card_blob, write_card, write_index
from streams.metrics import CONFLICTS
from streams.plan import MAX_ATTEMPTS, READ, VERSION, WRITE, Plan, next_version, pairs
from streams.tallies import Tally
from topics.catalog import BY_NAME
from topics.envelope import Event, Limits, decode

# KEYS: the deadlines, the geo index, the cards; with a change feed (KEYS[4])
# each drop is told there too, by its entry's fields after the member's
# (ARGV[4] MAXLEN, ARGV[5] the id field, ARGV[6..] the rest). ARGV[3] names the
# state hashes' prefix when the members' occupation indexes (listed in each
# hash's INDEXED field) must be left too, else ''.
SWEEP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
  if ARGV[3] ~= '' then
    local key = ARGV[3] .. member
    local indexed = redis.call('HGET', key, '_in')
    if indexed then
      for _, index in ipairs(cjson.decode(indexed)) do redis.call('ZREM', index, member) end
      redis.call('HDEL', key, '_in')
      redis.call('HINCRBY', key, '_v', 1)
    end
  end
  if KEYS[4] then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', ARGV[5], member, unpack(ARGV, 6))
  end
end
return #due
"""
FORGET_PENDING = """
if #ARGV > 2 then redis.call('HDEL', KEYS[1], unpack(ARGV, 3)) end
if redis.call('HLEN', KEYS[1]) <= 1 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HINCRBY', KEYS[1], '_v', 1)
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
        self._read = redis.register_script(READ)
        self._write_plan = redis.register_script(WRITE)
        self._sweep_due = redis.register_script(SWEEP_DUE)
        self._forget_pending = redis.register_script(FORGET_PENDING)
        self._look_up = redis.register_script(tallies.LOOKUP_DISTRICTS)

    async def apply(
        self, batch: Sequence[Incoming], now_ms: int, recount: Sequence[Ref] = ()
    ) -> list[Applied]:
        """Applies the batch; recount names entities to count again in the figures although
        the batch may not touch them (their due time passed)."""
        state_refs, tally_refs = tallies.refs_for(incoming.event for incoming in batch)
        state_refs |= {ref for ref in recount if ref.kind != PAIR}
        tally_refs |= set(recount)
        for _ in range(MAX_ATTEMPTS):
            applied = await self._attempt(batch, state_refs, tally_refs, set(recount), now_ms)
            if applied is not None:
                return applied
            CONFLICTS.inc()
        raise RuntimeError(f"state kept changing under the batch ({MAX_ATTEMPTS} attempts)")

    async def sweep_expired(self, now_ms: int, limit: int = 1000) -> int:
        """Drop jobs and check-ins whose deadline passed from the geo indexes.

        A dropped job goes from the circle's coverage too; check-ins never count there.
        """
        job_prefix = keys.state(Ref(JOB, ""))
        feed = [changes.MAXLEN, changes.ID, *changes.swept_job()]
        swept = int(
            await self._sweep_due(
                keys=[keys.DUE_JOBS, keys.GEO_JOBS, keys.JOB_CARDS, keys.CHANGES],
                args=[now_ms, limit, job_prefix, *feed],
            )
        )
        checkins_due = [keys.DUE_CHECKINS, keys.GEO_CHECKINS, keys.CHECKIN_CARDS]
        return swept + int(await self._sweep_due(keys=checkins_due, args=[now_ms, limit, ""]))

    async def recount_due(self, now_ms: int, limit: int = 500) -> int:
        """Counts again the jobs and seekers whose figures changed with time alone: a job's
        deadline, a seeker's active day turning 31 days old."""
        members = await self.redis.zrangebyscore(keys.DUE_FIGURES, "-inf", now_ms, 0, limit)
        if members:
            await self.apply([], now_ms, [keys.ref_of(member) for member in members])
        return len(members)

    async def expired_pending(self, now_ms: int) -> list[tuple[Ref, dict[str, Origin]]]:
        """Referents still missing when their first waiting event's wait ran out."""
        members = await self.redis.zrangebyscore(keys.DUE_PENDING, "-inf", now_ms)
        expired = []
        for member in members:
            ref = keys.ref_of(member)
            waiting = await self.redis.hgetall(keys.pending(ref))
            origins = {
                event_id.decode(): msgspec.json.decode(blob, type=Origin)
                for event_id, blob in waiting.items()
                if event_id != VERSION.encode()
            }
            expired.append((ref, origins))
        return expired

    async def forget_pending(self, ref: Ref, event_ids: list[str], now_ms: int) -> None:
        """Drop dead-lettered waiting events; later arrivals keep waiting, afresh."""
        await self._forget_pending(
            keys=[keys.pending(ref), keys.DUE_PENDING],
            args=[keys.member(ref), now_ms + self.pending_ttl_ms, *event_ids],
        )

    async def _attempt(
        self,
        batch: Sequence[Incoming],
        state_refs: set[Ref],
        tally_refs: set[Ref],
        recount: set[Ref],
        now_ms: int,
    ) -> list[Applied] | None:
        """The batch applied, or None when another writer changed what it read."""
        world = World({}, {}, set())
        loaded = Loaded({}, {})
        event_ids = [incoming.event.event_id for incoming in batch]
        world.seen = await self._load(world, loaded, state_refs, tally_refs, event_ids)
        # Waiting events drained by this batch may touch entities it did not name.
        while unloaded := _unloaded(world, loaded):
            await self._load(world, loaded, *unloaded, [])
        applied = apply_batch(world, batch, self.rules)
        plan = Plan()
        changed_cards = self._plan_writes(plan, world, loaded, now_ms)
        await self._plan_figures(plan, world, loaded, applied, recount, now_ms)
        for request in requests.requests_of(applied, changed_cards):
            plan.xadd(keys.MATCH_REQUESTS, request, requests.MAXLEN)
        checks = [[key, version] for key, version in loaded.versions.items()]
        fresh = [keys.seen(event_id) for event_id in world.new_seen]
        done = await self._write_plan(args=[orjson.dumps([checks, fresh, plan.commands])])
        return applied if int(done) == 1 else None

    async def _load(
        self,
        world: World,
        loaded: "Loaded",
        state_refs: set[Ref],
        tally_refs: set[Ref],
        event_ids: list[str],
    ) -> set[str]:
        """Loads states, waiting events and tallies; returns the event_ids seen."""
        order, tallied = list(state_refs), list(tally_refs)
        hashes = [key for ref in order for key in (keys.state(ref), keys.pending(ref))]
        seen_keys = [keys.seen(event_id) for event_id in event_ids]
        reply = await self._read(
            args=[len(seen_keys), *seen_keys, *hashes, *map(keys.tally, tallied)]
        )
        for index, ref in enumerate(tallied):
            fields = pairs(reply[1 + len(hashes) + index])
            loaded.versions[keys.tally(ref)] = fields.pop(VERSION.encode(), b"").decode()
            loaded.tallies[ref] = tallies.decode(ref, fields)
        for index, ref in enumerate(order):
            state = pairs(reply[1 + 2 * index])
            waiting = pairs(reply[2 + 2 * index])
            loaded.versions[keys.state(ref)] = state.pop(VERSION.encode(), b"").decode()
            loaded.versions[keys.pending(ref)] = waiting.pop(VERSION.encode(), b"").decode()
            loaded.indexed[ref] = orjson.loads(state.pop(INDEXED.encode(), b"[]"))
            loaded.blobs[ref] = state.get(STATE.encode())
            world.states[ref] = decode_state(ref.kind, state) if state else None
            if waiting:
                world.pending[ref] = [self._incoming(blob) for blob in waiting.values()]
        return {event_id for event_id, flag in zip(event_ids, reply[0], strict=True) if flag}

    def _incoming(self, blob: bytes) -> Incoming:
        """A waiting event, decoded again exactly as when it first arrived."""
        origin = msgspec.json.decode(blob, type=Origin)
        received = datetime.fromtimestamp(origin.received_ms / 1000, UTC)
        event = decode(BY_NAME[origin.topic], origin.key, origin.raw, received, self.limits)
        if not isinstance(event, Event):
            raise ValueError(f"a waiting event no longer decodes: {event.reason}")
        return Incoming(event, origin)

    def _plan_writes(self, plan: Plan, world: World, loaded: "Loaded", now_ms: int) -> set[Ref]:
        """Plans every write of the batch; returns the entities whose matching card changed."""
        versions = loaded.versions
        changed_cards: set[Ref] = set()
        for ref in world.changed:
            state = world.states[ref]
            key = keys.state(ref)
            plan.hset(key, {**encode_state(state), VERSION: next_version(versions[key])})
            write_index(plan, ref, state, now_ms, loaded.indexed.get(ref, []))
            card = card_blob(ref, state, now_ms)
            if card != card_blob(ref, loaded.before(ref), now_ms):
                write_card(plan, CARDS[ref.kind], ref.id, card)
                changed_cards.add(ref)
        for ref in world.pending_changed:
            self._plan_pending(plan, ref, world.pending.get(ref, []), versions)
        for event_id in world.new_seen:
            plan.set(keys.seen(event_id), "1", ex=self.seen_ttl_s)
        return changed_cards

    async def _plan_figures(
        self,
        plan: Plan,
        world: World,
        loaded: "Loaded",
        applied: list[Applied],
        recount: set[Ref],
        now_ms: int,
    ) -> None:
        """Plans the figures' writes: histories, tallies, due times and counters."""
        histories = {ref: t.history for ref, t in loaded.tallies.items() if t.history is not None}
        written, occurrences = take_facts(histories, applied)
        changed = {ref for ref in world.changed if ref.kind in tallies.COUNTED_KINDS}
        markets = {ref: world.states[ref] for ref in world.changed if ref.kind == MARKET}
        markets_before = {ref: loaded.before(ref) for ref in markets}
        moved = redistricted(markets_before, markets)
        followers = await self._followers(world, loaded, moved) if moved else set()
        touched = changed | written | recount | followers
        now = {ref: world.states.get(ref) for ref in touched if ref.kind != PAIR}
        districts = await tallies.look_up(self.redis, self._look_up, now)
        # The batch's own markets, not yet written where look_up reads them.
        districts.of_market.update(
            {ref.id: state.market.district for ref, state in markets.items()}
        )
        recounts = {}
        for ref in touched:
            was = loaded.tallies[ref]
            before = Was(loaded.before(ref), was.history, was.at_ms, was.district)
            history = histories.get(ref)
            if ref.kind == JOB:
                recounts[ref] = recount_job(
                    before, now[ref], history, now_ms, districts.of_market.get
                )
            elif ref.kind == SEEKER:
                district = districts.of_seeker.get(ref.id)
                recounts[ref] = recount_seeker(before, now[ref], history, now_ms, district)
            else:
                recounts[ref] = recount_pair(before, history, now_ms)
            tallies.plan_tally(plan, ref, recounts[ref], history, loaded.versions[keys.tally(ref)])
            if ref.kind == JOB:
                tallies.plan_follow(plan, ref.id, follows(before.state), follows(now[ref]))
        tallies.plan_counts(plan, total(recounts, occurrences))
        if places_moved(markets_before, markets):
            # Last: the seekers this batch counted, before its places were written, too.
            plan.due_all(keys.COUNTED_SEEKERS, keys.DUE_FIGURES, now_ms)

    async def _followers(self, world: World, loaded: "Loaded", markets: set[str]) -> set[Ref]:
        """The jobs that follow the markets' districts, loaded to be counted again."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for market_id in sorted(markets):
                pipe.smembers(keys.followers(market_id))
            replies = await pipe.execute()
        refs = {Ref(JOB, job_id.decode()) for members in replies for job_id in members}
        missing = refs - world.states.keys()
        if missing or refs - loaded.tallies.keys():
            await self._load(world, loaded, missing, refs - loaded.tallies.keys(), [])
        return refs

    def _plan_pending(
        self, plan: Plan, ref: Ref, waiting: list[Incoming], versions: dict[str, str]
    ) -> None:
        key = keys.pending(ref)
        plan.delete(key)
        if not waiting:
            plan.zrem(keys.DUE_PENDING, keys.member(ref))
            return
        blobs = {i.event.event_id: msgspec.json.encode(i.origin).decode() for i in waiting}
        plan.hset(key, {**blobs, VERSION: next_version(versions[key])})
        oldest = min(i.origin.received_ms for i in waiting)
        plan.zadd(keys.DUE_PENDING, {keys.member(ref): oldest + self.pending_ttl_ms})


@dataclass
class Loaded:
    """What the read script returned besides the states: each hash's version, each
    entity's occupation indexes, the figures' tallies and each state as read."""

    versions: dict[str, str]
    indexed: dict[Ref, list[str]]
    tallies: dict[Ref, Tally] = field(default_factory=dict)
    # Each state as read, still encoded: the ledger changes states in place, and only
    # the few it changed need theirs from before the batch (their card, their figures).
    blobs: dict[Ref, bytes | None] = field(default_factory=dict)
    decoded: dict[Ref, Any] = field(default_factory=dict)  # blobs decoded once asked for

    def before(self, ref: Ref) -> Any:
        """The state as read; a changed job's or seeker's is asked for its card and figures."""
        if ref not in self.decoded:
            blob = self.blobs.get(ref)
            state = None if blob is None else decode_state(ref.kind, {STATE.encode(): blob})
            self.decoded[ref] = state
        return self.decoded[ref]


def _unloaded(world: World, loaded: Loaded) -> tuple[set[Ref], set[Ref]] | None:
    """The states and tallies that waiting events in the world touch but were not loaded."""
    waiting = (incoming.event for queue in world.pending.values() for incoming in queue)
    state_refs, tally_refs = tallies.refs_for(waiting)
    state_refs -= world.states.keys()
    tally_refs -= loaded.tallies.keys()
    return (state_refs, tally_refs) if state_refs or tally_refs else None


STATE = "state"


def encode_state(state: msgspec.Struct) -> dict[str, str]:
    """The entity's state as one JSON field of its hash: one encode, one decode per entity."""
    return {STATE: msgspec.json.encode(state).decode()}


def decode_state(kind: str, fields: dict[bytes, bytes]) -> Any:
    return msgspec.json.decode(fields[STATE.encode()], type=STATE_TYPES[kind])


async def read_states(redis: Redis, refs: Sequence[Ref]) -> list[tuple[Ref, Any]]:
    """The current state of each entity, in one round trip; one gone meanwhile is left out."""
    async with redis.pipeline(transaction=False) as pipe:
        for ref in refs:
            pipe.hget(keys.state(ref), STATE)
        blobs = await pipe.execute()
    field = STATE.encode()
    return [
        (ref, decode_state(ref.kind, {field: blob}))
        for ref, blob in zip(refs, blobs, strict=True)
        if blob is not None
    ]
