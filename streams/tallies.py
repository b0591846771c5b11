"""The figures' tallies in Redis: loaded with the states, counted again after the ledger.

A tally is a hash beside the entity (keys.tally): its history (`h`), when it
was last counted (`at`, ms), the district it was counted in (`d`) and a
version (`_v`) that the store's write checks like a state's. The store calls
this module around processors.figures.tally and writes what it returns in
the same atomic write as the states, so a counter moves exactly when the
state or history it counts does.
"""

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import msgspec
from redis.asyncio import Redis

from processors.figures.history import JobHistory, PairHistory, SeekerHistory
from processors.figures.tally import PAIR, History, histories_of
from processors.jobs import JobState
from processors.ledger import JOB, SEEKER, Ref, refs_of
from processors.seekers import SeekerState
from streams import keys
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


def due_member(ref: Ref) -> str:
    return f"{ref.kind}:{ref.id}"


def ref_of_due(member: bytes) -> Ref:
    kind, _, entity_id = member.decode().partition(":")
    return Ref(kind, entity_id)


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
