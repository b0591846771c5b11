"""The worker against the real broker and Redis: every event type, duplicates, staleness,
dead letters, hires filling a job, events waiting for their referent."""

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis

from processors.ledger import APPLICATION, CHECKIN, JOB, MARKET, SEEKER, Ref
from streams import keys
from streams.store import STATE
from tests import factory
from tests.integration.conftest import DeadLetters, Publisher, Worker, wait_for

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def future_shift() -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "start": (now + timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=9)).isoformat(),
    }


def until_later() -> str:
    return (datetime.now(UTC).replace(microsecond=0) + timedelta(hours=4)).isoformat()


def field(db: redis.Redis, ref: Ref, name: str) -> Any:
    state = db.hget(keys.state(ref), STATE)
    return None if state is None else orjson.loads(state).get(name)


def job_doc(db: redis.Redis, job: str) -> dict[str, Any]:
    return field(db, Ref(JOB, job), "job") or {}


def in_geo(db: redis.Redis, geo: str, member: str) -> bool:
    return db.geopos(geo, member)[0] is not None


def test_every_event_type_is_applied_to_the_live_state(publish: Publisher, db: redis.Redis) -> None:
    market, station, job, seeker, application = (
        unique(p) for p in ("market", "station", "job", "seeker", "app")
    )
    publish.event("gig.markets", factory.market_upserted(market, 0))
    publish.event("gig.markets", factory.market_upserted(station, 0, kind="station"))
    publish.event("gig.jobs", factory.job_posted(job, 0, shift=future_shift()))
    publish.event("gig.seekers", factory.seeker_registered(seeker, 0))
    publish.event(
        "gig.checkins", factory.checkin(seeker, 1, market_id=market, available_until=until_later())
    )
    publish.event("gig.applications", factory.application_submitted(application, job, seeker, 1))
    wait_for(lambda: in_geo(db, keys.GEO_MARKETS, market), "the market in the geo index")
    wait_for(lambda: in_geo(db, keys.GEO_STATIONS, station), "the station in the geo index")
    wait_for(lambda: in_geo(db, keys.GEO_JOBS, job), "the open job in the geo index")
    wait_for(lambda: in_geo(db, keys.GEO_SEEKERS, seeker), "the seeker at home in the geo index")
    wait_for(lambda: in_geo(db, keys.GEO_CHECKINS, seeker), "the check-in in the geo index")
    wait_for(
        lambda: db.sismember(keys.job_applications(job), application), "the application on its job"
    )
    assert field(db, Ref(CHECKIN, seeker), "market_id") == market
    assert not in_geo(db, keys.GEO_MARKETS, station)

    assert in_geo(db, keys.jobs_of("装卸搬运工"), job)
    assert in_geo(db, keys.seekers_of("装卸搬运工", "ebike"), seeker)

    publish.event("gig.jobs", factory.job_updated(job, 2, title="夜班装卸", occupation="普工"))
    publish.event("gig.seekers", factory.seeker_updated(seeker, 2, travel_mode="walk"))
    wait_for(lambda: job_doc(db, job).get("title") == "夜班装卸", "the job update")
    wait_for(
        lambda: (field(db, Ref(SEEKER, seeker), "profile") or {}).get("travel_mode") == "walk",
        "the seeker update",
    )
    # Each now in the occupation indexes of what it is, and only those.
    assert not in_geo(db, keys.jobs_of("装卸搬运工"), job)
    assert in_geo(db, keys.jobs_of("普工"), job)
    assert not in_geo(db, keys.seekers_of("装卸搬运工", "ebike"), seeker)
    assert in_geo(db, keys.seekers_of("装卸搬运工", "walk"), seeker)

    publish.event("gig.checkins", factory.checkout(seeker, 3))
    publish.event("gig.applications", factory.application_withdrawn(application, 3))
    publish.event("gig.jobs", factory.job_closed(job, 3, "cancelled"))
    publish.event("gig.seekers", factory.seeker_withdrawn(seeker, 3))
    publish.event("gig.markets", factory.market_removed(station, 3))
    wait_for(lambda: not in_geo(db, keys.GEO_CHECKINS, seeker), "the checkout")
    wait_for(lambda: field(db, Ref(APPLICATION, application), "withdrawn"), "the withdrawal")
    assert not db.sismember(keys.job_applications(job), application)
    wait_for(lambda: not in_geo(db, keys.GEO_JOBS, job), "the closed job leaving the index")
    assert field(db, Ref(JOB, job), "closed_reason") == "cancelled"
    wait_for(lambda: not in_geo(db, keys.GEO_SEEKERS, seeker), "the withdrawn seeker leaving")
    assert not in_geo(db, keys.seekers_of("装卸搬运工", "walk"), seeker)
    assert not in_geo(db, keys.jobs_of("普工"), job)
    wait_for(lambda: not in_geo(db, keys.GEO_STATIONS, station), "the removed station leaving")
    assert field(db, Ref(MARKET, station), "removed_ms") is not None


