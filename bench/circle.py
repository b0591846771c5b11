"""Benchmarks of the 15-minute circle.

Nearby queries: a city of open jobs and seekers is loaded through the real
write path (decode, ledger, store) into a Redis database of its own, then
GET /circle/jobs's query (`jobs_near`) runs at random points from one
process: back to back for latency, then QUERIES_IN_FLIGHT at a time for
throughput. Redis's own time per query is read from its command statistics.

Coverage: the same kind of city in a Coverage (processors.circle), then the
cost of moving it by one change-feed entry, as `gigstream circle` does.
"""

import asyncio
import math
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis

from ops.settings import Settings, redis_database
from ops.simulator.city import DISTRICTS, OCCUPATIONS, STATIONS_PER_DISTRICT, District
from processors.circle import Coverage
from processors.ledger import Incoming, Origin, Rules
from processors.nearby import Circle, JobQuery
from processors.travel import TravelModel
from streams import changes, keys
from streams.circle_queries import jobs_near
from streams.store import Store
from topics.catalog import JOBS, SEEKERS, Topic
from topics.envelope import Event, Limits, decode

CIRCLE_REDIS_DB = 12
LOAD_BATCH = 1000
QUERIES_IN_FLIGHT = 8
COVERAGE_CHANGES = 1000  # of each kind: a job posted, a job gone, a seeker registered, one gone
LIMITS = Limits(64 * 1024, timedelta(days=1))
MODES = ("walk", "bike", "ebike", "transit", "car")


async def run(cfg: Settings, jobs: int, seekers: int, queries: int, seed: int) -> dict[str, Any]:
    redis = Redis.from_url(redis_database(cfg.redis_url, CIRCLE_REDIS_DB))
    await redis.flushdb()
    rng = random.Random(seed)
    began = time.perf_counter()
    await load_into(redis, rng, jobs, seekers)
    load_s = time.perf_counter() - began
    await redis.config_resetstat()
    latencies, found = await query(redis, cfg, rng, queries)
    redis_us = await script_time_us(redis)
    in_flight_per_s = await query_in_flight(redis, cfg, rng, queries)
    figures = {
        "open_jobs": jobs,
        "seekers": seekers,
        "load_events_per_s": round((jobs + seekers) / load_s),
        "queries": queries,
        "query_ms_p50": round(percentile(latencies, 0.5) * 1000, 2),
        "query_ms_p99": round(percentile(latencies, 0.99) * 1000, 2),
        "queries_per_s": round(queries / sum(latencies)),
        "queries_in_flight": QUERIES_IN_FLIGHT,
        "queries_per_s_in_flight": in_flight_per_s,
        "redis_us_per_query": redis_us,
        "mean_jobs_in_answer": round(sum(found) / len(found), 1),
        "geo_bytes_per_member": await bytes_per_member(redis, keys.GEO_JOBS, keys.GEO_SEEKERS),
    }
    await redis.flushdb()
    await redis.aclose()
    return figures


def load_city(redis_url: str, jobs: int, seekers: int, seed: int) -> None:
    """A fresh database holding a city of open jobs and seekers, for other benchmarks."""

    async def fill() -> None:
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        await load_into(redis, random.Random(seed), jobs, seekers)
        await redis.aclose()

    asyncio.run(fill())


async def load_into(redis: Redis, rng: random.Random, jobs: int, seekers: int) -> None:
    store = Store(redis, Rules(3_600_000), LIMITS, seen_ttl_s=3600, pending_ttl_ms=3_600_000)
    await load(store, JOBS, (job_event(rng, n) for n in range(jobs)))
    await load(store, SEEKERS, (seeker_event(rng, n) for n in range(seekers)))


