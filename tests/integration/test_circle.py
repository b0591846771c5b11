"""GET /circle/jobs and /circle/markets on the real worker, against brute force over a small city.

Each run builds its own seeded random city far from the other tests' data, at
a spot in Xinjiang where no earlier or concurrent run left anything, publishes
it through Kafka, waits until the worker has indexed it, and compares every
answer with the travel model applied to every published job and place.
"""

import math
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
import orjson
import pytest
import redis
from kafka import KafkaProducer

from ops.settings import Settings
from processors import jobs
from processors.ledger import JOB, MARKET, Ref
from processors.travel import MODES
from streams import keys
from streams.indexes import card_blob
from streams.store import STATE, encode_state
from tests import factory
from tests.integration.conftest import Publisher, Worker, clear_spot, is_clear, wait_for
from topics.fields import Point, TravelMode
from topics.jobs import JobPosted

pytestmark = pytest.mark.integration

MODEL = Settings().travel_model()  # the worker's, read from the same environment
SEED = 20261127
OCCUPATIONS = ("装卸搬运工", "家政服务员", "快递员", "普工")
# Each run's city stands somewhere here, clear of every other run's by CLEAR_KM.
REGION = ((40.0, 45.0), (80.0, 90.0))
CITY_KM = 4.0  # half the width of the city
CLEAR_KM = 40.0  # more than the city and the longest query reach (car, 30 minutes: 9.6 km)
KM_PER_DEGREE = math.radians(1) * 6371.0088
MINUTES = (5.0, 10.0, 15.0, 20.0, 30.0)
THRESHOLD_WAGES = (  # each exactly 200 a day
    {"amount": 200, "unit": "day"},
    {"amount": 25, "unit": "hour"},
    {"amount": 4350, "unit": "month"},
)
PLACE_INDEXES = (keys.GEO_MARKETS, keys.GEO_STATIONS)
KNOT_JOBS = 6


@dataclass
class City:
    run: str
    centre: Point
    start: datetime  # the hour the first shifts begin
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # open: job_id -> data
    places: dict[str, dict[str, Any]] = field(default_factory=dict)  # active: market_id -> data
    closed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def point(self, rng: random.Random, km: float = CITY_KM) -> Point:
        return offset(self.centre, rng.uniform(-km, km), rng.uniform(-km, km))


def offset(origin: Point, north_km: float, east_km: float) -> Point:
    east_per_degree = KM_PER_DEGREE * math.cos(math.radians(origin.lat))
    return Point(origin.lat + north_km / KM_PER_DEGREE, origin.lon + east_km / east_per_degree)


def edge_east(job: Point, mode: TravelMode, minutes: float) -> tuple[Point, Point]:
    """The farthest point due east of the job still within `minutes`, and the next one out."""
    per_degree = MODEL.minutes(Point(job.lat, job.lon + 1), job, mode)
    lon = job.lon + minutes / per_degree
    for _ in range(3):  # Newton's method, down to a float or two
        lon += (minutes - MODEL.minutes(Point(job.lat, lon), job, mode)) / per_degree
    while MODEL.minutes(Point(job.lat, lon), job, mode) > minutes:
        lon = math.nextafter(lon, -math.inf)
    while MODEL.minutes(Point(job.lat, math.nextafter(lon, math.inf)), job, mode) <= minutes:
        lon = math.nextafter(lon, math.inf)
    return Point(job.lat, lon), Point(job.lat, math.nextafter(lon, math.inf))


def exactly_on_the_edge(rng: random.Random, near: Point) -> tuple[Point, Point, Point]:
    """A job, a point exactly MODEL.circle_minutes on foot east of it, and the next float east.

    Minutes move by thousands of ulps per ulp of longitude, so only some job
    latitudes have a point at exactly the edge (along a meridian in these
    latitudes none does: the latitude difference takes too few values).
    """
    for _ in range(100_000):
        job = offset(near, rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5))
        inside, beyond = edge_east(job, "walk", MODEL.circle_minutes)
        if MODEL.minutes(inside, job, "walk") == MODEL.circle_minutes:
            return job, inside, beyond
    raise AssertionError("no point exactly on the edge")


