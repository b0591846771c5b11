"""Matching on the real worker: index-based candidates against brute force, pushes, ranked lists.

Each run uses occupations of its own, so the per-occupation indexes it reads
hold only its own seekers and jobs, and stands at a spot no other run used.
"""

import asyncio
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import redis
from kafka import KafkaProducer
from redis.asyncio import Redis

from ops.settings import Settings
from processors import jobs, seekers
from processors.cards import JobCard, job_card, seeker_card
from processors.matching import Match, SeekerNow, Weights, best_jobs, best_seekers
from processors.travel import MODES
from streams import keys
from streams.match_queries import jobs_near_seekers, seekers_near_jobs
from streams.matcher import GROUP
from tests import factory
from tests.integration.conftest import (
    BEARER,
    Publisher,
    Tail,
    Worker,
    clear_spot,
    wait_for,
)
from tests.integration.test_circle import offset, random_wage
from topics.fields import Point
from topics.jobs import JobPosted
from topics.outputs import notification_id
from topics.seekers import SeekerRegistered

pytestmark = pytest.mark.integration

CFG = Settings()  # the worker's, read from the same environment
MODEL = CFG.travel_model()
WEIGHTS = Weights()
SEED = 3
REGION = ((45.0, 48.0), (120.0, 126.0))
CLEAR_KM = 30.0
CITY_KM = 5.0
INDEXES = (keys.GEO_SEEKERS, keys.GEO_JOBS, keys.GEO_CHECKINS)


@dataclass
class City:
    run: str
    centre: Point
    now: datetime
    occupations: tuple[str, str]
    seekers: dict[str, SeekerNow] = field(default_factory=dict)  # active ones
    withdrawn: list[str] = field(default_factory=list)
    jobs: dict[str, JobCard] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def point(self, rng: random.Random, km: float = CITY_KM) -> Point:
        return offset(self.centre, rng.uniform(-km, km), rng.uniform(-km, km))

    def at(self, hours: float) -> str:
        return (self.now + timedelta(hours=hours)).isoformat()


def seeker_events(rng: random.Random, city: City, index: int) -> None:
    seeker_id = f"{city.run}-s{index:03d}"
    home = city.point(rng)
    start = rng.uniform(-2, 40)
    data = {
        "occupations": rng.sample(city.occupations, rng.randint(1, 2)),
        "skills": rng.sample(["叉车", "电焊", "高空作业", "驾驶"], rng.randint(0, 2)),
        "home": {"lat": home.lat, "lon": home.lon},
        "travel_mode": rng.choice(MODES),
        "min_wage": rng.choice([None, random_wage(rng)]),
        "available": rng.choice([[], [{"start": city.at(start), "end": city.at(start + 8)}]]),
        "push_opt_in": rng.random() < 0.8,
    }
    event = factory.seeker_registered(seeker_id, 0, **data)
    city.events.append(("gig.seekers", event))
    profile = msgspec.convert(event["data"], SeekerRegistered, strict=False)
    card = seeker_card(seekers.SeekerState(profile, {}, {}))
    assert card is not None
    if rng.random() < 0.1:
        city.events.append(("gig.seekers", factory.seeker_withdrawn(seeker_id, 1)))
        city.withdrawn.append(seeker_id)
        return
    place, until = None, None
    if rng.random() < 0.25:
        place = city.point(rng)
        until = int((city.now + timedelta(hours=rng.uniform(1, 10))).timestamp() * 1000)
        checkin = factory.checkin(
            seeker_id,
            1,
            location={"lat": place.lat, "lon": place.lon},
            available_until=datetime.fromtimestamp(until / 1000, UTC).isoformat(),
        )
        city.events.append(("gig.checkins", checkin))
    city.seekers[seeker_id] = SeekerNow(seeker_id, card, place, until)