async def load(store: Store, topic: Topic, events: Any) -> None:
    now = datetime.now(UTC)
    batch: list[Incoming] = []
    for offset, event in enumerate(events):
        key = topic.key_of(event["data"])
        raw = orjson.dumps(event)
        decoded = decode(topic, key.encode() if key else None, raw, now, LIMITS)
        assert isinstance(decoded, Event), decoded
        origin = Origin(topic.name, 0, offset, key.encode() if key else None, raw, 0)
        batch.append(Incoming(decoded, origin))
        if len(batch) == LOAD_BATCH:
            await store.apply(batch, int(now.timestamp() * 1000))
            batch = []
    if batch:
        await store.apply(batch, int(now.timestamp() * 1000))


async def query(
    redis: Redis, cfg: Settings, rng: random.Random, count: int
) -> tuple[list[float], list[int]]:
    model = cfg.travel_model()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    latencies, found = [], []
    for job_query in queries_at_random(rng, model, count):
        started = time.perf_counter()
        answer = await jobs_near(redis, model, job_query, now_ms)
        latencies.append(time.perf_counter() - started)
        found.append(answer.total)
    return latencies, found


async def query_in_flight(redis: Redis, cfg: Settings, rng: random.Random, count: int) -> int:
    """Queries/s with QUERIES_IN_FLIGHT outstanding at any time, as a busy server has them."""
    model = cfg.travel_model()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    waiting = list(queries_at_random(rng, model, count))

    async def client() -> None:
        while waiting:
            await jobs_near(redis, model, waiting.pop(), now_ms)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(QUERIES_IN_FLIGHT)))
    return round(count / (time.perf_counter() - started))


def queries_at_random(rng: random.Random, model: TravelModel, count: int) -> Iterator[JobQuery]:
    for _ in range(count):
        lat, lon = around(rng)
        circle = Circle(lat, lon, rng.choice(MODES), model.circle_minutes)
        yield JobQuery(circle, occupation=rng.choice(OCCUPATIONS).name)


async def script_time_us(redis: Redis) -> float:
    """Redis's mean time in the query's script since the statistics were reset."""
    stats = await redis.info("commandstats")
    return round(float(stats["cmdstat_evalsha"]["usec_per_call"]), 1)


def coverage_cost(model: TravelModel, jobs: int, seekers: int, seed: int) -> dict[str, Any]:
    """Seconds to build a city's coverage, then µs to apply one change-feed entry, by kind."""
    rng = random.Random(seed)
    coverage = Coverage(model)
    started = time.perf_counter()
    for n, (lat, lon) in enumerate(place_spots(rng)):
        changes.apply(coverage, place_change(f"place-{n}", lat, lon))
    for n in range(seekers):
        changes.apply(coverage, seeker_change(rng, f"seeker-{n}"))
    # As LiveCoverage builds: jobs last, all at once.
    coverage.add_jobs([changes.job_spot(job_change(rng, f"job-{n}")) for n in range(jobs)])
    figures: dict[str, Any] = {"build_seconds": round(time.perf_counter() - started, 1)}
    kinds = {
        "job_posted": [job_change(rng, f"job-new-{n}") for n in range(COVERAGE_CHANGES)],
        "job_gone": [changes.gone(changes.JOB, f"job-{n}") for n in range(COVERAGE_CHANGES)],
        "seeker_registered": [
            seeker_change(rng, f"seeker-new-{n}") for n in range(COVERAGE_CHANGES)
        ],
        "seeker_gone": [
            changes.gone(changes.SEEKER, f"seeker-{n}") for n in range(COVERAGE_CHANGES)
        ],
    }
    for kind, entries in kinds.items():
        spent = []
        for entry in entries:
            began = time.perf_counter()
            changes.apply(coverage, entry)
            spent.append(time.perf_counter() - began)
        figures[f"{kind}_us_mean"] = round(sum(spent) / len(spent) * 1e6, 1)
        figures[f"{kind}_us_p99"] = round(percentile(spent, 0.99) * 1e6, 1)
    return figures


def place_spots(rng: random.Random) -> Iterator[tuple[float, float]]:
    """Each district's market at its centre and its stations around it, as the simulator has."""
    for district in DISTRICTS:
        yield district.lat, district.lon
        for _ in range(STATIONS_PER_DISTRICT):
            yield around(rng, district)


