"""Keeping the counters in step with a batch: the histories it writes and what to count again.

The store keeps a tally beside every job, seeker and matched pair: its
history (history.py), when it was last counted and the district it was
counted in. Counting an entity again adds the difference between what it
contributes now and what it contributed then, "then" rebuilt from the tally
alone: the state it had, the history, the time and the district as they were.
An entity never counted has contributed nothing, so figures start at zero
for entities older than the tally. Pure: the store loads and writes.
"""

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from processors.figures.contributions import (
    job_due_ms,
    job_terms,
    of_event,
    pair_terms,
    seeker_due_ms,
    seeker_terms,
)
from processors.figures.counts import Counts, Terms, add, change
from processors.figures.groups import MarketDistrict, job_district
from processors.figures.history import (
    JobHistory,
    PairHistory,
    SeekerHistory,
    is_fact,
    job_of,
    seeker_of,
    with_hire,
    with_job_event,
    with_seeker_event,
)
from processors.jobs import JobState
from processors.ledger import JOB, MARKET, SEEKER, Applied, Ref
from processors.markets import MarketState, is_active
from processors.seekers import SeekerState
from topics.applications import HireConfirmed
from topics.envelope import Event

PAIR = "pair"  # a job and a seeker the matcher matched or a hire joined
History = JobHistory | SeekerHistory | PairHistory


def pair_ref(job_id: str, seeker_id: str) -> Ref:
    return Ref(PAIR, f"{len(job_id)}:{job_id}{seeker_id}")


class Was(NamedTuple):
    """An entity as it was last counted: None for at_ms when it never was."""

    state: Any
    history: History | None
    at_ms: int | None
    district: str | None


class Recount(NamedTuple):
    """What counting an entity again adds, and the tally to keep."""

    delta: Counts
    at_ms: int
    district: str | None
    due_ms: int | None  # when to count it again with no event; None: never


def histories_of(data: Any) -> list[Ref]:
    """The jobs, seekers and pairs whose history an event's facts write."""
    refs = []
    if (job_id := job_of(data)) is not None:
        refs.append(Ref(JOB, job_id))
    if (seeker_id := seeker_of(data)) is not None:
        refs.append(Ref(SEEKER, seeker_id))
    if isinstance(data, HireConfirmed):
        refs.append(pair_ref(data.job_id, data.seeker_id))
    return refs


def take_facts(
    histories: dict[Ref, History], applied: Iterable[Applied]
) -> tuple[set[Ref], Counts]:
    """Writes the facts into the histories; returns the refs whose history changed and the
    occurrences to count (check-ins)."""
    changed: set[Ref] = set()
    occurrences: Counts = {}
    for each in applied:
        event = each.incoming.event
        add(occurrences, of_event(event, each.result))
        if not is_fact(each.result):
            continue
        for ref in histories_of(event.data):
            before = histories.get(ref)
            after = _with_event(ref, before, event)
            if after != before:
                histories[ref] = after
                changed.add(ref)
    return changed, occurrences


def _with_event(ref: Ref, history: History | None, event: Event) -> History:
    if ref.kind == JOB:
        return with_job_event(history if isinstance(history, JobHistory) else JobHistory(), event)
    if ref.kind == SEEKER:
        seeker = history if isinstance(history, SeekerHistory) else SeekerHistory()
        return with_seeker_event(seeker, event)
    pair = history if isinstance(history, PairHistory) else PairHistory()
    return with_hire(pair, event.occurred_ms)


def follows(state: JobState | None) -> str | None:
    """The market whose district the job counts in, when it names none of its own."""
    if state is None or state.job.location.district is not None:
        return None
    return state.job.market_id


def redistricted(before: Mapping[Ref, Any], after: Mapping[Ref, Any]) -> set[str]:
    """The markets whose district the batch changed (or first told): their jobs that
    follow them count elsewhere now."""
    return {
        ref.id
        for ref, state in after.items()
        if ref.kind == MARKET
        and state is not None
        and (before.get(ref) is None or before[ref].market.district != state.market.district)
    }


def places_moved(before: Mapping[Ref, Any], after: Mapping[Ref, Any]) -> bool:
    """Whether a market or station opened, closed, moved or changed district: the place
    nearest a seeker's home, and so the seeker's district, may differ now."""
    return any(_place(before.get(ref)) != _place(state) for ref, state in after.items())


def _place(state: MarketState | None) -> tuple[Any, ...] | None:
    if state is None or not is_active(state):
        return None
    market = state.market
    return (market.location, market.kind, market.district)


def recount_job(
    was: Was,
    state: JobState | None,
    history: History | None,
    now_ms: int,
    market_district: MarketDistrict,
) -> Recount:
    at = _at(was, now_ms)
    old: Terms = []
    if was.at_ms is not None:
        old = job_terms(was.state, _job(was.history), was.at_ms, lambda _market: was.district)
    new = job_terms(state, _job(history), at, market_district)
    district = None if state is None else job_district(state, market_district)
    return Recount(change(old, new), at, district, job_due_ms(state, at))


def recount_seeker(
    was: Was,
    state: SeekerState | None,
    history: History | None,
    now_ms: int,
    district: str | None,
) -> Recount:
    at = _at(was, now_ms)
    old: Terms = []
    if was.at_ms is not None:
        old = seeker_terms(was.state, _seeker(was.history), was.at_ms, lambda _: was.district)
    new = seeker_terms(state, _seeker(history), at, lambda _seeker: district)
    return Recount(change(old, new), at, district, seeker_due_ms(state, _seeker(history), at))


def recount_pair(was: Was, history: History | None, now_ms: int) -> Recount:
    old = [] if was.at_ms is None else pair_terms(_pair(was.history))
    return Recount(change(old, pair_terms(_pair(history))), _at(was, now_ms), None, None)


def total(recounts: Mapping[Ref, Recount], occurrences: Counts) -> Counts:
    """Everything a batch adds to the counters."""
    counts = dict(occurrences)
    for recount in recounts.values():
        add(counts, recount.delta)
    return counts


def _at(was: Was, now_ms: int) -> int:
    """A clock behind the last count's counts at that count's time, never before it."""
    return now_ms if was.at_ms is None else max(now_ms, was.at_ms)


def _job(history: History | None) -> JobHistory | None:
    return history if isinstance(history, JobHistory) else None


def _seeker(history: History | None) -> SeekerHistory | None:
    return history if isinstance(history, SeekerHistory) else None


def _pair(history: History | None) -> PairHistory | None:
    return history if isinstance(history, PairHistory) else None
