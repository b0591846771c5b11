"""The wiring the figures ask for, modelled in memory: what streams/ will do with Redis.

Batches go through the real ledger; the facts of what it applied or found
stale go into the histories; every job, seeker and pair whose state, history
or district lookup changed is counted again by the difference of its
contributions; each entity keeps the time it was last counted at and is
counted again when its due time has passed.
"""

import copy
from collections.abc import Callable, Mapping
from typing import Any

from processors.figures.contributions import (
    job_due_ms,
    of_event,
    of_job,
    of_pair,
    of_seeker,
    seeker_due_ms,
)
from processors.figures.counts import Counts, add, delta
from processors.figures.history import (
    JobHistory,
    PairHistory,
    SeekerHistory,
    is_fact,
    job_of,
    seeker_of,
    with_hire,
    with_job_event,
    with_match,
    with_seeker_event,
)
from processors.ledger import (
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
from processors.seekers import SeekerState
from topics.applications import HireConfirmed
from topics.envelope import Event

RULES = Rules(checkin_stay_ms=8 * 3_600_000)
ORIGIN = Origin("gig.test", 0, 0, None, b"", 0)
PAIR = "pair"
Entity = tuple[str, str]  # (kind, id); a pair's id is "job_id seeker_id"


def seeker_district(state: SeekerState) -> str:
    """Where a seeker counts: the east or the west of town, by their home."""
    return "东部" if state.profile.home.lon > 119.45 else "西部"


def market_district(states: Mapping[Ref, Any]) -> Callable[[str], str | None]:
    def district(market_id: str) -> str | None:
        state = states.get(Ref(MARKET, market_id))
        return None if state is None else state.market.district

    return district


class Figures:
    def __init__(self) -> None:
        self.world = World({}, {}, set())
        self.job_histories: dict[str, JobHistory] = {}
        self.seeker_histories: dict[str, SeekerHistory] = {}
        self.pairs: dict[str, PairHistory] = {}
        self.counters: Counts = {}
        # Only the time would be kept in Redis; the contribution is kept here to check
        # that "before", evaluated at that time, is exactly what was added.
        self.counted: dict[Entity, tuple[int, Counts]] = {}
        self.due: dict[Entity, int] = {}
        self.facts: list[Event] = []
        self.matches: list[tuple[str, str, int]] = []
        self.outcomes: set[Outcome] = set()

    def apply(self, batch: list[Event], now_ms: int) -> None:
        states = self.world.states
        for ref in refs_of(batch) | unloaded_refs(self.world):
            states.setdefault(ref, None)
        watched = {ref for ref in refs_of(batch) if ref.kind in (JOB, SEEKER, MARKET)}
        before = {ref: copy.deepcopy(states[ref]) for ref in watched}
        self.world.changed = set()
        applied = apply_batch(self.world, [Incoming(event, ORIGIN) for event in batch], RULES)
        assert {ref for ref in self.world.changed if ref.kind in (JOB, SEEKER, MARKET)} <= watched
        old_histories = (dict(self.job_histories), dict(self.seeker_histories), dict(self.pairs))
        touched = {(ref.kind, ref.id) for ref in self.world.changed if ref.kind in (JOB, SEEKER)}
        for each in applied:
            self.outcomes.add(each.result.outcome)
            add(self.counters, of_event(each.incoming.event, each.result))
            if is_fact(each.result):
                touched |= self._take(each.incoming.event)
        touched |= self._jobs_at({r.id for r in self.world.changed if r.kind == MARKET}, before)
        old_states = {**states, **before}
        for kind, entity_id in sorted(touched):
            if kind == JOB:
                self._count_job(entity_id, old_states, old_histories[0], now_ms)
            elif kind == SEEKER:
                self._count_seeker(entity_id, old_states, old_histories[1], now_ms)
            else:
                self._count_pair(entity_id, old_histories[2], now_ms)

    def match(self, job_id: str, seeker_id: str, matched_ms: int, now_ms: int) -> None:
        pair_id = f"{job_id} {seeker_id}"
        old = dict(self.pairs)
        self.pairs[pair_id] = with_match(self.pairs.get(pair_id, PairHistory()), matched_ms)
        self.matches.append((job_id, seeker_id, matched_ms))
        self._count_pair(pair_id, old, now_ms)

    def sweep(self, now_ms: int) -> None:
        """Counts again every entity whose due time has passed."""
        for (kind, entity_id), due in sorted(self.due.items()):
            if due > now_ms:
                continue
            if kind == JOB:
                self._count_job(entity_id, self.world.states, self.job_histories, now_ms)
            else:
                self._count_seeker(entity_id, self.world.states, self.seeker_histories, now_ms)

    def _take(self, event: Event) -> set[Entity]:
        """Writes the event's facts into the histories; the entities whose history it wrote."""
        self.facts.append(event)
        touched: set[Entity] = set()
        job_id, seeker_id = job_of(event.data), seeker_of(event.data)
        if job_id is not None:
            history = self.job_histories.get(job_id, JobHistory())
            self.job_histories[job_id] = with_job_event(history, event)
            touched.add((JOB, job_id))
        if seeker_id is not None:
            history = self.seeker_histories.get(seeker_id, SeekerHistory())
            self.seeker_histories[seeker_id] = with_seeker_event(history, event)
            touched.add((SEEKER, seeker_id))
        if isinstance(event.data, HireConfirmed):
            pair_id = f"{event.data.job_id} {event.data.seeker_id}"
            pair = self.pairs.get(pair_id, PairHistory())
            self.pairs[pair_id] = with_hire(pair, event.occurred_ms)
            touched.add((PAIR, pair_id))
        return touched

    def _jobs_at(self, market_ids: set[str], before: Mapping[Ref, Any]) -> set[Entity]:
        """Jobs whose district may follow a market that changed: their lookup's answer did."""
        return {
            (JOB, ref.id)
            for ref, state in {**self.world.states, **before}.items()
            if ref.kind == JOB and state is not None and state.job.market_id in market_ids
        }

    def _count_job(
        self, job_id: str, old_states: Mapping[Ref, Any], old: dict[str, JobHistory], now_ms: int
    ) -> None:
        ref, states = Ref(JOB, job_id), self.world.states
        state = states.get(ref)
        history = self.job_histories.get(job_id)
        self._count(
            (JOB, job_id),
            lambda at: of_job(
                old_states.get(ref), old.get(job_id), at, market_district(old_states)
            ),
            lambda at: of_job(state, history, at, market_district(states)),
            lambda at: job_due_ms(state, at),
            now_ms,
        )

    def _count_seeker(
        self,
        seeker_id: str,
        old_states: Mapping[Ref, Any],
        old: dict[str, SeekerHistory],
        now_ms: int,
    ) -> None:
        ref = Ref(SEEKER, seeker_id)
        state = self.world.states.get(ref)
        history = self.seeker_histories.get(seeker_id)
        self._count(
            (SEEKER, seeker_id),
            lambda at: of_seeker(old_states.get(ref), old.get(seeker_id), at, seeker_district),
            lambda at: of_seeker(state, history, at, seeker_district),
            lambda at: seeker_due_ms(state, history, at),
            now_ms,
        )

    def _count_pair(self, pair_id: str, old: dict[str, PairHistory], now_ms: int) -> None:
        pair = self.pairs[pair_id]
        self._count(
            (PAIR, pair_id),
            lambda at: of_pair(old.get(pair_id)),
            lambda at: of_pair(pair),
            lambda at: None,
            now_ms,
        )

    def _count(
        self,
        entity: Entity,
        before: Callable[[int], Counts],
        after: Callable[[int], Counts],
        due: Callable[[int], int | None],
        now_ms: int,
    ) -> None:
        counted_ms, counted = self.counted.get(entity, (now_ms, {}))
        old = before(counted_ms)
        assert old == counted, f"{entity} was counted as something other than its state said"
        at = max(now_ms, counted_ms)
        new = after(at)
        add(self.counters, delta(old, new))
        self.counted[entity] = (at, new)
        due_ms = due(at)
        if due_ms is None:
            self.due.pop(entity, None)
        else:
            assert due_ms > at
            self.due[entity] = due_ms
