"""Applying a batch of validated events to the slice of live state it touches.

The caller loads a World (the states, waiting events and seen event_ids the
batch refers to), this module decides every transition without I/O or clock,
and the caller writes back what changed in one atomic step. Events whose
referent is not known yet (a hire for a job not yet posted, a check-in at a
market not yet upserted) wait in the referent's pending list and are applied,
in occurred_at order, as soon as the referent arrives.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from processors import applications, checkins, jobs, markets, seekers
from processors.outcome import DUPLICATE, Outcome, Result
from topics.applications import ApplicationSubmitted, ApplicationWithdrawn, HireConfirmed
from topics.checkins import Checkin, Checkout
from topics.envelope import Event, unknown_fields
from topics.jobs import JobClosed, JobPosted, JobUpdated
from topics.markets import MarketRemoved, MarketUpserted
from topics.seekers import SeekerRegistered, SeekerUpdated, SeekerWithdrawn

JOB, SEEKER, CHECKIN, MARKET, APPLICATION = "job", "seeker", "checkin", "market", "application"
KINDS = (JOB, SEEKER, CHECKIN, MARKET, APPLICATION)
STATE_TYPES: dict[str, type] = {
    JOB: jobs.JobState,
    SEEKER: seekers.SeekerState,
    CHECKIN: checkins.CheckinState,
    MARKET: markets.MarketState,
    APPLICATION: applications.ApplicationState,
}


class Ref(NamedTuple):
    """One entity of the live state: its kind and id."""

    kind: str
    id: str


@dataclass(frozen=True)
class Origin:
    """Where a message came from: for dead letters and for waiting events."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    raw: bytes
    received_ms: int
    # Read again by a rebuild: its dead letter and match requests went out the first time.
    replayed: bool = False


@dataclass(frozen=True)
class Incoming:
    event: Event
    origin: Origin


@dataclass(frozen=True)
class Rules:
    checkin_stay_ms: int  # how long a check-in without available_until lasts


@dataclass
class World:
    states: dict[Ref, Any]  # every ref the batch touches: its state, or None if unknown
    pending: dict[Ref, list[Incoming]]  # events waiting for the ref to exist
    seen: set[str]  # event_ids already applied, ignored or waiting
    changed: set[Ref] = field(default_factory=set)
    pending_changed: set[Ref] = field(default_factory=set)
    new_seen: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    """The result for one message; late is True when it waited in a pending list."""

    incoming: Incoming
    result: Result
    late: bool = False


def entity_ref(data: Any) -> Ref:
    if isinstance(data, JobPosted | JobUpdated | JobClosed | HireConfirmed):
        return Ref(JOB, data.job_id)
    if isinstance(data, SeekerRegistered | SeekerUpdated | SeekerWithdrawn):
        return Ref(SEEKER, data.seeker_id)
    if isinstance(data, Checkin | Checkout):
        return Ref(CHECKIN, data.seeker_id)
    if isinstance(data, MarketUpserted | MarketRemoved):
        return Ref(MARKET, data.market_id)
    if isinstance(data, ApplicationSubmitted | ApplicationWithdrawn):
        return Ref(APPLICATION, data.application_id)
    raise TypeError(f"no entity for {type(data).__name__}")


def refs_of(events: Iterable[Event]) -> set[Ref]:
    """Every entity these events read or write."""
    refs = set()
    for event in events:
        refs.add(entity_ref(event.data))
        if isinstance(event.data, Checkin) and event.data.market_id is not None:
            refs.add(Ref(MARKET, event.data.market_id))
    return refs


def unloaded_refs(world: World) -> set[Ref]:
    """Refs that waiting events in the world touch but the world has not loaded."""
    waiting = (incoming.event for queue in world.pending.values() for incoming in queue)
    return refs_of(waiting) - world.states.keys()


def apply_batch(world: World, batch: Sequence[Incoming], rules: Rules) -> list[Applied]:
    applied: list[Applied] = []
    for incoming in batch:
        event_id = incoming.event.event_id
        if event_id in world.seen:
            applied.append(Applied(incoming, DUPLICATE))
            continue
        world.seen.add(event_id)
        world.new_seen.append(event_id)
        applied.append(Applied(incoming, _route(world, incoming, rules, applied)))
    return applied


def _route(world: World, incoming: Incoming, rules: Rules, applied: list[Applied]) -> Result:
    event = incoming.event
    ref = entity_ref(event.data)
    before = world.states[ref]
    referent = _missing_referent(world, event)
    if referent is not None:
        result = _park(world, referent, incoming)
    else:
        result, after = _transition(world, ref, incoming, rules)
        if result.outcome is Outcome.PENDING:
            _park(world, ref, incoming)
        elif result.outcome is Outcome.APPLIED:
            world.states[ref] = after
            world.changed.add(ref)
    if before is None and world.states[ref] is not None:
        _drain(world, ref, rules, applied)
    return result


def _missing_referent(world: World, event: Event) -> Ref | None:
    data = event.data
    if isinstance(data, Checkin) and data.market_id is not None:
        market = Ref(MARKET, data.market_id)
        if world.states.get(market) is None:
            return market
    return None


def _transition(world: World, ref: Ref, incoming: Incoming, rules: Rules) -> tuple[Result, Any]:
    event = incoming.event
    state, data, ms = world.states[ref], event.data, event.occurred_ms
    if ref.kind == JOB:
        return jobs.apply(state, data, ms, _extra(event, JobPosted | JobUpdated))
    if ref.kind == SEEKER:
        return seekers.apply(state, data, ms, _extra(event, SeekerRegistered | SeekerUpdated))
    if ref.kind == MARKET:
        return markets.apply(state, data, ms, _extra(event, MarketUpserted))
    if ref.kind == APPLICATION:
        return applications.apply(state, data, ms)
    market = None
    if isinstance(data, Checkin) and data.market_id is not None:
        market = world.states[Ref(MARKET, data.market_id)]
    offset = incoming.origin.offset
    return checkins.apply(state, data, ms, offset, market, rules.checkin_stay_ms)


def _extra(event: Event, record_types: Any) -> dict[str, Any]:
    return unknown_fields(event) if isinstance(event.data, record_types) else {}


def _park(world: World, ref: Ref, incoming: Incoming) -> Result:
    world.pending.setdefault(ref, []).append(incoming)
    world.pending_changed.add(ref)
    return Result(Outcome.PENDING, f"waits for {ref.kind} {ref.id!r}")


def _drain(world: World, ref: Ref, rules: Rules, applied: list[Applied]) -> None:
    waiting = world.pending.pop(ref, [])
    if not waiting:
        return
    world.pending_changed.add(ref)
    for incoming in sorted(waiting, key=lambda waiter: waiter.event.occurred_at):
        applied.append(Applied(incoming, _route(world, incoming, rules, applied), late=True))
