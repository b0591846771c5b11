"""The circle's change feed: each write's entry moves a coverage to what the states say."""

import random
from datetime import timedelta
from typing import Any

import msgspec

from processors import jobs, markets, seekers
from processors.circle import Coverage, JobSpot, PlaceSpot, SeekerSpot, recompute
from processors.ledger import JOB, MARKET, SEEKER, Ref
from processors.travel import MODES, TravelModel
from streams import changes, keys
from streams.indexes import write_index
from streams.plan import Plan
from tests import factory
from topics.jobs import JobClosed, JobPosted
from topics.markets import MarketRemoved, MarketUpserted
from topics.seekers import SeekerRegistered, SeekerWithdrawn

MODEL = TravelModel()
OCCUPATIONS = ("装卸搬运工", "家政服务员")


def ms(minutes: float) -> int:
    return int((factory.BASE + timedelta(minutes=minutes)).timestamp() * 1000)


def job_state(job_id: str, lat: float, lon: float, occupation: str) -> jobs.JobState:
    data = factory.job_posted(job_id, location={"lat": lat, "lon": lon}, occupation=occupation)
    _, state = jobs.apply(None, msgspec.convert(data["data"], JobPosted, strict=False), ms(0), {})
    assert state is not None
    return state


def seeker_state(
    seeker_id: str, lat: float, lon: float, mode: str, occupations: list[str]
) -> seekers.SeekerState:
    data = factory.seeker_registered(
        seeker_id, home={"lat": lat, "lon": lon}, travel_mode=mode, occupations=occupations
    )["data"]
    _, state = seekers.apply(None, msgspec.convert(data, SeekerRegistered), ms(0), {})
    assert state is not None
    return state


def market_state(market_id: str, lat: float, lon: float, kind: str) -> markets.MarketState:
    data = factory.market_upserted(market_id, kind=kind, location={"lat": lat, "lon": lon})
    _, state = markets.apply(None, msgspec.convert(data["data"], MarketUpserted), ms(0), {})
    assert state is not None
    return state


def feed(ref: Ref, state: Any, now_ms: int) -> list[dict[str, str]]:
    """The feed entries the store's write of this state appends, as the coverage reads them."""
    plan = Plan()
    write_index(plan, ref, state, now_ms)
    entries = [command for command in plan.commands if command[0] == "XADD"]
    assert all(c[1:6] == [keys.CHANGES, "MAXLEN", "~", str(changes.MAXLEN), "*"] for c in entries)
    return [dict(zip(c[6::2], c[7::2], strict=True)) for c in entries]


def test_a_job_seeker_or_place_write_appends_exactly_one_entry_with_its_circle_view() -> None:
    job = job_state("J1", 32.2, 119.45, "装卸搬运工")
    seeker = seeker_state("S1", 32.21, 119.46, "ebike", ["装卸搬运工", "家政服务员"])
    place = market_state("M1", 32.22, 119.47, "station")
    assert feed(Ref(JOB, "J1"), job, ms(1)) == [
        {"kind": "job", "id": "J1", "present": "1", "lat": "32.2", "lon": "119.45"}
        | {"occupation": "装卸搬运工"}
    ]
    assert feed(Ref(SEEKER, "S1"), seeker, ms(1)) == [
        {"kind": "seeker", "id": "S1", "present": "1", "lat": "32.21", "lon": "119.46"}
        | {"mode": "ebike", "occupations": '["装卸搬运工","家政服务员"]'}
    ]
    assert feed(Ref(MARKET, "M1"), place, ms(1)) == [
        {"kind": "place", "id": "M1", "present": "1", "lat": "32.22", "lon": "119.47"}
        | {"district": "京口区"}
    ]


def test_a_closed_or_expired_job_a_withdrawn_seeker_and_a_removed_place_are_gone() -> None:
    job = job_state("J1", 32.2, 119.45, "装卸搬运工")
    assert feed(Ref(JOB, "J1"), job, ms(60 * 9)) == [changes.gone("job", "J1")]  # shift over
    _, job = jobs.apply(job, JobClosed("J1", "cancelled"), ms(2), {})
    assert feed(Ref(JOB, "J1"), job, ms(2)) == [changes.gone("job", "J1")]
    seeker = seeker_state("S1", 32.21, 119.46, "walk", ["装卸搬运工"])
    _, seeker = seekers.apply(seeker, SeekerWithdrawn("S1"), ms(2), {})
    assert feed(Ref(SEEKER, "S1"), seeker, ms(2)) == [changes.gone("seeker", "S1")]
    place = market_state("M1", 32.22, 119.47, "market")
    _, place = markets.apply(place, MarketRemoved("M1"), ms(2), {})
    assert feed(Ref(MARKET, "M1"), place, ms(2)) == [changes.gone("place", "M1")]
    assert changes.gone("job", "J1") == {"kind": "job", "id": "J1", "present": "0"}


def test_the_sweeps_entry_is_a_gone_job_but_for_its_id() -> None:
    swept = changes.swept_job()
    assert {"id": "J9", **dict(zip(swept[::2], swept[1::2], strict=True))} == changes.gone(
        "job", "J9"
    )


def test_a_random_run_of_writes_through_the_feed_equals_a_recompute_of_the_last_states() -> None:
    rng = random.Random(11)
    coverage = Coverage(MODEL)
    seekers_now: dict[str, SeekerSpot] = {}
    jobs_now: dict[str, JobSpot] = {}
    places_now: dict[str, PlaceSpot] = {}

    def point() -> tuple[float, float]:
        return rng.uniform(32.15, 32.25), rng.uniform(119.40, 119.50)

    for step in range(600):
        n, roll = str(rng.randrange(25)), rng.random()
        if roll < 0.35:
            lat, lon = point()
            mode, occupations = rng.choice(MODES), rng.sample(OCCUPATIONS, rng.randint(1, 2))
            state = seeker_state(n, lat, lon, mode, occupations)
            if rng.random() < 0.2:
                _, state = seekers.apply(state, SeekerWithdrawn(n), ms(1), {})
                seekers_now.pop(n, None)
            else:
                seekers_now[n] = SeekerSpot(n, lat, lon, mode, frozenset(occupations), None)
            entries = feed(Ref(SEEKER, n), state, ms(step))
        elif roll < 0.7:
            lat, lon = point()
            occupation = rng.choice(OCCUPATIONS)
            state = job_state(n, lat, lon, occupation)
            if rng.random() < 0.2:
                _, state = jobs.apply(state, JobClosed(n, "filled"), ms(1), {})
                jobs_now.pop(n, None)
            else:
                jobs_now[n] = JobSpot(n, lat, lon, occupation)
            entries = feed(Ref(JOB, n), state, ms(1))
        else:
            lat, lon = point()
            state = market_state(n, lat, lon, rng.choice(("market", "station")))
            if rng.random() < 0.3:
                _, state = markets.apply(state, MarketRemoved(n), ms(1), {})
                places_now.pop(n, None)
            else:
                places_now[n] = PlaceSpot(n, lat, lon, "京口区")  # market_state's district
            entries = feed(Ref(MARKET, n), state, ms(1))
        for entry in entries:
            changes.apply(coverage, entry)
    expected = recompute(seekers_now.values(), jobs_now.values(), places_now.values(), MODEL)
    assert coverage.shares() == expected
    assert expected.city.seekers > 0 and 0 < expected.city.covered < expected.city.seekers
    assert expected.districts.keys() == {"京口区"}  # homes take their nearest place's district