def shift(start: datetime, hours: int) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def random_wage(rng: random.Random) -> dict[str, Any]:
    unit = rng.choice(("hour", "day", "month", "piece"))
    low, high = {"hour": (18, 40), "day": (150, 300), "month": (3500, 7000), "piece": (1, 10)}[unit]
    return {"amount": round(rng.uniform(low, high), 1), "unit": unit}


@dataclass
class Edges:
    knot: Point  # where KNOT_JOBS jobs stand together and KNOT_JOBS more a hair apart
    walk_job: str
    walk_inside: Point  # exactly MODEL.circle_minutes on foot from walk_job
    walk_beyond: Point
    car_job: str
    car_inside: Point  # as far as a car gets in the circle's minutes, and a float further
    car_beyond: Point


def build(rng: random.Random, city: City) -> tuple[list[tuple[str, dict[str, Any]]], Edges]:
    """The city's events in publishing order, and the points on the edges of two jobs' circles."""
    events: list[tuple[str, dict[str, Any]]] = []

    def job(job_id: str, at: Point, **fields: Any) -> None:
        occupation = rng.choice(OCCUPATIONS)
        data = {
            "title": f"{occupation}·{job_id[-3:]}",
            "occupation": occupation,
            "headcount": rng.randint(1, 5),
            "wage": random_wage(rng),
            "location": {"lat": at.lat, "lon": at.lon, "district": "测试区"},
            "shift": shift(city.start + timedelta(hours=rng.randint(0, 40)), rng.randint(4, 10)),
            **fields,
        }
        event = factory.job_posted(job_id, 0, **data)
        city.jobs[job_id] = event["data"]
        events.append(("gig.jobs", event))

    for i in range(160):
        job(f"{city.run}-job-{i:03d}", city.point(rng))
    for i, wage in enumerate(THRESHOLD_WAGES):
        job(f"{city.run}-wage-{i}", city.point(rng, 1.0), wage=wage)
    knot = city.point(rng, 1.0)
    for i in range(KNOT_JOBS):
        job(f"{city.run}-knot-{i}", knot)  # ties, ordered by id
        job(f"{city.run}-row-{i}", offset(knot, 0, 0.0003 * (i + 1)))  # 0.3 m apart
    walk_at, walk_inside, walk_beyond = exactly_on_the_edge(rng, city.centre)
    job(f"{city.run}-edge-walk", walk_at)
    car_at = city.point(rng, 1.0)
    car_inside, car_beyond = edge_east(car_at, "car", MODEL.circle_minutes)
    job(f"{city.run}-edge-car", car_at)
    for i in range(40):
        kind = "market" if i < 12 else "station"
        market_id = f"{city.run}-{kind}-{i:02d}"
        at = city.point(rng)
        event = factory.market_upserted(
            market_id, 0, kind=kind, name=f"{kind} {i}", location={"lat": at.lat, "lon": at.lon}
        )
        city.places[market_id] = event["data"]
        events.append(("gig.markets", event))

    for job_id in [f"{city.run}-job-{i:03d}" for i in range(0, 160, 9)]:
        events.append(("gig.jobs", factory.job_closed(job_id, 1)))
        city.closed.append(job_id)
        del city.jobs[job_id]
    for market_id in list(city.places)[4::6]:
        events.append(("gig.markets", factory.market_removed(market_id, 1)))
        city.removed.append(market_id)
        del city.places[market_id]
    walk_job, car_job = f"{city.run}-edge-walk", f"{city.run}-edge-car"
    return events, Edges(knot, walk_job, walk_inside, walk_beyond, car_job, car_inside, car_beyond)


def indexed(db: redis.Redis, index: str, members: list[str]) -> bool:
    return all(position is not None for position in db.geopos(index, *members))


def recorded(db: redis.Redis, kind: str, ids: list[str], name: str) -> bool:
    """Whether every entity's state has the field set (a close, a removal)."""
    blobs = [db.hget(keys.state(Ref(kind, entity_id)), STATE) for entity_id in ids]
    return all(blob is not None and orjson.loads(blob).get(name) is not None for blob in blobs)


