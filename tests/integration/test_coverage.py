"""GET /circle/coverage and /circle/gaps of the circle process, against a recompute of a town.

Each run builds a seeded random town at a spot in Heilongjiang where no other
run left anything within CLEAR_KM, publishes it through Kafka, and compares
the circle's live coverage of the town's H3 cells (which only this town's
seekers occupy) with processors.circle.recompute over what was published; the
gaps, restricted to a box around the town, with a brute-force greedy. Another
part of the spot checks the circle's incremental coverage against a fresh
build from Redis, and a third that the expiry sweep uncovers a seeker.
"""

import asyncio
import math
import random
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import h3
import orjson
import pytest
import redis
from kafka import KafkaProducer
from redis.asyncio import Redis

from processors.circle import (
    Gap,
    JobSpot,
    PlaceSpot,
    SeekerSpot,
    Share,
    Shares,
    cell_of,
    recompute,
)
from processors.travel import MODES
from streams import keys
from streams.coverage import LiveCoverage
from tests import factory
from tests.integration.conftest import DEADLINE_S, Publisher, Worker, clear_spot, is_clear, wait_for
from tests.integration.test_circle import MODEL, offset
from tests.processors.test_circle import brute_force_greedy
from topics.fields import Point, TravelMode

pytestmark = pytest.mark.integration

SEED = 20261128
OCCUPATIONS = ("装卸搬运工", "家政服务员", "快递员")
REGION = ((45.0, 48.0), (120.0, 126.0))  # clear of test_circle's region
TOWN_KM = 4.0  # half the width of the town
CLEAR_KM = 40.0  # the town, the two side areas and a car's circle around them
SIDE_KM = 20.0  # the rebuild area lies this far north of the centre, the expiry area south
INDEXES = (keys.GEO_JOBS, keys.GEO_MARKETS, keys.GEO_STATIONS, keys.GEO_SEEKERS)
COUNTS = ("seekers", "covered_for_work", "covered_for_place", "covered")


@dataclass
class Town:
    """What is published and still counts: the seekers, open jobs and active places."""

    run: str
    centre: Point
    publish: Publisher
    shift: dict[str, str]
    seekers: dict[str, SeekerSpot] = field(default_factory=dict)
    jobs: dict[str, JobSpot] = field(default_factory=dict)
    places: dict[str, PlaceSpot] = field(default_factory=dict)
    cells: set[str] = field(default_factory=set)  # every cell a seeker of the town ever lived in
    ids: dict[str, set[str]] = field(default_factory=dict)  # topic -> every id published

    def point(self, rng: random.Random, km: float = TOWN_KM, north_km: float = 0) -> Point:
        return offset(self.centre, north_km + rng.uniform(-km, km), rng.uniform(-km, km))

    def seeker(
        self, seeker_id: str, at: Point, mode: TravelMode, occupations: list[str], minute: int
    ) -> None:
        home = {"lat": at.lat, "lon": at.lon}
        self._send(
            "gig.seekers",
            seeker_id,
            factory.seeker_registered(
                seeker_id, minute, home=home, travel_mode=mode, occupations=occupations
            ),
        )
        spot = SeekerSpot(seeker_id, at.lat, at.lon, mode, frozenset(occupations), None)
        self.seekers[seeker_id] = spot
        self.cells.add(cell_of(at.lat, at.lon))

    def withdraw(self, seeker_id: str, minute: int) -> None:
        self._send("gig.seekers", seeker_id, factory.seeker_withdrawn(seeker_id, minute))
        del self.seekers[seeker_id]

    def job(self, job_id: str, at: Point, occupation: str, minute: int, **fields: Any) -> None:
        location = {"lat": at.lat, "lon": at.lon}
        self._send(
            "gig.jobs",
            job_id,
            factory.job_posted(
                job_id, minute, occupation=occupation, location=location, shift=self.shift, **fields
            ),
        )
        self.jobs[job_id] = JobSpot(job_id, at.lat, at.lon, occupation)

    def close(self, job_id: str, minute: int) -> None:
        self._send("gig.jobs", job_id, factory.job_closed(job_id, minute))
        del self.jobs[job_id]

    def place(self, market_id: str, at: Point, minute: int) -> None:
        kind = "market" if zlib.crc32(market_id.encode()) % 2 else "station"
        location = {"lat": at.lat, "lon": at.lon}
        self._send(
            "gig.markets",
            market_id,
            factory.market_upserted(market_id, minute, kind=kind, location=location),
        )
        self.places[market_id] = PlaceSpot(market_id, at.lat, at.lon)

    def remove(self, market_id: str, minute: int) -> None:
        self._send("gig.markets", market_id, factory.market_removed(market_id, minute))
        del self.places[market_id]

    def recompute(self) -> Shares:
        return recompute(self.seekers.values(), self.jobs.values(), self.places.values(), MODEL)

    def clear_away(self, minute: int) -> None:
        for seeker_id in list(self.seekers):
            self.withdraw(seeker_id, minute)
        for job_id in list(self.jobs):
            self.close(job_id, minute)
        for market_id in list(self.places):
            self.remove(market_id, minute)

    def _send(self, topic: str, entity_id: str, event: dict[str, Any]) -> None:
        self.ids.setdefault(topic, set()).add(entity_id)
        self.publish.event(topic, event)