def job_events(rng: random.Random, city: City, index: int) -> None:
    job_id = f"{city.run}-j{index:03d}"
    at = city.point(rng)
    start = rng.uniform(1, 48)
    data = {
        "title": f"测试岗位{index}",
        "occupation": rng.choice(city.occupations),
        "skills": rng.sample(["叉车", "电焊", "高空作业"], rng.randint(0, 2)),
        "headcount": rng.randint(1, 3),
        "wage": random_wage(rng),
        "location": {"lat": at.lat, "lon": at.lon},
        "shift": {"start": city.at(start), "end": city.at(start + rng.uniform(3, 10))},
    }
    event = factory.job_posted(job_id, 0, **data)
    city.events.append(("gig.jobs", event))
    posted = msgspec.convert(event["data"], JobPosted, strict=False)
    card = job_card(jobs.JobState(posted, {}, {}), int(city.now.timestamp() * 1000))
    assert card is not None
    city.jobs[job_id] = card


def indexed(db: redis.Redis, city: City) -> bool:
    """Every state of the city written and every withdrawal out of the indexes."""
    with db.pipeline(transaction=False) as pipe:
        for seeker_id in city.seekers:
            pipe.exists(f"gs:seeker:{seeker_id}")
        for seeker_id, seeker in city.seekers.items():
            if seeker.checked_in_at is not None:
                pipe.exists(f"gs:checkin:{seeker_id}")
        for job_id in city.jobs:
            pipe.exists(f"gs:job:{job_id}")
        for seeker_id in city.withdrawn:
            pipe.zscore(keys.GEO_SEEKERS, seeker_id)
        found = pipe.execute()
    written = found[: len(found) - len(city.withdrawn)]
    gone = found[len(found) - len(city.withdrawn) :]
    return all(written) and all(score is None for score in gone)


@pytest.fixture(scope="module")
def city(producer: KafkaProducer, db: redis.Redis, worker: Worker) -> Iterator[City]:
    """A seeded random city: the worker indexes it (no matcher is needed to compare)."""
    publish = Publisher(producer)
    run = uuid.uuid4().hex[:8]
    rng = random.Random(SEED)
    centre = clear_spot(db, f"matching-{run}", REGION, INDEXES, CLEAR_KM)
    occupations = (f"电工-{run}", f"焊工-{run}")
    town = City(run, centre, datetime.now(UTC), occupations)
    for i in range(300):
        seeker_events(rng, town, i)
    for i in range(120):
        job_events(rng, town, i)
    for topic, event in town.events:
        publish.event(topic, event)
    wait_for(lambda: indexed(db, town), "the city's seekers and jobs in Redis")
    yield town


def key(matches: list[Match]) -> list[tuple[str, str, float]]:
    return [(m.job_id, m.seeker_id, m.score) for m in matches]


async def through_the_indexes(
    redis_url: str, city: City, now_ms: int
) -> tuple[dict[str, list[Match]], dict[str, list[Match]]]:
    client = Redis.from_url(redis_url)
    try:
        near_jobs = await seekers_near_jobs(client, MODEL, list(city.jobs.values()))
        for_jobs = {
            job_id: best_seekers(job_id, job, candidates, now_ms, MODEL, WEIGHTS)
            for (job_id, job), candidates in zip(city.jobs.items(), near_jobs, strict=True)
        }
        seekers = list(city.seekers.values())
        near_seekers = await jobs_near_seekers(client, MODEL, seekers, now_ms)
        for_seekers = {
            seeker.seeker_id: best_jobs(seeker, offers, now_ms, MODEL, WEIGHTS)
            for seeker, offers in zip(seekers, near_seekers, strict=True)
        }
        return for_jobs, for_seekers
    finally:
        await client.aclose()


def test_candidates_through_the_indexes_equal_a_brute_force_scan(
    city: City, worker_env: dict[str, str]
) -> None:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    redis_url = worker_env["GIGSTREAM_REDIS_URL"]
    for_jobs, for_seekers = asyncio.run(through_the_indexes(redis_url, city, now_ms))
    everyone = list(city.seekers.values())
    every_job = list(city.jobs.items())
    pairs = 0
    for job_id, job in city.jobs.items():
        expected = best_seekers(job_id, job, everyone, now_ms, MODEL, WEIGHTS)
        assert key(for_jobs[job_id]) == key(expected), job_id
        pairs += len(expected)
    for seeker_id, seeker in city.seekers.items():
        expected = best_jobs(seeker, every_job, now_ms, MODEL, WEIGHTS)
        assert key(for_seekers[seeker_id]) == key(expected), seeker_id
    assert pairs > 100  # the city is dense enough for the comparison to mean something


