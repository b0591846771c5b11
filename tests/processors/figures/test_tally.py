"""The store's way of keeping the counters (tally.py) equals the figures recomputed from scratch.

A model of streams.store keeps, as Redis would, only each entity's tally (its
history, when and in which district it was last counted) and the counters,
and rebuilds "before" from the tally alone. The same random streams as
test_contributions go through it, checked against the brute-force oracle.
"""

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.figures.counts import Counts, add
from processors.figures.history import PairHistory, with_match
from processors.figures.tally import (
    PAIR,
    History,
    Recount,
    Was,
    follows,
    pair_ref,
    recount_job,
    recount_pair,
    recount_seeker,
    redistricted,
    take_facts,
    total,
)
from processors.ledger import (
    JOB,
    SEEKER,
    Incoming,
    Ref,
    World,
    apply_batch,
    refs_of,
    unloaded_refs,
)
from processors.outcome import Outcome
from tests.processors.figures.build import ms
from tests.processors.figures.test_contributions import (
    STEPS,
    Step,
    Stream,
    assert_counters_are_the_figures,
    seeded_steps,
)
from tests.processors.figures.wiring import ORIGIN, RULES, market_district, seeker_district
from topics.envelope import Event


class Tallied:
    """What the store keeps, in memory: states, tallies, due times and counters."""

    def __init__(self) -> None:
        self.world = World({}, {}, set())
        self.tallies: dict[Ref, Was] = {}  # Was without its state: the state is in world
        self.due: dict[Ref, int] = {}
        self.counters: Counts = {}
        self.facts: list[Event] = []
        self.matches: list[tuple[str, str, int]] = []
        self.outcomes: set[Outcome] = set()

    def apply(self, batch: list[Event], now_ms: int, recount: set[Ref] | None = None) -> None:
        states = self.world.states
        for ref in refs_of(batch) | unloaded_refs(self.world):
            states.setdefault(ref, None)
        # As the store reads them back: decoded afresh, untouched by the ledger.
        before = {ref: copy.deepcopy(state) for ref, state in states.items()}
        self.world.changed = set()
        applied = apply_batch(self.world, [Incoming(e, ORIGIN) for e in batch], RULES)
        histories = {ref: was.history for ref, was in self.tallies.items() if was.history}
        written, occurrences = take_facts(histories, applied)
        for each in applied:
            self.outcomes.add(each.result.outcome)
            if each.result.outcome in (Outcome.APPLIED, Outcome.STALE):
                self.facts.append(each.incoming.event)
        changed = {ref for ref in self.world.changed if ref.kind in (JOB, SEEKER)}
        moved = redistricted(before, states)
        followers = {r for r, s in states.items() if r.kind == JOB and follows(s) in moved}
        recounts = {
            ref: self._recount(ref, before.get(ref), histories.get(ref), now_ms)
            for ref in changed | written | followers | (recount or set())
        }
        add(self.counters, total(recounts, occurrences))
        for ref, done in recounts.items():
            self._keep(ref, done, histories.get(ref))

    def match(self, job_id: str, seeker_id: str, matched_ms: int, now_ms: int) -> None:
        ref = pair_ref(job_id, seeker_id)
        was = self.tallies.get(ref, Was(None, None, None, None))
        pair = was.history if isinstance(was.history, PairHistory) else PairHistory()
        history = with_match(pair, matched_ms)
        self.matches.append((job_id, seeker_id, matched_ms))
        done = recount_pair(was, history, now_ms)
        add(self.counters, done.delta)
        self._keep(ref, done, history)

    def sweep(self, now_ms: int) -> None:
        due = {ref for ref, at in self.due.items() if at <= now_ms}
        if due:
            self.apply([], now_ms, due)

    def _recount(self, ref: Ref, before: Any, history: History | None, now_ms: int) -> Recount:
        kept = self.tallies.get(ref, Was(None, None, None, None))
        was = Was(before, kept.history, kept.at_ms, kept.district)
        state = self.world.states.get(ref)
        if ref.kind == JOB:
            return recount_job(was, state, history, now_ms, market_district(self.world.states))
        if ref.kind == SEEKER:
            district = None if state is None else seeker_district(state)
            return recount_seeker(was, state, history, now_ms, district)
        return recount_pair(was, history, now_ms)

    def _keep(self, ref: Ref, done: Recount, history: History | None) -> None:
        self.tallies[ref] = Was(None, history, done.at_ms, done.district)
        if ref.kind == PAIR:
            return
        if done.due_ms is None:
            self.due.pop(ref, None)
        else:
            assert done.due_ms > done.at_ms
            self.due[ref] = done.due_ms


def run(steps: list[Step], check_every: int) -> Tallied:
    tallied = Tallied()
    stream = Stream(tallied)  # type: ignore[arg-type]
    for n, step in enumerate(steps, 1):
        stream.step(step)
        if n % check_every == 0 or n == len(steps):
            stream.flush()
            assert_counters_are_the_figures(tallied, ms(stream.now))  # type: ignore[arg-type]
    return tallied


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(STEPS, min_size=30, max_size=120))
def test_tallies_keep_the_counters_equal_to_the_figures_from_scratch(steps: list[Step]) -> None:
    run(steps, check_every=10)


def test_a_long_stream_through_the_tallies_stays_exact() -> None:
    tallied = run(seeded_steps(7, 3000), check_every=150)
    assert tallied.outcomes == set(Outcome)
    assert len(tallied.counters) > 1000