def get(circle: Worker, path: str, query: str = "") -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"{circle.url}{path}?{query}", timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def counts(share: Share | None) -> tuple[int, ...]:
    return (0, 0, 0, 0) if share is None else tuple(getattr(share, name) for name in COUNTS)


def served_cells(circle: Worker, cells: set[str]) -> dict[str, tuple[int, ...]]:
    status, body = get(circle, "/circle/coverage")
    assert status == 200, body
    served = body["cells"]
    return {c: tuple(served[c][n] for n in COUNTS) if c in served else counts(None) for c in cells}


def expected_cells(shares: Shares, cells: set[str]) -> dict[str, tuple[int, ...]]:
    return {cell: counts(shares.cells.get(cell)) for cell in cells}


def serves(circle: Worker, town: Town) -> bool:
    try:
        served = served_cells(circle, town.cells)
    except urllib.error.URLError:  # the circle's web server not up yet
        assert circle.alive(), "the circle died"
        return False
    return served == expected_cells(town.recompute(), town.cells)


def random_mode(rng: random.Random) -> TravelMode:
    # Mostly on foot or by bike: small circles, so some seekers have no place in reach.
    return rng.choice(("walk", "walk", "walk", "bike", *MODES))


def build(rng: random.Random, town: Town) -> None:
    for i in range(120):
        occupations = rng.sample(OCCUPATIONS, rng.randint(1, 2))
        town.seeker(f"{town.run}-s{i:03d}", town.point(rng), random_mode(rng), occupations, 0)
    for i in range(40):
        town.job(f"{town.run}-j{i:03d}", town.point(rng), rng.choice(OCCUPATIONS), 0)
    for i in range(8):
        town.place(f"{town.run}-p{i}", town.point(rng), 0)


def change(rng: random.Random, town: Town) -> None:
    """Closes, withdrawals, removals, moves and new postings, a minute after the first."""
    for job_id in rng.sample(sorted(town.jobs), 8):
        town.close(job_id, 1)
    for seeker_id in rng.sample(sorted(town.seekers), 15):
        town.withdraw(seeker_id, 1)
    for market_id in rng.sample(sorted(town.places), 2):
        town.remove(market_id, 1)
    for seeker_id in rng.sample(sorted(town.seekers), 10):  # moved home, another mode
        before = town.seekers[seeker_id]
        town.seeker(seeker_id, town.point(rng), random_mode(rng), sorted(before.occupations), 1)
    for market_id in rng.sample(sorted(town.places), 1):  # moved
        town.place(market_id, town.point(rng), 1)
    for i in range(40, 46):
        town.job(f"{town.run}-j{i:03d}", town.point(rng), rng.choice(OCCUPATIONS), 1)


@pytest.fixture(scope="module")
def town(
    producer: KafkaProducer, worker: Worker, circle: Worker, db: redis.Redis
) -> Iterator[Town]:
    run = uuid.uuid4().hex[:8]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    shift = {"start": start.isoformat(), "end": (start + timedelta(hours=8)).isoformat()}
    built = Town(
        run, clear_spot(db, f"{SEED}:{run}", REGION, INDEXES, CLEAR_KM), Publisher(producer), shift
    )
    rng = random.Random(SEED)
    build(rng, built)
    wait_for(lambda: serves(circle, built), "the town's first coverage served")
    change(rng, built)
    yield built
    built.clear_away(2)
    wait_for(lambda: is_clear(db, built.centre, INDEXES, CLEAR_KM), "the test town cleared away")