@dataclass
class Scene:
    job_id: str
    fitting: list[str]  # by rank: nearest first
    opted_out: set[str]
    strangers: list[str]  # who must never be matched


@pytest.fixture(scope="module")
def scene(producer: KafkaProducer, db: redis.Redis, worker: Worker, matcher: Worker) -> Scene:
    """One job for two and twelve seekers who fit it at distinct distances, three opted out."""
    publish = Publisher(producer)
    run = uuid.uuid4().hex[:8]
    occupation = f"保洁员-{run}"
    centre = clear_spot(db, f"scene-{run}", REGION, INDEXES, CLEAR_KM)
    fitting = [f"{run}-fit{i:02d}" for i in range(12)]
    opted_out = set(fitting[2:12:4])
    for i, seeker_id in enumerate(fitting):
        home = offset(centre, 0.1 + 0.2 * i, 0)
        publish.event(
            "gig.seekers",
            factory.seeker_registered(
                seeker_id,
                0,
                occupations=[occupation],
                travel_mode="car",
                home={"lat": home.lat, "lon": home.lon},
                push_opt_in=seeker_id not in opted_out,
            ),
        )
    strangers = [f"{run}-far", f"{run}-other", f"{run}-dear"]
    far = offset(centre, 6, 0)
    publish.event(
        "gig.seekers",
        factory.seeker_registered(
            strangers[0], 0, occupations=[occupation], home={"lat": far.lat, "lon": far.lon}
        ),
    )
    near = {"lat": centre.lat, "lon": centre.lon}
    publish.event("gig.seekers", factory.seeker_registered(strangers[1], 0, home=near))
    dear = {"amount": 900, "unit": "day"}
    publish.event(
        "gig.seekers",
        factory.seeker_registered(
            strangers[2], 0, occupations=[occupation], home=near, min_wage=dear
        ),
    )
    everyone = fitting + strangers
    wait_for(lambda: all(db.exists(f"gs:seeker:{s}") for s in everyone), "the scene's seekers")
    job_id = f"{run}-job"
    now = datetime.now(UTC)
    shift = {
        "start": (now + timedelta(hours=2)).isoformat(),
        "end": (now + timedelta(hours=10)).isoformat(),
    }
    publish.event(
        "gig.jobs",
        factory.job_posted(
            job_id,
            0,
            occupation=occupation,
            headcount=2,
            location={"lat": centre.lat, "lon": centre.lon},
            shift=shift,
        ),
    )
    return Scene(job_id, fitting, opted_out, strangers)


@pytest.fixture(scope="module")
def pushes(live_stack: Settings) -> Iterator[Tail]:
    tail = Tail(live_stack.kafka_bootstrap, "gig.notifications")
    yield tail
    tail.consumer.close()


@pytest.fixture(scope="module")
def matches(live_stack: Settings) -> Iterator[Tail]:
    tail = Tail(live_stack.kafka_bootstrap, "gig.matches")
    yield tail
    tail.consumer.close()


def for_job(tail: Tail, job_id: str) -> list[tuple[dict[str, Any], int]]:
    return [(value, at) for _, value, at in tail.records() if value["data"]["job_id"] == job_id]


