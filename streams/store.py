"""The live state in Redis: load what a batch touches, apply it, write it back atomically.

One optimistic transaction per batch, in two Redis commands: a read script
returns every state and pending hash the batch touches (each with a version
field `_v`) and which event_ids were seen; processors.ledger decides every
transition; a write script checks that no version changed and no marker
appeared meanwhile and then, atomically, applies every write of the batch.
If another worker or agent got there first, the batch is decided again on
fresh state, so last-writer-wins and the duplicate check hold across workers.
Two commands a batch instead of several per event: the per-command cost of
the client, not Redis, was what limited throughput.

The scripts name their keys in ARGV, which a single Redis allows; Redis
Cluster would need the batch split by hash slot first.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from redis.asyncio import Redis

from processors import applications, cards, checkins, jobs, markets, seekers
from processors.figures.counts import Counts
from processors.figures.history import PairHistory, with_match
from processors.figures.tally import (
    PAIR,
    Recount,
    Was,
    follows,
    pair_ref,
    places_moved,
    recount_job,
    recount_pair,
    recount_seeker,
    redistricted,
    take_facts,
    total,
)
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
)
from streams import changes, keys, requests, tallies
from streams.figure_counters import HOUR_TTL_S, expires, increments, window_of
from streams.metrics import CONFLICTS
from streams.tallies import Tally
from topics.catalog import BY_NAME
from topics.envelope import Event, Limits, decode

READ = """
local seen_count = tonumber(ARGV[1])
local seen = {}
for i = 2, seen_count + 1 do seen[#seen + 1] = redis.call('EXISTS', ARGV[i]) end
local out = {seen}
for i = seen_count + 2, #ARGV do out[#out + 1] = redis.call('HGETALL', ARGV[i]) end
return out
"""
WRITE = """
local plan = cjson.decode(ARGV[1])
for _, check in ipairs(plan[1]) do
  if (redis.call('HGET', check[1], '_v') or '') ~= check[2] then return 0 end
end
for _, key in ipairs(plan[2]) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, command in ipairs(plan[3]) do
  if command[1] == 'DUE_ALL' then
    -- Every member of a set due at once (rare: a place changed).
    for _, member in ipairs(redis.call('SMEMBERS', command[2])) do
      redis.call('ZADD', command[3], command[4], member)
    end
  -- A figure's counter back at zero goes, or the windows' hashes would keep every group ever.
  elseif redis.call(unpack(command)) == 0 and command[1] == 'HINCRBY' then
    redis.call('HDEL', command[2], command[3])
  end
end
return 1
"""
VERSION = "_v"
# The occupation indexes an entity is in (a JSON list), so that a later write
# or the expiry sweep can take it out of exactly those.
INDEXED = "_in"
# The hash of each kind's matching cards (processors.cards), written only when a
# card changed: the same card would change no match.
CARDS = {JOB: keys.JOB_CARDS, SEEKER: keys.SEEKER_CARDS, CHECKIN: keys.CHECKIN_CARDS}
# Contention between a handful of agents settles in a few attempts; far more
# means a bug, and the pipeline then isolates the batch message by message.
MAX_ATTEMPTS = 50
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
            await self.apply([], now_ms, [tallies.ref_of_due(member) for member in members])
        return len(members)

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
                if event_id != VERSION.encode()
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
            fields = _pairs(reply[1 + len(hashes) + index])
            loaded.versions[keys.tally(ref)] = fields.pop(VERSION.encode(), b"").decode()
            loaded.tallies[ref] = tallies.decode(ref, fields)
        for index, ref in enumerate(order):
            state = _pairs(reply[1 + 2 * index])
            waiting = _pairs(reply[2 + 2 * index])
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

    def _plan_writes(self, plan: "Plan", world: World, loaded: "Loaded", now_ms: int) -> set[Ref]:
        """Plans every write of the batch; returns the entities whose matching card changed."""
        versions = loaded.versions
        changed_cards: set[Ref] = set()
        for ref in world.changed:
            state = world.states[ref]
            key = keys.state(ref)
            plan.hset(key, {**encode_state(state), VERSION: _next(versions[key])})
            write_index(plan, ref, state, now_ms, loaded.indexed.get(ref, []))
            card = card_blob(ref, state, now_ms)
            if card != card_blob(ref, loaded.before(ref), now_ms):
                _card(plan, CARDS[ref.kind], ref.id, card)
                changed_cards.add(ref)
        for ref in world.pending_changed:
            self._plan_pending(plan, ref, world.pending.get(ref, []), versions)
        for event_id in world.new_seen:
            plan.set(keys.seen(event_id), "1", ex=self.seen_ttl_s)
        return changed_cards

    async def _plan_figures(
        self,
        plan: "Plan",
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
        moved = redistricted({ref: loaded.before(ref) for ref in markets}, markets)
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
            _tally(plan, ref, recounts[ref], history, loaded.versions[keys.tally(ref)])
            if ref.kind == JOB:
                _follow(plan, ref.id, follows(before.state), follows(now[ref]))
        _count(plan, total(recounts, occurrences))
        if places_moved({ref: loaded.before(ref) for ref in markets}, markets):
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
        self, plan: "Plan", ref: Ref, waiting: list[Incoming], versions: dict[str, str]
    ) -> None:
        key = keys.pending(ref)
        plan.delete(key)
        if not waiting:
            plan.zrem(keys.DUE_PENDING, keys.pending_member(ref))
            return
        blobs = {i.event.event_id: msgspec.json.encode(i.origin).decode() for i in waiting}
        plan.hset(key, {**blobs, VERSION: _next(versions[key])})
        oldest = min(i.origin.received_ms for i in waiting)
        plan.zadd(keys.DUE_PENDING, {keys.pending_member(ref): oldest + self.pending_ttl_ms})


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

    def before(self, ref: Ref) -> Any:
        blob = self.blobs.get(ref)
        return None if blob is None else decode_state(ref.kind, {STATE.encode(): blob})


async def count_matches(redis: Redis, matches: Sequence[tuple[str, str, int]]) -> None:
    """Counts the pairs (job_id, seeker_id, when) the matcher matched, for match → hire
    conversion: once a pair, at its first match, in the same kind of checked write as the
    worker's. From the records of gig.matches, so a rebuild counts them again alike."""
    first: dict[Ref, int] = {}
    for job_id, seeker_id, matched_ms in matches:
        ref = pair_ref(job_id, seeker_id)
        first[ref] = min(first.get(ref, matched_ms), matched_ms)
    refs = list(first)
    read, write = redis.register_script(READ), redis.register_script(WRITE)
    for _ in range(MAX_ATTEMPTS):
        reply = await read(args=[0, *map(keys.tally, refs)])
        plan, recounts, checks = Plan(), {}, []
        for ref, flat in zip(refs, reply[1:], strict=True):
            fields = _pairs(flat)
            version = fields.pop(VERSION.encode(), b"").decode()
            was = tallies.decode(ref, fields)
            pair = was.history if isinstance(was.history, PairHistory) else PairHistory()
            history = with_match(pair, first[ref])
            if history != was.history:
                recounts[ref] = recount_pair(Was(None, *was), history, first[ref])
                _tally(plan, ref, recounts[ref], history, version)
                checks.append([keys.tally(ref), version])
        if not recounts:
            return
        _count(plan, total(recounts, {}))
        if int(await write(args=[orjson.dumps([checks, [], plan.commands])])) == 1:
            return
        CONFLICTS.inc()
    raise RuntimeError(f"pairs kept changing under the matches ({MAX_ATTEMPTS} attempts)")


def _unloaded(world: World, loaded: Loaded) -> tuple[set[Ref], set[Ref]] | None:
    """The states and tallies that waiting events in the world touch but were not loaded."""
    waiting = (incoming.event for queue in world.pending.values() for incoming in queue)
    state_refs, tally_refs = tallies.refs_for(waiting)
    state_refs -= world.states.keys()
    tally_refs -= loaded.tallies.keys()
    return (state_refs, tally_refs) if state_refs or tally_refs else None


def _tally(plan: "Plan", ref: Ref, recount: Recount, history: Any, version: str) -> None:
    key = keys.tally(ref)
    fields = {**tallies.encode(history, recount.at_ms), VERSION: _next(version)}
    if recount.district is None:
        plan.hdel(key, tallies.DISTRICT)
    else:
        fields[tallies.DISTRICT] = recount.district
    plan.hset(key, fields)
    if ref.kind == PAIR:
        plan.expire(key, tallies.PAIR_TTL_S)
    else:
        _due(plan, keys.DUE_FIGURES, tallies.due_member(ref), recount.due_ms, True)
    if ref.kind == SEEKER:
        plan.sadd(keys.COUNTED_SEEKERS, tallies.due_member(ref))


def _follow(plan: "Plan", job_id: str, before: str | None, after: str | None) -> None:
    if before is not None and before != after:
        plan.srem(keys.followers(before), job_id)
    if after is not None:
        plan.sadd(keys.followers(after), job_id)


def _count(plan: "Plan", counts: Counts) -> None:
    for counters, fields in increments(counts).items():
        for field_name, n in fields.items():
            plan.hincrby(counters, field_name, n)
        if expires(window_of(counters)):
            plan.expire(counters, HOUR_TTL_S)


class Plan:
    """The writes of one batch, as Redis commands for the write script to run atomically."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def hset(self, key: str, mapping: dict[str, str]) -> None:
        self.commands.append(["HSET", key, *(x for item in mapping.items() for x in item)])

    def geoadd(self, key: str, lon_lat_member: tuple[float, float, str]) -> None:
        lon, lat, member = lon_lat_member
        self.commands.append(["GEOADD", key, repr(lon), repr(lat), member])

    def zadd(self, key: str, scores: dict[str, int]) -> None:
        for member, score in scores.items():
            self.commands.append(["ZADD", key, str(score), member])

    def zrem(self, key: str, member: str) -> None:
        self.commands.append(["ZREM", key, member])

    def sadd(self, key: str, member: str) -> None:
        self.commands.append(["SADD", key, member])

    def srem(self, key: str, member: str) -> None:
        self.commands.append(["SREM", key, member])

    def hdel(self, key: str, field: str) -> None:
        self.commands.append(["HDEL", key, field])

    def hincrby(self, key: str, field: str, n: int) -> None:
        self.commands.append(["HINCRBY", key, field, str(n)])

    def due_all(self, members: str, due: str, at_ms: int) -> None:
        """Every member of the set due at at_ms in the sorted set (the write script's own)."""
        self.commands.append(["DUE_ALL", members, due, str(at_ms)])

    def expire(self, key: str, seconds: int) -> None:
        self.commands.append(["EXPIRE", key, str(seconds)])

    def delete(self, key: str) -> None:
        self.commands.append(["DEL", key])

    def set(self, key: str, value: str, ex: int) -> None:
        self.commands.append(["SET", key, value, "EX", str(ex)])

    def xadd(self, key: str, fields: dict[str, str], maxlen: int) -> None:
        pairs = (x for item in fields.items() for x in item)
        self.commands.append(["XADD", key, "MAXLEN", "~", str(maxlen), "*", *pairs])


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _next(version: str) -> str:
    return str(int(version or 0) + 1)


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


def write_index(tx: Plan, ref: Ref, state: Any, now_ms: int, indexed: Sequence[str] = ()) -> None:
    """Keep the global indexes in step with one entity's new state.

    indexed: the occupation indexes the entity was in before this write.
    """
    if ref.kind == JOB:
        _index_job(tx, ref.id, state, now_ms)
        _index_occupations(
            tx, ref, state.job.location, occupation_indexes(ref, state, now_ms), indexed
        )
    elif ref.kind == SEEKER:
        _place(tx, keys.GEO_SEEKERS, ref.id, state.profile.home, seekers.is_active(state))
        _tell(tx, changes.seeker_change(ref.id, state))
        _index_occupations(
            tx, ref, state.profile.home, occupation_indexes(ref, state, now_ms), indexed
        )
    elif ref.kind == CHECKIN:
        present = checkins.is_present(state, now_ms)
        _place(tx, keys.GEO_CHECKINS, ref.id, state.place, present)
        _due(tx, keys.DUE_CHECKINS, ref.id, state.until_ms, present)
    elif ref.kind == MARKET:
        _index_market(tx, ref.id, state)
    elif ref.kind == APPLICATION:
        _index_application(tx, ref.id, state)


def occupation_indexes(ref: Ref, state: Any, now_ms: int) -> list[str]:
    """The per-occupation geo indexes an open job or an active seeker belongs in."""
    if ref.kind == JOB:
        return [keys.jobs_of(state.job.occupation)] if jobs.is_open(state, now_ms) else []
    if ref.kind == SEEKER and seekers.is_active(state):
        mode = state.profile.travel_mode
        return [
            keys.seekers_of(occupation, mode)
            for occupation in dict.fromkeys(state.profile.occupations)
        ]
    return []


def _index_occupations(
    tx: Plan, ref: Ref, point: Any, now: list[str], before: Sequence[str]
) -> None:
    for index in set(before) - set(now):
        tx.zrem(index, ref.id)
    for index in now:
        tx.geoadd(index, (point.lon, point.lat, ref.id))
    # Left out when empty, as the sweep leaves it: a state reads the same however
    # its events were batched (a rebuild compares them).
    if now:
        tx.hset(keys.state(ref), {INDEXED: orjson.dumps(now).decode()})
    elif before:
        tx.hdel(keys.state(ref), INDEXED)


def _index_job(tx: Plan, job_id: str, state: jobs.JobState, now_ms: int) -> None:
    is_open = jobs.is_open(state, now_ms)
    _place(tx, keys.GEO_JOBS, job_id, state.job.location, is_open)
    _due(tx, keys.DUE_JOBS, job_id, jobs.deadline_ms(state), is_open)
    _tell(tx, changes.job_change(job_id, state, now_ms))


def _index_market(tx: Plan, market_id: str, state: markets.MarketState) -> None:
    active = markets.is_active(state)
    is_station = state.market.kind == "station"
    _place(tx, keys.GEO_STATIONS, market_id, state.market.location, active and is_station)
    _place(tx, keys.GEO_MARKETS, market_id, state.market.location, active and not is_station)
    tx.hset(keys.PLACE_DISTRICTS, {market_id: state.market.district})
    _tell(tx, changes.place_change(market_id, state))


def _index_application(tx: Plan, application_id: str, state: applications.ApplicationState) -> None:
    key = keys.job_applications(state.job_id)
    if state.withdrawn:
        tx.srem(key, application_id)
    else:
        tx.sadd(key, application_id)


def card_blob(ref: Ref, state: Any, now_ms: int) -> str | None:
    """The entity's matching card (processors.cards) as stored, or None when it has none."""
    if state is None:
        return None
    card: msgspec.Struct | None = None
    if ref.kind == JOB:
        card = cards.job_card(state, now_ms)
    elif ref.kind == SEEKER:
        card = cards.seeker_card(state)
    elif ref.kind == CHECKIN:
        card = cards.checkin_card(state, now_ms)
    return None if card is None else msgspec.json.encode(card).decode()


def _card(tx: Plan, hash_key: str, member: str, blob: str | None) -> None:
    if blob is None:
        tx.hdel(hash_key, member)
    else:
        tx.hset(hash_key, {member: blob})


def _tell(tx: Plan, change: dict[str, str]) -> None:
    tx.xadd(keys.CHANGES, change, changes.MAXLEN)


def _place(tx: Plan, geo: str, member: str, point: Any, present: bool) -> None:
    if present and point is not None:
        tx.geoadd(geo, (point.lon, point.lat, member))
    else:
        tx.zrem(geo, member)


def _due(tx: Plan, due: str, member: str, at_ms: int | None, present: bool) -> None:
    if present and at_ms is not None:
        tx.zadd(due, {member: at_ms})
    else:
        tx.zrem(due, member)
