"""Nearby queries against the live geo indexes: open jobs, markets and stations in a circle.

GEOSEARCH finds the candidates; processors.nearby decides from each one's state
which answer the query. Two round trips a query: the search, then one pipeline
reading every candidate's state.
"""

from typing import Any

from redis.asyncio import Redis

from processors.ledger import JOB, MARKET, Ref
from processors.nearby import (
    Circle,
    Found,
    JobHit,
    JobQuery,
    PlaceHit,
    PlaceQuery,
    job_hit,
    page,
    place_hit,
)
from processors.travel import TravelModel
from streams import keys
from streams.store import read_states
from topics.markets import MarketKind

# Redis measures on a sphere 0.028% larger than the travel model's and stores a
# point to within about 0.6 m, so the search reaches a little further than the
# circle and the travel model, on the states' own coordinates, draws the edge.
RADIUS_PAD_RATIO = 1e-3
RADIUS_PAD_KM = 1e-3
PLACE_INDEXES: dict[MarketKind, str] = {"market": keys.GEO_MARKETS, "station": keys.GEO_STATIONS}


def search_radius_km(model: TravelModel, circle: Circle) -> float:
    """A radius for GEOSEARCH that holds every point the travel model puts in the circle."""
    return padded_km(model.radius_km(circle.mode, circle.minutes))


def padded_km(radius_km: float) -> float:
    """A search radius that misses no point the travel model puts within radius_km."""
    return radius_km * (1 + RADIUS_PAD_RATIO) + RADIUS_PAD_KM


async def jobs_near(
    redis: Redis, model: TravelModel, query: JobQuery, now_ms: int
) -> Found[JobHit]:
    """Open jobs in the query's circle that pass its filters, nearest first, one page."""
    # With an occupation, its own index: a twelfth of the candidates in a mixed city.
    index = keys.GEO_JOBS if query.occupation is None else keys.jobs_of(query.occupation)
    ids = await _candidates(redis, [index], model, query.circle)
    states = await _states(redis, JOB, ids)
    hits = (hit for state in states if (hit := job_hit(state, query, model, now_ms)) is not None)
    return page(hits, query.offset, query.limit)


async def places_near(redis: Redis, model: TravelModel, query: PlaceQuery) -> Found[PlaceHit]:
    """Active markets and stations (or one kind) in the query's circle, nearest first, one page."""
    kinds = PLACE_INDEXES if query.kind is None else {query.kind: PLACE_INDEXES[query.kind]}
    ids = await _candidates(redis, list(kinds.values()), model, query.circle)
    states = await _states(redis, MARKET, ids)
    hits = (hit for state in states if (hit := place_hit(state, query, model)) is not None)
    return page(hits, query.offset, query.limit)


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