def test_live_coverage_of_the_towns_cells_equals_a_recompute_after_closes_and_withdrawals(
    town: Town, circle: Worker
) -> None:
    wait_for(lambda: serves(circle, town), "the town's changed coverage served")
    expected = town.recompute()
    assert 0 < expected.city.covered < expected.city.seekers  # the town tests something
    assert 0 < expected.city.covered_for_place < expected.city.seekers
    status, body = get(circle, "/circle/coverage")
    assert status == 200
    some = next(iter(sorted(town.cells & expected.cells.keys())))
    share = body["cells"][some]
    assert share["share"] == share["covered"] / share["seekers"]
    assert body["city"]["seekers"] >= expected.city.seekers
    # Homes count in their nearest place's district; the town's places are in 京口区.
    assert body["districts"]["京口区"]["seekers"] >= expected.city.seekers


def uncovered_for_place(town: Town) -> list[SeekerSpot]:
    places = town.places.values()
    return [s for s in town.seekers.values() if not any(MODEL.within(s, p, s.mode) for p in places)]


def test_gaps_in_a_box_around_the_town_equal_a_brute_force_greedy(
    town: Town, circle: Worker
) -> None:
    wait_for(lambda: serves(circle, town), "the town's changed coverage served")
    south_west = offset(town.centre, -TOWN_KM - 1, -TOWN_KM - 1)
    north_east = offset(town.centre, TOWN_KM + 1, TOWN_KM + 1)
    box = f"{south_west.lat!r},{south_west.lon!r},{north_east.lat!r},{north_east.lon!r}"
    # Every cell whose centre a car reaches from the box: its half-diagonal and a car's circle.
    reach_km = math.hypot(TOWN_KM + 1, TOWN_KM + 1) + MODEL.radius_km("car") + 1
    edge_km = h3.average_hexagon_edge_length(8, unit="km")
    cells = h3.grid_disk(cell_of(town.centre.lat, town.centre.lon), math.ceil(reach_km / edge_km))
    expected = brute_force_greedy(uncovered_for_place(town), cells, MODEL, 5)
    assert len(expected) == 5
    status, body = get(circle, "/circle/gaps", urlencode({"k": 5, "bbox": box}))
    assert status == 200, body
    assert [Gap(**item) for item in body["items"]] == expected


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("k=0", "k 0 must be 1..50"),
        ("k=51", "k 51 must be 1..50"),
        ("k=x", "k 'x' is not a whole number"),
        ("bbox=1,2,3", "bbox '1,2,3' is not four numbers: south,west,north,east"),
    ],
)
def test_a_bad_gaps_parameter_gets_400_and_what_to_change(
    circle: Worker, query: str, reason: str
) -> None:
    assert get(circle, "/circle/gaps", query) == (400, {"error": reason})


async def rebuilt_equals_incremental(
    incremental: LiveCoverage, redis_url: str, circle: Worker, cells: set[str]
) -> bool:
    """Whether a fresh build from Redis equals the coverage kept by the feed, and the circle's."""
    now_ms = time.time_ns() // 1_000_000
    fresh_redis = Redis.from_url(redis_url)
    try:
        fresh = await LiveCoverage(fresh_redis, MODEL).shares(now_ms)
    finally:
        await fresh_redis.aclose()
    kept = await incremental.shares(now_ms)  # caught up to at least where the fresh one read
    served = await asyncio.to_thread(served_cells, circle, cells)
    return kept == fresh and served == expected_cells(fresh, cells)