def place_change(place_id: str, lat: float, lon: float) -> dict[str, str]:
    fields = {changes.KIND: changes.PLACE, changes.ID: place_id, changes.PRESENT: changes.HERE}
    return {**fields, changes.LAT: repr(lat), changes.LON: repr(lon), changes.DISTRICT: "-"}


def job_change(rng: random.Random, job_id: str) -> dict[str, str]:
    lat, lon = around(rng)
    fields = {changes.KIND: changes.JOB, changes.ID: job_id, changes.PRESENT: changes.HERE}
    occupation = rng.choices(OCCUPATIONS, [o.share for o in OCCUPATIONS])[0].name
    at = {changes.LAT: repr(lat), changes.LON: repr(lon)}
    return {**fields, **at, changes.OCCUPATION: occupation}


def seeker_change(rng: random.Random, seeker_id: str) -> dict[str, str]:
    lat, lon = around(rng)
    fields = {changes.KIND: changes.SEEKER, changes.ID: seeker_id, changes.PRESENT: changes.HERE}
    occupations = orjson.dumps([rng.choice(OCCUPATIONS).name]).decode()
    return {
        **fields,
        changes.LAT: repr(lat),
        changes.LON: repr(lon),
        changes.MODE: rng.choice(MODES),
        changes.OCCUPATIONS: occupations,
    }


def around(rng: random.Random, district: District | None = None) -> tuple[float, float]:
    """A point spread around a district's centre, the district drawn by population if not given."""
    if district is None:
        district = rng.choices(DISTRICTS, [d.population_weight for d in DISTRICTS])[0]
    lat = district.lat + rng.gauss(0, district.spread_km) / 111.32
    lon_km = 111.32 * math.cos(math.radians(district.lat))
    return round(lat, 6), round(district.lon + rng.gauss(0, district.spread_km) / lon_km, 6)


def job_event(rng: random.Random, n: int) -> dict[str, Any]:
    lat, lon = around(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    occupation = rng.choices(OCCUPATIONS, [o.share for o in OCCUPATIONS])[0]
    data = {
        "job_id": f"bench-job-{n}",
        "employer_id": "bench",
        "title": occupation.name,
        "occupation": occupation.name,
        "skills": [],
        "headcount": 1,
        "wage": {"amount": occupation.daily_wage, "unit": "day"},
        "location": {"lat": lat, "lon": lon},
        "shift": {
            "start": (now + timedelta(hours=2)).isoformat(),
            "end": (now + timedelta(hours=10)).isoformat(),
        },
    }
    return envelope(f"bench-job-{n}", "job.posted", data)


def seeker_event(rng: random.Random, n: int) -> dict[str, Any]:
    lat, lon = around(rng)
    data = {
        "seeker_id": f"bench-seeker-{n}",
        "occupations": [rng.choice(OCCUPATIONS).name],
        "skills": [],
        "home": {"lat": lat, "lon": lon},
        "travel_mode": rng.choice(MODES),
    }
    return envelope(f"bench-seeker-{n}", "seeker.registered", data)


def envelope(event_id: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    occurred_at = datetime.now(UTC).isoformat()
    return {
        "event_id": event_id,
        "type": event_type,
        "occurred_at": occurred_at,
        "source": "alipay",
        "data": data,
    }


async def bytes_per_member(redis: Redis, *geo_sets: str) -> int:
    used = members = 0
    for key in geo_sets:
        used += int(await redis.memory_usage(key, samples=0) or 0)
        members += int(await redis.zcard(key))
    return round(used / max(members, 1))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(cfg: Settings, jobs: int, seekers: int, queries: int) -> dict[str, Any]:
    return asyncio.run(run(cfg, jobs, seekers, queries, seed=11))


def coverage_main(cfg: Settings, jobs: int, seekers: int) -> dict[str, Any]:
    return coverage_cost(cfg.travel_model(), jobs, seekers, seed=12)