def test_duplicates_and_stale_updates_change_nothing(
    publish: Publisher, db: redis.Redis, worker: Worker
) -> None:
    job = unique("job")
    duplicates_before = worker.metric(
        "gigstream_events_total", topic="gig.jobs", outcome="duplicate"
    )
    stale_before = worker.metric("gigstream_events_total", topic="gig.jobs", outcome="stale")
    publish.event("gig.jobs", factory.job_posted(job, 0, shift=future_shift()))
    newest = factory.job_updated(job, 10, headcount=5)
    publish.event("gig.jobs", newest)
    publish.event("gig.jobs", factory.job_updated(job, 5, headcount=9))  # older: stale
    publish.event("gig.jobs", {**newest, "data": {**newest["data"], "headcount": 7}})  # same id
    marker = factory.job_updated(job, 20, title="最后一次更新")
    publish.event("gig.jobs", marker)
    wait_for(lambda: job_doc(db, job).get("title") == "最后一次更新", "the last update")
    assert job_doc(db, job)["headcount"] == 5
    wait_for(
        lambda: (
            worker.metric("gigstream_events_total", topic="gig.jobs", outcome="duplicate")
            == duplicates_before + 1
        ),
        "the duplicate counted",
    )
    assert (
        worker.metric("gigstream_events_total", topic="gig.jobs", outcome="stale")
        == stale_before + 1
    )


def test_hires_reaching_the_headcount_close_the_job(publish: Publisher, db: redis.Redis) -> None:
    job = unique("job")
    publish.event("gig.jobs", factory.job_posted(job, 0, headcount=2, shift=future_shift()))
    wait_for(lambda: in_geo(db, keys.GEO_JOBS, job), "the open job")
    publish.event("gig.applications", factory.hire_confirmed(job, "seeker-a", 1))
    wait_for(lambda: field(db, Ref(JOB, job), "hires") == ["seeker-a"], "the first hire")
    assert in_geo(db, keys.GEO_JOBS, job)
    publish.event("gig.applications", factory.hire_confirmed(job, "seeker-b", 2))
    wait_for(lambda: not in_geo(db, keys.GEO_JOBS, job), "the filled job leaving the open set")
    assert field(db, Ref(JOB, job), "hires") == ["seeker-a", "seeker-b"]


def test_a_hire_for_a_job_not_yet_posted_applies_when_the_job_arrives(
    publish: Publisher, db: redis.Redis
) -> None:
    job = unique("job")
    publish.event("gig.applications", factory.hire_confirmed(job, "seeker-a", 1))
    wait_for(lambda: db.exists(keys.pending(Ref(JOB, job))), "the hire waiting for its job")
    publish.event("gig.jobs", factory.job_posted(job, 0, headcount=1, shift=future_shift()))
    wait_for(lambda: field(db, Ref(JOB, job), "hires") == ["seeker-a"], "the waiting hire applied")
    assert not in_geo(db, keys.GEO_JOBS, job)
    assert not db.exists(keys.pending(Ref(JOB, job)))