async def test_the_coverage_kept_from_the_feed_equals_a_fresh_build_from_redis(
    town: Town, circle: Worker, worker_env: dict[str, str]
) -> None:
    url = worker_env["GIGSTREAM_REDIS_URL"]
    redis_client = Redis.from_url(url)
    incremental = LiveCoverage(redis_client, MODEL)
    side = Town(town.run + "n", town.centre, town.publish, town.shift)
    try:
        await incremental.shares(time.time_ns() // 1_000_000)  # built before the side area
        rng = random.Random(SEED + 1)
        for i in range(40):
            at = side.point(rng, 3.0, SIDE_KM)
            side.seeker(f"{side.run}-s{i:02d}", at, random_mode(rng), [rng.choice(OCCUPATIONS)], 0)
        for i in range(15):
            side.job(f"{side.run}-j{i:02d}", side.point(rng, 3.0, SIDE_KM), OCCUPATIONS[0], 0)
        for i in range(3):
            side.place(f"{side.run}-p{i}", side.point(rng, 3.0, SIDE_KM), 0)
        for job_id in sorted(side.jobs)[:4]:
            side.close(job_id, 1)
        for seeker_id in sorted(side.seekers)[:6]:
            side.withdraw(seeker_id, 1)
        side.remove(sorted(side.places)[0], 1)
        await asyncio.to_thread(wait_for, lambda: serves(circle, side), "the side area served")
        end = time.monotonic() + DEADLINE_S
        while not await rebuilt_equals_incremental(incremental, url, circle, side.cells):
            assert time.monotonic() < end, "the kept coverage never equalled a fresh build"
            await asyncio.sleep(0.2)
    finally:
        side.clear_away(2)
        await redis_client.aclose()


def test_the_expiry_sweep_takes_an_expired_job_out_of_the_coverage(
    town: Town, circle: Worker
) -> None:
    side = Town(town.run + "x", town.centre, town.publish, town.shift)
    home = side.point(random.Random(SEED + 2), 1.0, -SIDE_KM)
    try:
        side.seeker(f"{side.run}-s", home, "walk", [OCCUPATIONS[0]], 0)
        expires = datetime.now(UTC) + timedelta(seconds=15)
        side.job(f"{side.run}-j", home, OCCUPATIONS[0], 0, expires_at=expires.isoformat())
        cell = cell_of(home.lat, home.lon)
        wait_for(lambda: served_cells(circle, {cell})[cell] == (1, 1, 0, 0), "the seeker covered")
        assert datetime.now(UTC) < expires, "the circle took too long to check the job was open"
        del side.jobs[f"{side.run}-j"]  # expired, not closed
        wait_for(lambda: served_cells(circle, {cell})[cell] == (1, 0, 0, 0), "the job swept")
        assert datetime.now(UTC) >= expires
    finally:
        side.clear_away(2)


def test_the_coverage_gauges_are_exported(town: Town, circle: Worker) -> None:
    wait_for(lambda: serves(circle, town), "the town's changed coverage served")
    seekers = wait_for(lambda: circle.metric("gigstream_circle_seekers"), "the seekers gauge")
    assert seekers >= len(town.seekers)
    for covered_for in ("work", "place", "both"):
        labels = {"for": covered_for}
        assert 0 <= circle.metric("gigstream_circle_covered_seekers", **labels) <= seekers


def by_rank(circle: Worker) -> dict[str, dict[str, float]]:
    """The gap gauges of one scrape: gauge name -> rank -> value."""
    found: dict[str, dict[str, float]] = {}
    for sample in circle.scrape(timeout_s=10).samples:
        if sample.name.startswith("gigstream_circle_gap_"):
            found.setdefault(sample.name, {})[sample.labels["rank"]] = sample.value
    return found


def test_the_best_station_sites_are_exported_by_rank(town: Town, circle: Worker) -> None:
    wait_for(lambda: serves(circle, town), "the town's changed coverage served")
    gauges = wait_for(
        lambda: (g := by_rank(circle)) and g.get("gigstream_circle_gap_seekers", {}).get("1") and g,
        "the best site's gauge",
    )
    brought_in = [gauges["gigstream_circle_gap_seekers"][str(rank)] for rank in range(1, 6)]
    assert brought_in[0] > 0
    assert brought_in == sorted(brought_in, reverse=True)  # greedy: each pick brings fewer in
    lat, lon = gauges["gigstream_circle_gap_lat"]["1"], gauges["gigstream_circle_gap_lon"]["1"]
    assert -90 <= lat <= 90 and -180 <= lon <= 180