@pytest.fixture(scope="module")
def city(producer: KafkaProducer, worker: Worker, db: redis.Redis) -> Iterator[tuple[City, Edges]]:
    run = uuid.uuid4().hex[:8]
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    town = City(
        run,
        clear_spot(db, f"{SEED}:{run}", REGION, (keys.GEO_JOBS, *PLACE_INDEXES), CLEAR_KM),
        start,
    )
    events, edges = build(random.Random(SEED), town)
    publish = Publisher(producer)
    for topic, event in events:
        publish.event(topic, event)
    stations = [i for i, p in town.places.items() if p["kind"] == "station"]
    markets = [i for i, p in town.places.items() if p["kind"] == "market"]
    wait_for(lambda: indexed(db, keys.GEO_JOBS, list(town.jobs)), "the open jobs indexed")
    wait_for(lambda: indexed(db, keys.GEO_MARKETS, markets), "the markets indexed")
    wait_for(lambda: indexed(db, keys.GEO_STATIONS, stations), "the stations indexed")
    wait_for(lambda: recorded(db, JOB, town.closed, "closed_reason"), "the closes applied")
    wait_for(lambda: recorded(db, MARKET, town.removed, "removed_ms"), "the removals applied")
    yield town, edges
    for job_id in town.jobs:  # leave the spot clear for later runs
        publish.event("gig.jobs", factory.job_closed(job_id, 2))
    for market_id in town.places:
        publish.event("gig.markets", factory.market_removed(market_id, 2))
    wait_for(
        lambda: is_clear(db, town.centre, (keys.GEO_JOBS, *PLACE_INDEXES), CLEAR_KM),
        "the test city cleared away",
    )