MALFORMED: list[tuple[str, Any, str]] = [
    ("not-json", b"{job_id: 1", "not JSON"),
    ("not-utf8", b'{"event_id": "\xff\xfe"}', "not UTF-8"),
    ("too-big", b'{"pad": "' + b"x" * 70_000 + b'"}', "over the 65536-byte limit"),
    ("empty", b"", "message is empty"),
    ("tombstone", None, "message is empty"),
    ("missing", {"drop": "title"}, "missing required field `title`"),
    ("mistyped", {"headcount": "two"}, "data.headcount: expected `int`, got `str`"),
    ("lat", {"location": {"lat": 95.2, "lon": 119.4}}, "data.location.lat: expected `float` <="),
    ("headcount", {"headcount": 0}, "data.headcount: expected `int` >= 1, got 0"),
    ("wage", {"wage": {"amount": 0, "unit": "day"}}, "data.wage.amount: expected `float` > 0.0"),
    ("timestamp", {"shift": {"start": "soon", "end": "later"}}, "invalid RFC3339"),
    ("type", {"type": "job.deleted"}, "type 'job.deleted' is not an event of gig.jobs"),
]


def malformed(job: str, spec: Any) -> bytes | None:
    if spec is None or isinstance(spec, bytes):
        return spec
    event = factory.job_posted(job, 0, shift=future_shift())
    if "drop" in spec:
        del event["data"][spec["drop"]]
    elif "type" in spec:
        event["type"] = spec["type"]
    else:
        event["data"].update(spec)
    return orjson.dumps(event)


def test_each_class_of_malformed_input_is_dead_lettered_with_its_reason(
    publish: Publisher, db: redis.Redis, deadletters: DeadLetters, worker: Worker
) -> None:
    sent = {}
    for name, spec, reason in MALFORMED:
        job = unique(name)
        raw = malformed(job, spec)
        publish.raw("gig.jobs", job.encode(), raw)
        sent[job] = (raw, reason)
    survivor = unique("job")
    publish.event("gig.jobs", factory.job_posted(survivor, 0, shift=future_shift()))

    for job, (raw, reason) in sent.items():
        records = wait_for(lambda job=job: deadletters.for_key(job.encode()), f"dead letter {job}")
        assert len(records) == 1
        record = records[0]
        assert reason in record["reason"], record["reason"]
        assert "\n" not in record["reason"]
        assert record["topic"] == "gig.jobs"
        assert isinstance(record["partition"], int) and isinstance(record["offset"], int)
        if record.get("raw_encoding") == "base64":
            assert base64.b64decode(record["raw"]) == raw
        else:
            assert record["raw"].encode() == (raw or b"")
        assert not db.exists(keys.state(Ref(JOB, job)))
    wait_for(lambda: in_geo(db, keys.GEO_JOBS, survivor), "the valid job after the bad ones")
    assert worker.alive()


def test_the_clock_closes_expired_jobs_and_ends_check_ins(
    publish: Publisher, db: redis.Redis
) -> None:
    job, seeker = unique("job"), unique("seeker")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    publish.event("gig.jobs", factory.job_posted(job, 0, shift=future_shift(), expires_at=soon))
    where = {"lat": 32.1, "lon": 119.4}
    publish.event("gig.checkins", factory.checkin(seeker, 0, location=where, available_until=soon))
    wait_for(lambda: in_geo(db, keys.GEO_JOBS, job), "the job before it expires")
    wait_for(lambda: in_geo(db, keys.GEO_CHECKINS, seeker), "the check-in before it ends")
    assert in_geo(db, keys.jobs_of("装卸搬运工"), job)
    wait_for(lambda: not in_geo(db, keys.GEO_JOBS, job), "the sweep closing the expired job")
    wait_for(lambda: not in_geo(db, keys.GEO_CHECKINS, seeker), "the sweep ending the check-in")
    assert not in_geo(db, keys.jobs_of("装卸搬运工"), job)
    assert field(db, Ref(JOB, job), "closed_reason") is None  # expired is derived, not recorded
