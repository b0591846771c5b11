"""Nearby queries against the live geo indexes: open jobs, markets and stations in a circle.

Jobs take one round trip, a script that does the bulk of the work in Redis:
it searches the index nearest first, counts the open jobs surely inside the
circle, and returns the cards of only the few that decide the answer, which
processors.nearby then ranks exactly. Places are few: their states are read whole.
"""

from typing import Any

from redis.asyncio import Redis

from processors.ledger import MARKET, Ref
from processors.nearby import (
    Circle,
    Found,
    JobHit,
    JobQuery,
    PlaceHit,
    PlaceQuery,
    job_hit,
    job_rank,
    page,
    place_hit,
)
from processors.travel import TravelModel
from streams import keys
from streams.near import job_card, padded_km
from streams.store import read_states
from topics.markets import MarketKind

PLACE_INDEXES: dict[MarketKind, str] = {"market": keys.GEO_MARKETS, "station": keys.GEO_STATIONS}
# How far Redis's distance to a member can be from the travel model's, in km: a
# stored point is off by up to 0.6 m, a reply rounds to 0.1 m, and Redis's
# sphere is 0.028% larger (which scales both sides of a comparison alike).
REDIS_SLACK_KM = 0.001
# KEYS: the geo index, the open jobs' deadlines (DUE_JOBS), the job cards.
# ARGV: lon, lat, search radius, inner radius (km), wanted, now (ms), slack (km).
# Open jobs nearest first; open by their deadline, as the sweep may lag: the
# overdue ones are few, and asked for one by one only when they are not. Counts
# those within the inner radius, surely inside the circle, and returns that
# count and the ids, distances and cards of the ones the answer may hang on:
# the first `wanted`, those within 2 slacks of the last of them (a tie in
# Redis's distances may be none in the model's), and all beyond the inner
# radius, which only the travel model can place.
JOBS_NEAR = """
local found = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
  'BYRADIUS', ARGV[3], 'km', 'ASC', 'WITHDIST')
local inner, wanted, now = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local slack = tonumber(ARGV[7])
local overdue = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, #found + 1)
local closed = {}
for _, id in ipairs(overdue) do closed[id] = true end
local function open(id)
  if #overdue <= #found then return not closed[id] end
  local deadline = redis.call('ZSCORE', KEYS[2], id)
  return deadline and tonumber(deadline) > now
end
local sure, ids, dists, reach = 0, {}, {}, nil
for _, hit in ipairs(found) do
  if open(hit[1]) then
    local dist = tonumber(hit[2])
    if dist <= inner then sure = sure + 1 end
    if #ids < wanted or dist <= reach or dist > inner then
      ids[#ids + 1] = hit[1]
      dists[#dists + 1] = hit[2]
      if #ids == wanted then reach = dist + 2 * slack end
    end
  end
end
local cards = {}
for first = 1, #ids, 1000 do
  local chunk = redis.call('HMGET', KEYS[3], unpack(ids, first, math.min(first + 999, #ids)))
  for _, card in ipairs(chunk) do cards[#cards + 1] = card end
end
return {sure, ids, dists, cards}
"""


def search_radius_km(model: TravelModel, circle: Circle) -> float:
    """A radius for GEOSEARCH that holds every point the travel model puts in the circle."""
    return padded_km(model.radius_km(circle.mode, circle.minutes))


async def jobs_near(
    redis: Redis, model: TravelModel, query: JobQuery, now_ms: int
) -> Found[JobHit]:
    """Open jobs in the query's circle that pass its filters, nearest first, one page."""
    # With an occupation, its own index: a twelfth of the candidates in a mixed city.
    index = keys.GEO_JOBS if query.occupation is None else keys.jobs_of(query.occupation)
    circle = query.circle
    # Redis cannot apply the wage and shift filters: with one, nothing is sure
    # and every job in reach is returned and decided here.
    filtered = query.min_daily_wage is not None or query.shift_window is not None
    inner = -1.0 if filtered else model.radius_km(circle.mode, circle.minutes) - REDIS_SLACK_KM
    wanted = query.offset + query.limit
    sure, ids, dists, blobs = await redis.register_script(JOBS_NEAR)(
        keys=[index, keys.DUE_JOBS, keys.JOB_CARDS],
        args=[
            circle.lon,
            circle.lat,
            search_radius_km(model, circle),
            inner,
            wanted,
            now_ms,
            REDIS_SLACK_KM,
        ],
    )
    ranked, beyond_inner = [], 0
    for job_id, dist, blob in zip(ids, dists, blobs, strict=True):
        if blob is None:  # no card, nothing to serve
            continue
        if (hit := job_rank(job_id.decode(), job_card(blob), query, model, now_ms)) is not None:
            ranked.append(hit)
            beyond_inner += float(dist) > inner
    found = page(ranked, query.offset, query.limit)
    return Found([job_hit(r) for r in found.items], sure + beyond_inner)


async def places_near(redis: Redis, model: TravelModel, query: PlaceQuery) -> Found[PlaceHit]:
    """Active markets and stations (or one kind) in the query's circle, nearest first, one page."""
    kinds = PLACE_INDEXES if query.kind is None else {query.kind: PLACE_INDEXES[query.kind]}
    ids = await _candidates(redis, list(kinds.values()), model, query.circle)
    states = await _states(redis, MARKET, ids)
    hits = (hit for state in states if (hit := place_hit(state, query, model)) is not None)
    found = page(hits, query.offset, query.limit)
    return Found([r.hit for r in found.items], found.total)


async def _candidates(
    redis: Redis, indexes: list[str], model: TravelModel, circle: Circle
) -> list[str]:
    """The members of the indexes near the circle, searched in one transaction.

    One snapshot of every index: a market turning into a station between two
    searches would otherwise be found twice or not at all.
    """
    radius = search_radius_km(model, circle)
    async with redis.pipeline(transaction=True) as pipe:
        for index in indexes:
            pipe.geosearch(
                index, longitude=circle.lon, latitude=circle.lat, radius=radius, unit="km"
            )
        found = await pipe.execute()
    return [member.decode() for members in found for member in members]


async def _states(redis: Redis, kind: str, ids: list[str]) -> list[Any]:
    return [state for _, state in await read_states(redis, [Ref(kind, i) for i in ids])]