def get(worker: Worker, path: str, query: str) -> tuple[int, str, Any]:
    """Status, content type and JSON body of GET path?query."""
    try:
        with urllib.request.urlopen(f"{worker.url}{path}?{query}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], orjson.loads(error.read())


def every_item(worker: Worker, path: str, params: dict[str, Any]) -> tuple[list[Any], int]:
    """All pages of a query, a hundred at a time, and the total each page reported."""
    items: list[Any] = []
    totals = set()
    while True:
        status, _, body = get(
            worker, path, urlencode({**params, "offset": len(items), "limit": 100})
        )
        assert status == 200, body
        items += body["items"]
        totals.add(body["total"])
        if not body["items"]:
            break
    assert len(totals) == 1, totals
    return items, totals.pop()


def daily(wage: dict[str, Any]) -> float | None:
    amount = wage["amount"]
    return {"hour": amount * 8, "day": amount, "month": amount / 21.75}.get(wage["unit"])


def brute_jobs(
    town: City,
    at: Point,
    mode: TravelMode,
    minutes: float,
    occupation: str | None = None,
    min_daily_wage: float | None = None,
    shift_start: datetime | None = None,
    shift_end: datetime | None = None,
) -> list[tuple[str, float]]:
    """(job_id, travel_minutes) of every open job that answers the query, nearest first."""
    hits = []
    for job_id, job in town.jobs.items():
        spent = MODEL.minutes(at, Point(job["location"]["lat"], job["location"]["lon"]), mode)
        pay = daily(job["wage"])
        start = datetime.fromisoformat(job["shift"]["start"])
        end = datetime.fromisoformat(job["shift"]["end"])
        if (
            spent <= minutes
            and occupation in (None, job["occupation"])
            and (min_daily_wage is None or (pay is not None and pay >= min_daily_wage))
            and (shift_start is None or end > shift_start)
            and (shift_end is None or start < shift_end)
        ):
            hits.append((spent, job_id))
    return [(job_id, round(spent, 1)) for spent, job_id in sorted(hits)]


def brute_places(
    town: City, at: Point, mode: TravelMode, minutes: float, kind: str | None = None
) -> list[tuple[str, str, float]]:
    hits = []
    for market_id, place in town.places.items():
        spent = MODEL.minutes(at, Point(place["location"]["lat"], place["location"]["lon"]), mode)
        if spent <= minutes and kind in (None, place["kind"]):
            hits.append((spent, market_id, place["kind"]))
    return [(market_id, kind, round(spent, 1)) for spent, market_id, kind in sorted(hits)]


def circle_params(at: Point, mode: TravelMode, minutes: float) -> dict[str, Any]:
    # repr keeps every digit, so the worker measures from exactly this point.
    return {"lat": repr(at.lat), "lon": repr(at.lon), "mode": mode, "minutes": repr(minutes)}


def served_jobs(worker: Worker, params: dict[str, Any]) -> tuple[list[tuple[str, float]], int]:
    items, total = every_item(worker, "/circle/jobs", params)
    return [(item["job_id"], item["travel_minutes"]) for item in items], total


def test_jobs_near_random_points_are_what_brute_force_finds(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, _ = city
    rng = random.Random(SEED + 1)
    for _ in range(25):
        at, mode, minutes = town.point(rng, CITY_KM + 1), rng.choice(MODES), rng.choice(MINUTES)
        expected = brute_jobs(town, at, mode, minutes)
        served, total = served_jobs(worker, circle_params(at, mode, minutes))
        assert served == expected, (at, mode, minutes)
        assert total == len(expected)


def test_filters_on_occupation_daily_wage_and_shift_are_what_brute_force_finds(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, _ = city
    rng = random.Random(SEED + 2)
    for _ in range(25):
        at, mode = town.point(rng), rng.choice(("ebike", "transit", "car"))
        filters: dict[str, Any] = {}
        if rng.random() < 0.5:
            filters["occupation"] = rng.choice(OCCUPATIONS)
        if rng.random() < 0.5:
            filters["min_daily_wage"] = rng.choice((0.0, 150.0, 200.0, 250.0))
        if rng.random() < 0.5:
            filters["shift_start"] = town.start + timedelta(hours=rng.randint(0, 40))
        if rng.random() < 0.5:
            filters["shift_end"] = town.start + timedelta(hours=rng.randint(41, 60))
        expected = brute_jobs(town, at, mode, 30.0, **filters)
        params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items()}
        served, total = served_jobs(worker, {**circle_params(at, mode, 30.0), **params})
        assert served == expected, (at, mode, filters)
        assert total == len(expected)


def test_a_daily_wage_of_exactly_the_minimum_qualifies_by_hour_day_and_month(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, _ = city
    params = {**circle_params(town.centre, "car", 30.0), "min_daily_wage": "200"}
    items, _ = every_item(worker, "/circle/jobs", params)
    served = {item["job_id"]: item["daily_wage"] for item in items}
    for i in range(len(THRESHOLD_WAGES)):
        assert served[f"{town.run}-wage-{i}"] == 200
    assert all(pay is not None and pay >= 200 for pay in served.values())


def test_a_job_exactly_on_the_edge_of_the_circle_is_served_and_a_float_further_it_is_not(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, edges = city
    walk_at = town.jobs[edges.walk_job]["location"]
    assert MODEL.minutes(edges.walk_inside, Point(walk_at["lat"], walk_at["lon"]), "walk") == 15.0
    cases = [
        (edges.walk_inside, "walk", edges.walk_job, True),
        (edges.walk_beyond, "walk", edges.walk_job, False),
        (edges.car_inside, "car", edges.car_job, True),
        (edges.car_beyond, "car", edges.car_job, False),
    ]
    for at, mode, job_id, inside in cases:
        params = {k: v for k, v in circle_params(at, mode, 15.0).items() if k != "minutes"}
        served, _ = served_jobs(worker, params)  # the circle's own minutes, by default
        assert (job_id in dict(served)) is inside, (mode, inside)
        assert served == brute_jobs(town, at, mode, MODEL.circle_minutes)
    served, _ = served_jobs(worker, circle_params(edges.walk_inside, "walk", 15.0))
    assert dict(served)[edges.walk_job] == 15.0


def test_pages_follow_one_order_by_travel_minutes_then_id(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, _ = city
    params = circle_params(town.centre, "car", 30.0)
    expected = brute_jobs(town, town.centre, "car", 30.0)
    assert len(expected) > 100  # more than one full page of a hundred
    served: list[tuple[str, float]] = []
    for offset in range(0, len(expected) + 7, 7):
        query = urlencode({**params, "offset": offset, "limit": 7})
        status, _, body = get(worker, "/circle/jobs", query)
        assert status == 200
        assert (body["total"], body["offset"], body["limit"]) == (len(expected), offset, 7)
        served += [(item["job_id"], item["travel_minutes"]) for item in body["items"]]
    assert served == expected
    minutes = [item[1] for item in served]
    assert minutes == sorted(minutes)


def test_jobs_together_or_a_hair_apart_are_paged_one_by_one_in_the_models_order(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, edges = city
    # Redis measures distance a little differently: a page boundary among
    # near-ties must still fall where the travel model puts it.
    at = offset(edges.knot, 0.1, 0.0)
    params = circle_params(at, "walk", 5.0)
    expected = brute_jobs(town, at, "walk", 5.0)
    served = []
    for offset_ in range(len(expected) + 1):
        status, _, body = get(
            worker, "/circle/jobs", urlencode({**params, "offset": offset_, "limit": 1})
        )
        assert status == 200 and body["total"] == len(expected)
        served += [(item["job_id"], item["travel_minutes"]) for item in body["items"]]
    assert served == expected
    assert len(expected) >= 2 * KNOT_JOBS


def test_a_job_is_served_with_what_was_published_and_nothing_personal(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, _ = city
    params = {**circle_params(town.centre, "car", 30.0), "limit": 100}
    status, content_type, body = get(worker, "/circle/jobs", urlencode(params))
    assert status == 200 and content_type.startswith("application/json")
    for item in body["items"]:
        job = town.jobs[item["job_id"]]
        assert set(item) == {
            "job_id",
            "title",
            "occupation",
            "wage",
            "daily_wage",
            "shift",
            "lat",
            "lon",
            "district",
            "travel_minutes",
        }
        assert (item["title"], item["occupation"], item["wage"]) == (
            job["title"],
            job["occupation"],
            {**job["wage"], "amount": float(job["wage"]["amount"])},
        )
        assert (item["lat"], item["lon"]) == (job["location"]["lat"], job["location"]["lon"])
        assert item["district"] == "测试区"
        for end in ("start", "end"):
            published = datetime.fromisoformat(job["shift"][end])
            assert datetime.fromisoformat(item["shift"][end]) == published
        pay = daily(job["wage"])
        assert item["daily_wage"] == (None if pay is None else round(pay, 2))


def test_markets_and_stations_near_random_points_are_what_brute_force_finds(
    city: tuple[City, Edges], worker: Worker
) -> None:
    town, _ = city
    rng = random.Random(SEED + 3)
    for _ in range(25):
        at, mode, minutes = town.point(rng, CITY_KM + 1), rng.choice(MODES), rng.choice(MINUTES)
        kind = rng.choice((None, "market", "station"))
        params = circle_params(at, mode, minutes) | ({} if kind is None else {"kind": kind})
        items, total = every_item(worker, "/circle/markets", params)
        served = [(item["market_id"], item["kind"], item["travel_minutes"]) for item in items]
        expected = brute_places(town, at, mode, minutes, kind)
        assert served == expected, (at, mode, minutes, kind)
        assert total == len(expected)
    everything, _ = every_item(worker, "/circle/markets", circle_params(town.centre, "car", 30.0))
    assert {item["market_id"] for item in everything} == set(town.places)
    place = town.places[everything[0]["market_id"]]
    assert everything[0]["name"] == place["name"] and everything[0]["district"] == "京口区"


def test_a_job_past_its_expiry_is_not_served_while_the_sweep_has_not_removed_it(
    city: tuple[City, Edges], worker: Worker, db: redis.Redis
) -> None:
    town, _ = city
    here = offset(town.centre, 20.0, 0.0)  # in this run's clear spot, out of the city's reach
    now = datetime.now(UTC).replace(microsecond=0)
    written = {
        f"{town.run}-lagging": now - timedelta(minutes=1),  # expired a minute ago
        f"{town.run}-current": now + timedelta(hours=1),
    }
    try:
        for job_id, expires_at in written.items():
            # Written straight to Redis as the store writes it, as if the sweep had not run.
            data = factory.job_posted(
                job_id,
                0,
                location={"lat": here.lat, "lon": here.lon},
                shift=shift(town.start, 8),
                expires_at=expires_at.isoformat(),
            )["data"]
            state = jobs.JobState(msgspec.convert(data, JobPosted, strict=False), {}, {})
            db.hset(keys.state(Ref(JOB, job_id)), mapping=encode_state(state))
            card = card_blob(Ref(JOB, job_id), state, now_ms=0)  # open at 0, whatever its expiry
            assert card is not None
            db.hset(keys.JOB_CARDS, job_id, card)
            db.zadd(keys.DUE_JOBS, {job_id: jobs.deadline_ms(state)})
            db.geoadd(keys.GEO_JOBS, (here.lon, here.lat, job_id))
        served, total = served_jobs(worker, circle_params(here, "walk", 15.0))
        assert served == [(f"{town.run}-current", 0.0)] and total == 1
    finally:
        for job_id in written:
            db.zrem(keys.GEO_JOBS, job_id)
            db.zrem(keys.DUE_JOBS, job_id)
            db.hdel(keys.JOB_CARDS, job_id)
            db.delete(keys.state(Ref(JOB, job_id)))


AT = "lat=32.2&lon=119.45&mode=walk"
REFUSED = [
    ("/circle/jobs", "lon=119.45&mode=walk", "lat is missing: give the latitude in degrees"),
    ("/circle/jobs", "lat=abc&lon=119.45&mode=walk", "lat 'abc' is not a number"),
    ("/circle/jobs", "lat=95.2&lon=119.45&mode=walk", "lat 95.2 is outside -85.05112878..85.05"),
    ("/circle/jobs", "lat=32.2&lon=181&mode=walk", "lon 181.0 is outside -180..180"),
    ("/circle/jobs", "lat=32.2&lon=119.45", "mode is missing: give the travel mode, one of walk,"),
    (
        "/circle/jobs",
        "lat=32.2&lon=119.45&mode=plane",
        "mode 'plane' is not one of walk, bike, ebike, transit, car",
    ),
    ("/circle/jobs", f"{AT}&minutes=0", "minutes 0.0 must be more than 0 and at most 120"),
    ("/circle/jobs", f"{AT}&minutes=121", "minutes 121.0 must be more than 0 and at most 120"),
    ("/circle/jobs", f"{AT}&limit=101", "limit 101 must be 1..100"),
    ("/circle/jobs", f"{AT}&offset=-3", "offset -3 must be 0 or more"),
    ("/circle/jobs", f"{AT}&occupation=", "occupation is empty"),
    ("/circle/jobs", f"{AT}&min_daily_wage=lots", "min_daily_wage 'lots' is not a number"),
    ("/circle/jobs", f"{AT}&shift_start=tomorrow", "shift_start 'tomorrow' is not an RFC 3339"),
    (
        "/circle/jobs",
        f"{AT}&shift_start=2026-11-27T13:00:00+08:00",  # the + left raw: a space
        "(in a URL, write the + of an offset as %2B)",
    ),
    ("/circle/jobs", f"{AT}&shift_end=2026-11-27T13:00:00", "has no UTC offset"),
    (
        "/circle/jobs",
        f"{AT}&shift_start=2026-11-27T14:00:00Z&shift_end=2026-11-27T13:00:00Z",
        "shift_end 2026-11-27T13:00:00+00:00 is not after shift_start 2026-11-27T14:00:00+00:00",
    ),
    ("/circle/jobs", f"{AT}&mode=bike", "mode is given more than once"),
    ("/circle/jobs", f"{AT}&radius=3", "unknown parameter 'radius'; the parameters are lat, lon"),
    ("/circle/markets", f"{AT}&kind=shop", "kind 'shop' is not one of market, station"),
    ("/circle/markets", f"{AT}&minutes=-1", "minutes -1.0 must be more than 0"),
    ("/circle/markets", f"{AT}&occupation={quote('普工')}", "unknown parameter 'occupation'"),
    ("/circle/markets", "lat=32.2&lon=&mode=walk", "lon is empty: give a number"),
]


@pytest.mark.parametrize(("path", "query", "reason"), REFUSED)
def test_each_bad_parameter_gets_a_400_with_a_one_line_reason(
    worker: Worker, path: str, query: str, reason: str
) -> None:
    status, content_type, body = wait_for(lambda: get_when_up(worker, path, query), "the worker")
    assert status == 400
    assert content_type.startswith("application/json")
    assert set(body) == {"error"}
    assert reason in body["error"] and "\n" not in body["error"]


def get_when_up(worker: Worker, path: str, query: str) -> tuple[int, str, Any] | None:
    """The reply, or None while the worker's web server is not listening yet."""
    try:
        return get(worker, path, query)
    except urllib.error.URLError as error:
        if isinstance(error, urllib.error.HTTPError):
            raise
        return None
