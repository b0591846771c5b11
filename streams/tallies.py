"""The figures' tallies in Redis: loaded with the states, counted again after the ledger.

A tally is a hash beside the entity (keys.tally): its history (`h`), when it
was last counted (`at`, ms), the district it was counted in (`d`) and a
version (`_v`) that the store's write checks like a state's. The store calls
this module around processors.figures.tally and writes what it returns in
the same atomic write as the states, so a counter moves exactly when the
state or history it counts does.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec
import orjson
from redis.asyncio import Redis

from processors.figures.counts import Counts
from processors.figures.history import JobHistory, PairHistory, SeekerHistory, with_match
from processors.figures.tally import (
    PAIR,
    History,
    Recount,
    Was,
    histories_of,
    pair_ref,
    recount_pair,
    total,
)
from processors.jobs import JobState
from processors.ledger import JOB, SEEKER, Ref, refs_of
from processors.seekers import SeekerState
from streams import keys
from streams.figure_counters import HOUR_TTL_S, counters_key, expires, increments
from streams.indexes import due
from streams.metrics import CONFLICTS
from streams.plan import MAX_ATTEMPTS, READ, VERSION, WRITE, Plan, next_version, pairs
from topics.envelope import Event

HISTORY, AT, DISTRICT = "h", "at", "d"
HISTORY_TYPES: dict[str, Any] = {
    JOB: JobHistory | None,
    SEEKER: SeekerHistory | None,
    PAIR: PairHistory | None,
}
COUNTED_KINDS = (JOB, SEEKER)
# A pair's tally outlives its match by this much: a hire later than that is not
# counted as the match's (match → hire conversion).
PAIR_TTL_S = 30 * 24 * 3600
# KEYS: the places' districts, the markets' and the stations' geo indexes. ARGV: how
# many market ids follow, the ids, then lon, lat of each home. Returns each market's
# district, then the district of the place nearest each home (as the crow flies).
LOOKUP_DISTRICTS = """
local markets = tonumber(ARGV[1])
local out = {}
for i = 2, markets + 1 do out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) end
for i = markets + 2, #ARGV, 2 do
  local nearest, nearest_km = false, nil
  for _, geo in ipairs({KEYS[2], KEYS[3]}) do
    local found = redis.call('GEOSEARCH', geo, 'FROMLONLAT', ARGV[i], ARGV[i + 1],
      'BYRADIUS', 1000, 'km', 'ASC', 'COUNT', 1, 'WITHDIST')
    if found[1] and (nearest_km == nil or tonumber(found[1][2]) < nearest_km) then
      nearest, nearest_km = found[1][1], tonumber(found[1][2])
    end
  end
  out[#out + 1] = nearest and redis.call('HGET', KEYS[1], nearest)
end
return out
"""


class Tally(NamedTuple):
    history: History | None
    at_ms: int | None  # None: never counted
    district: str | None


def refs_for(events: Iterable[Event]) -> tuple[set[Ref], set[Ref]]:
    """The states to load (the ledger's and those whose history the events write), and
    the tallies to load (of every job, seeker and pair among them)."""
    events = list(events)
    written = {ref for event in events for ref in histories_of(event.data)}
    states = refs_of(events) | {ref for ref in written if ref.kind != PAIR}
    return states, tallied(states) | written


def tallied(refs: Iterable[Ref]) -> set[Ref]:
    return {ref for ref in refs if ref.kind in COUNTED_KINDS or ref.kind == PAIR}


def decode(ref: Ref, fields: Mapping[bytes, bytes]) -> Tally:
    history = fields.get(HISTORY.encode())
    at = fields.get(AT.encode())
    district = fields.get(DISTRICT.encode())
    return Tally(
        None if history is None else msgspec.json.decode(history, type=HISTORY_TYPES[ref.kind]),
        None if at is None else int(at),
        None if district is None else district.decode(),
    )


def encode(history: History | None, at_ms: int) -> dict[str, str]:
    """The tally's fields but the district, which is deleted when there is none."""
    # Sets and maps sorted: the same history is the same bytes in every process.
    history_json = msgspec.json.encode(history, order="deterministic").decode()
    return {HISTORY: history_json, AT: str(at_ms)}


class Districts(NamedTuple):
    """What the counted jobs' markets and seekers' homes say about their districts."""

    of_market: dict[str, str]
    of_seeker: dict[str, str | None]


async def look_up(redis: Redis, script: Any, states: Mapping[Ref, Any]) -> Districts:
    """The districts of the jobs' markets (for jobs without one) and of the seekers' homes."""
    markets = sorted(
        {
            state.job.market_id
            for ref, state in states.items()
            if isinstance(state, JobState)
            and state.job.location.district is None
            and state.job.market_id is not None
        }
    )
    seekers = [(ref.id, s) for ref, s in states.items() if isinstance(s, SeekerState)]
    if not markets and not seekers:
        return Districts({}, {})
    homes = [x for _, s in seekers for x in (repr(s.profile.home.lon), repr(s.profile.home.lat))]
    reply = await script(
        keys=[keys.PLACE_DISTRICTS, keys.GEO_MARKETS, keys.GEO_STATIONS],
        args=[len(markets), *markets, *homes],
    )
    names = [None if name is None else name.decode() for name in reply]
    of_market = {
        m: name for m, name in zip(markets, names[: len(markets)], strict=True) if name is not None
    }
    of_seeker = {
        seeker_id: name for (seeker_id, _), name in zip(seekers, names[len(markets) :], strict=True)
    }
    return Districts(of_market, of_seeker)


def plan_tally(plan: Plan, ref: Ref, recount: Recount, history: Any, version: str) -> None:
    """The entity's tally as counted now, and when to count it again."""
    key = keys.tally(ref)
    fields = {**encode(history, recount.at_ms), VERSION: next_version(version)}
    if recount.district is None:
        plan.hdel(key, DISTRICT)
    else:
        fields[DISTRICT] = recount.district
    plan.hset(key, fields)
    if ref.kind == PAIR:
        plan.expire(key, PAIR_TTL_S)
    else:
        due(plan, keys.DUE_FIGURES, keys.member(ref), recount.due_ms, True)
    if ref.kind == SEEKER:
        plan.sadd(keys.COUNTED_SEEKERS, keys.member(ref))


def plan_follow(plan: Plan, job_id: str, before: str | None, after: str | None) -> None:
    """The job among the followers of the market whose district it counts in, if any."""
    if before is not None and before != after:
        plan.srem(keys.followers(before), job_id)
    if after is not None:
        plan.sadd(keys.followers(after), job_id)


def plan_counts(plan: Plan, counts: Counts) -> None:
    """The counters' HINCRBYs (and the expiry of hour windows)."""
    for window, fields in increments(counts).items():
        counters = counters_key(window)
        for field_name, n in fields.items():
            plan.hincrby(counters, field_name, n)
        if expires(window):
            plan.expire(counters, HOUR_TTL_S)


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
            fields = pairs(flat)
            version = fields.pop(VERSION.encode(), b"").decode()
            was = decode(ref, fields)
            pair = was.history if isinstance(was.history, PairHistory) else PairHistory()
            history = with_match(pair, first[ref])
            if history != was.history:
                recounts[ref] = recount_pair(Was(None, *was), history, first[ref])
                plan_tally(plan, ref, recounts[ref], history, version)
                checks.append([keys.tally(ref), version])
        if not recounts:
            return
        plan_counts(plan, total(recounts, {}))
        if int(await write(args=[orjson.dumps([checks, [], plan.commands])])) == 1:
            return
        CONFLICTS.inc()
    raise RuntimeError(f"pairs kept changing under the matches ({MAX_ATTEMPTS} attempts)")