def test_a_posted_job_pushes_tier_by_tier_to_exactly_the_best_opted_in_seekers(
    pushes: Tail, matches: Tail, scene: Scene
) -> None:
    reachable = [s for s in scene.fitting if s not in scene.opted_out]
    assert len(reachable) == 9  # two tiers: six (3 per position), then the other three
    sent = wait_for(
        lambda: (found := for_job(pushes, scene.job_id)) and len(found) >= 9 and found,
        "both tiers of pushes",
    )
    assert sorted(v["data"]["seeker_id"] for v, _ in sent) == sorted(reachable)
    first_tier = {v["data"]["seeker_id"] for v, at in sent if at < min(a for _, a in sent) + 1500}
    assert first_tier == set(reachable[:6])
    for value, _ in sent:
        data = value["data"]
        assert value["type"] == "notification.requested"
        assert value["event_id"] == data["notification_id"]
        assert data["notification_id"] == notification_id(data["seeker_id"], scene.job_id)
        assert data["title"].startswith("附近新工作：")
        assert "驾车约" in data["body"]

    # Keyed by seeker, the matches spread over partitions: no order among them. The
    # seekers' own requests, when handled after the job was written, match it too.
    def matched() -> set[str]:
        return {v["data"]["seeker_id"] for v, _ in for_job(matches, scene.job_id)}

    wait_for(lambda: matched() >= set(scene.fitting), "a match for every fitting seeker")
    assert matched() == set(scene.fitting)
    found = for_job(matches, scene.job_id)
    assert all(v["type"] == "match.found" for v, _ in found)


def last_tier_sent(db: redis.Redis, job_id: str) -> bool:
    """The job's third tier decided, and every request acknowledged (so its pushes are out)."""
    tier = db.hget(keys.dispatch(job_id), "tier")
    return tier == b"3" and db.xpending(keys.MATCH_REQUESTS, GROUP)["pending"] == 0


def test_no_push_ever_reaches_an_opted_out_or_unfitting_seeker(
    pushes: Tail, scene: Scene, db: redis.Redis
) -> None:
    # The third tier has no one left: it must not push anyone else, nor again.
    wait_for(lambda: last_tier_sent(db, scene.job_id), "the last tier")
    pushes.all_records()
    sent = [v["data"]["seeker_id"] for v, _ in for_job(pushes, scene.job_id)]
    assert len(sent) == len(set(sent)) == 9
    assert not set(sent) & (scene.opted_out | set(scene.strangers))


def get(worker: Worker, path: str, headers: dict[str, str] = BEARER) -> tuple[int, Any]:
    request = urllib.request.Request(f"{worker.url}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, msgspec.json.decode(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, msgspec.json.decode(error.read())


def test_the_ranked_lists_serve_the_oracle_order_with_seekers_masked(
    scene: Scene, worker: Worker, db: redis.Redis
) -> None:
    status, body = get(worker, f"/jobs/{scene.job_id}/candidates?limit=50")
    assert status == 200 and body["open"] is True
    assert [item["seeker_id"] for item in body["items"]] == scene.fitting
    assert {item["phone"] for item in body["items"]} == {"138****5678"}
    assert {item["name"] for item in body["items"]} == {"张*"}
    status, body = get(worker, f"/seekers/{scene.fitting[0]}/matches")
    assert status == 200
    assert [item["job_id"] for item in body["items"]] == [scene.job_id]
    assert body["items"][0]["reasons"][0].startswith("驾车约")


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/jobs/nobody-knows/candidates", 404, "no job 'nobody-knows'"),
        ("/seekers/nobody-knows/matches", 404, "no active seeker 'nobody-knows'"),
        ("/seekers/x/matches?limit=0", 400, "limit 0 must be 1..100"),
        ("/jobs/x/candidates?top=3", 400, "unknown parameter 'top'"),
    ],
)
def test_unknown_ids_and_bad_parameters_get_a_reason(
    worker: Worker, path: str, status: int, says: str
) -> None:
    got, body = get(worker, path)
    assert got == status
    assert body["error"].startswith(says)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-the-token"}], ids=["none", "wrong"]
)
def test_the_ranked_lists_need_a_configured_bearer_token(
    worker: Worker, scene: Scene, headers: dict[str, str]
) -> None:
    for path in (f"/jobs/{scene.job_id}/candidates", f"/seekers/{scene.fitting[0]}/matches"):
        status, body = get(worker, path, headers)
        assert status == 401 and "token" in body["error"]
    status, _ = get(worker, "/circle/jobs?lat=32.2&lon=119.45&mode=walk", headers)
    assert status == 200  # city-wide answers stay public
