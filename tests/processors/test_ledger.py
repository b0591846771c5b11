"""Batches applied to live state: duplicates, staleness, waiting for referents, convergence."""

from datetime import timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import checkins, jobs, markets, seekers
from processors.ledger import (
    CHECKIN,
    JOB,
    MARKET,
    SEEKER,
    Incoming,
    Origin,
    Ref,
    Rules,
    World,
    apply_batch,
    refs_of,
    unloaded_refs,
)
from processors.outcome import Outcome
from tests import factory
from topics.catalog import BY_NAME
from topics.envelope import Event, Limits, decode

NOW = factory.BASE + timedelta(hours=1)
LIMITS = Limits(64 * 1024, timedelta(days=1))
RULES = Rules(checkin_stay_ms=8 * 3_600_000)
TOPIC_OF = {
    "job": "gig.jobs",
    "hire": "gig.applications",
    "application": "gig.applications",
    "seeker": "gig.seekers",
    "checkin": "gig.checkins",
    "checkout": "gig.checkins",
    "market": "gig.markets",
}


def incoming(event: dict[str, Any]) -> Incoming:
    topic = BY_NAME[TOPIC_OF[event["type"].split(".")[0]]]
    key = (topic.key_of(event["data"]) or "").encode()
    raw = orjson.dumps(event)
    decoded = decode(topic, key, raw, NOW, LIMITS)
    assert isinstance(decoded, Event), decoded
    return Incoming(decoded, Origin(topic.name, 0, 0, key, raw, 0))


def run(world: World, *events: dict[str, Any]) -> list[Outcome]:
    """Applies events as one batch to a world holding every ref they touch."""
    batch = [incoming(event) for event in events]
    for ref in refs_of(i.event for i in batch) | unloaded_refs(world):
        world.states.setdefault(ref, None)
    return [applied.result.outcome for applied in apply_batch(world, batch, RULES)]


def fresh() -> World:
    return World({}, {}, set())


def test_a_second_event_with_a_seen_event_id_is_a_duplicate() -> None:
    world = fresh()
    posted = factory.job_posted("J1")
    assert run(world, posted, posted) == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert run(world, posted) == [Outcome.DUPLICATE]
    assert world.new_seen == [posted["event_id"]]


def test_a_hire_before_its_job_waits_and_applies_when_the_job_is_posted() -> None:
    world = fresh()
    assert run(world, factory.hire_confirmed("J1", "S1")) == [Outcome.PENDING]
    assert Ref(JOB, "J1") in world.pending
    outcomes = run(world, factory.job_posted("J1", headcount=1))
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED]  # the hire, late, then the posting
    state = world.states[Ref(JOB, "J1")]
    assert state.hires == ["S1"] and jobs.close_reason(state, 0) == "filled"
    assert Ref(JOB, "J1") not in world.pending


def test_waiting_updates_apply_in_occurred_at_order_after_the_posting() -> None:
    world = fresh()
    run(
        world,
        factory.job_updated("J1", 20, headcount=7),
        factory.job_updated("J1", 10, headcount=3),
    )
    run(world, factory.job_posted("J1", 0))
    assert world.states[Ref(JOB, "J1")].job.headcount == 7


def test_a_checkin_at_an_unknown_market_waits_for_the_market() -> None:
    world = fresh()
    assert run(world, factory.checkin("S1", 5, market_id="M1")) == [Outcome.PENDING]
    world.states.setdefault(Ref(CHECKIN, "S1"), None)
    run(world, factory.market_upserted("M1", 0))
    state = world.states[Ref(CHECKIN, "S1")]
    assert state.market_id == "M1"
    assert (state.place.lat, state.place.lon) == (32.22, 119.47)


def test_a_checkin_at_a_removed_market_is_rejected_with_the_reason() -> None:
    world = fresh()
    run(world, factory.market_upserted("M1", 0), factory.market_removed("M1", 1))
    world.states[Ref(CHECKIN, "S1")] = None
    applied = apply_batch(world, [incoming(factory.checkin("S1", 2, market_id="M1"))], RULES)
    assert applied[0].result.outcome is Outcome.REJECTED
    assert applied[0].result.reason == "market 'M1' was removed"


def test_a_checkin_without_until_lasts_the_default_stay() -> None:
    world = fresh()
    run(world, factory.checkin("S1", 0, location={"lat": 32.1, "lon": 119.4}))
    state = world.states[Ref(CHECKIN, "S1")]
    start = int(factory.BASE.timestamp() * 1000)
    assert checkins.is_present(state, start + RULES.checkin_stay_ms - 1)
    assert not checkins.is_present(state, start + RULES.checkin_stay_ms)


def test_a_withdrawn_application_before_its_submission_waits_for_it() -> None:
    world = fresh()
    assert run(world, factory.application_withdrawn("A1", 5)) == [Outcome.PENDING]
    run(world, factory.application_submitted("A1", "J1", "S1", 0))
    assert world.states[Ref("application", "A1")].withdrawn


def test_a_market_removed_then_upserted_later_is_active_again() -> None:
    world = fresh()
    run(world, factory.market_upserted("M1", 0), factory.market_removed("M1", 1))
    assert run(world, factory.market_upserted("M1", 2)) == [Outcome.APPLIED]
    assert markets.is_active(world.states[Ref(MARKET, "M1")])


SEEKER_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["registered", "updated", "withdrawn"]),
        st.sampled_from(["walk", "bike", "car"]),
    ),
    min_size=1,
    max_size=8,
)


def seeker_event(kind: str, mode: str, minute: int) -> dict[str, Any]:
    if kind == "registered":
        return factory.seeker_registered("S1", minute, travel_mode=mode)
    if kind == "updated":
        return factory.seeker_updated("S1", minute, travel_mode=mode)
    return factory.seeker_withdrawn("S1", minute)


@settings(max_examples=200)
@given(history=SEEKER_EVENTS, order=st.randoms(use_true_random=False))
def test_any_arrival_order_ends_in_the_state_of_in_order_arrival(
    history: list[tuple[str, str]], order: Any
) -> None:
    """Last writer by occurred_at wins: shuffled delivery converges (distinct timestamps)."""
    events = [seeker_event(kind, mode, minute) for minute, (kind, mode) in enumerate(history)]
    in_order, shuffled = fresh(), fresh()
    run(in_order, *events)
    mixed = events[:]
    order.shuffle(mixed)
    for event in mixed:
        run(shuffled, event)
    expected = _seeker_view(in_order)
    assert _seeker_view(shuffled) == expected


def _seeker_view(world: World) -> Any:
    state = world.states.get(Ref(SEEKER, "S1"))
    if state is None:
        return None
    return (state.profile.travel_mode, seekers.is_active(state), state.stamps)
