"""Counters kept from a stream's changes equal the figures recomputed from scratch.

A random stream of postings, updates, closes, hires, registrations,
withdrawals, check-ins, applications, markets, matches, duplicates, late and
stale events and clock jumps goes through the real ledger and the wiring's
model (wiring.py); at checkpoints its counters must equal the brute-force
figures (oracle.py) of the states and facts so far.
"""

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.figures.contributions import job_due_ms, of_event, of_job, of_seeker
from processors.figures.history import JobHistory
from processors.figures.windows import MONTH
from processors.outcome import APPLIED, DUPLICATE, STALE, Outcome
from tests import factory
from tests.processors.figures.build import event, job, ms, no_district, seeker
from tests.processors.figures.oracle import recomputed
from tests.processors.figures.wiring import Figures, market_district, seeker_district
from topics.envelope import Event

JOBS = [f"J{n}" for n in range(5)]
SEEKERS = [f"S{n}" for n in range(5)]
MARKETS = ["M0", "M1", "M2"]
OCCUPATIONS = ["快递员", "普工", "家政服务员"]
DISTRICTS = ["京口区", "润州区"]
SOURCES = ["market:M0", "livestream:L1", "livestream:L2", "alipay"]
WAGES = [
    {"amount": 200, "unit": "day"},
    {"amount": 25, "unit": "hour"},
    {"amount": 5000, "unit": "month"},
    {"amount": 3, "unit": "piece"},
    {"amount": 260, "unit": "day"},
]
DAY_MINUTES = 24 * 60
ADVANCE = 15  # the step that moves the clock by days

# (what, a, b, how late, ends the batch)
Step = tuple[int, int, int, int, bool]
STEPS = st.tuples(
    st.integers(0, ADVANCE),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 3),
    st.booleans(),
)


class Stream:
    """Turns steps into contract events, as the channels would send them, on a moving clock."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures
        self.now = 0.0  # minutes after the factory's base
        self.sent: list[Event] = []
        self.batch: list[Event] = []

    def step(self, step: Step) -> None:
        what, a, b, lateness, ends_batch = step
        self.now += a % 13
        if what == ADVANCE:
            self.now += DAY_MINUTES * (1 + b % 12)
        minutes = self.now - [0, b % 30, b * 17, DAY_MINUTES * (b % 40)][lateness]
        envelope = self._envelope(what, a, b, minutes)
        if envelope is not None:
            self.batch.append(event(envelope, SOURCES[b % 4]))
            self.sent.append(self.batch[-1])
        if what == 13 and self.sent:
            self.batch.append(self.sent[a % len(self.sent)])  # the same event_id again
        if what == 14:
            self.figures.match(JOBS[a % 5], SEEKERS[b % 5], ms(minutes), ms(self.now))
        if ends_batch or what == ADVANCE:
            self.flush()

    def flush(self) -> None:
        self.figures.sweep(ms(self.now))
        self.figures.apply(self.batch, ms(self.now))
        self.batch = []

    def _envelope(self, what: int, a: int, b: int, minutes: float) -> dict[str, Any] | None:
        job_id, seeker_id, market_id = JOBS[a % 5], SEEKERS[b % 5], MARKETS[b % 3]
        application_id = f"A{job_id}{seeker_id}"
        if what in (0, 1):
            return factory.job_posted(job_id, minutes, **_posting(a, b, minutes))
        if what == 2:
            return factory.job_updated(job_id, minutes, **_update(b, minutes))
        if what == 3:
            return factory.job_closed(job_id, minutes, ["filled", "cancelled", "expired"][b % 3])
        if what == 4:
            return factory.hire_confirmed(job_id, seeker_id, minutes)
        if what == 5:
            occupations = sorted({OCCUPATIONS[a % 3], OCCUPATIONS[b % 3]})
            return factory.seeker_registered(seeker_id, minutes, occupations=occupations)
        if what == 6:
            home = {"lat": 32.2, "lon": 119.4 + a / 1000}
            return factory.seeker_updated(
                seeker_id, minutes, occupations=[OCCUPATIONS[a % 3]], home=home
            )
        if what == 7:
            return factory.seeker_withdrawn(seeker_id, minutes)
        if what == 8:
            if a % 4 == 0:
                return factory.checkin(seeker_id, minutes, location={"lat": 32.2, "lon": 119.4})
            return factory.checkin(seeker_id, minutes, market_id=market_id)
        if what == 9:
            return factory.checkout(seeker_id, minutes)
        if what == 10:
            return factory.application_submitted(application_id, job_id, seeker_id, minutes)
        if what == 11:
            return factory.application_withdrawn(application_id, minutes)
        if what == 12:
            if a % 5 == 0:
                return factory.market_removed(market_id, minutes)
            return factory.market_upserted(market_id, minutes, district=DISTRICTS[a % 2])
        return None


def _posting(a: int, b: int, minutes: float) -> dict[str, Any]:
    location: dict[str, Any] = {"lat": 32.2, "lon": 119.45}
    if b % 2:
        location["district"] = DISTRICTS[a % 2]
    shift_end = minutes + 60 * (1 + b % 48)
    return {
        "occupation": OCCUPATIONS[b % 3],
        "headcount": 1 + b % 3,
        "wage": WAGES[a % 5],
        "location": location,
        "market_id": MARKETS[a % 3] if b % 4 else None,
        "shift": {"start": factory.at(minutes - 60), "end": factory.at(shift_end)},
    }


def _update(b: int, minutes: float) -> dict[str, Any]:
    return [
        {"headcount": 1 + b % 4},
        {"occupation": OCCUPATIONS[b % 3]},
        {"wage": WAGES[b % 5]},
        {"market_id": MARKETS[b % 3]},
        {"expires_at": factory.at(minutes + b * 7)},
    ][b % 5]


def run(steps: list[Step], check_every: int) -> Figures:
    figures = Figures()
    stream = Stream(figures)
    for n, step in enumerate(steps, 1):
        stream.step(step)
        if n % check_every == 0 or n == len(steps):
            stream.flush()
            assert_counters_are_the_figures(figures, ms(stream.now))
    return figures


def assert_counters_are_the_figures(figures: Figures, now_ms: int) -> None:
    states = figures.world.states
    expected = recomputed(
        states, figures.facts, figures.matches, now_ms, seeker_district, market_district(states)
    )
    missing = {key: n for key, n in expected.items() if figures.counters.get(key) != n}
    extra = {key: n for key, n in figures.counters.items() if key not in expected}
    assert not missing and not extra, (missing, extra)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(st.lists(STEPS, min_size=30, max_size=120))
def test_counters_kept_from_changes_equal_the_figures_from_scratch(steps: list[Step]) -> None:
    run(steps, check_every=10)


def seeded_steps(seed: int, n: int) -> list[Step]:
    rng = random.Random(seed)
    return [
        (
            rng.randrange(ADVANCE + 1),
            rng.randrange(100),
            rng.randrange(100),
            rng.randrange(4),
            rng.random() < 0.4,
        )
        for _ in range(n)
    ]


def test_a_long_stream_keeps_the_counters_exact_through_every_kind_of_outcome() -> None:
    figures = run(seeded_steps(2026, 3000), check_every=150)
    assert figures.outcomes == set(Outcome)  # applied, duplicate, stale, pending and rejected
    assert len(figures.counters) > 1000
    months = {key.window for key in figures.counters if key.window.period == MONTH}
    assert len(months) > 2  # the stream crosses month ends, in Beijing time


def test_nothing_counts_for_a_job_or_seeker_not_yet_posted_or_registered() -> None:
    assert of_job(None, JobHistory(posted_ms=ms(0)), ms(1), no_district) == {}
    assert of_seeker(None, None, ms(1), seeker_district) == {}
    assert job_due_ms(None, ms(1)) is None


def test_a_job_posted_without_its_history_counts_only_as_open() -> None:
    state, _ = job(0)
    assert {key.figure for key in of_job(state, None, ms(1), no_district)} == {"open_positions"}


def test_a_checkin_counts_as_it_happens_once_and_even_late_but_not_twice() -> None:
    checkin = event(factory.checkin("S1", 0, market_id="M1"))
    assert of_event(checkin, APPLIED) == of_event(checkin, STALE) != {}
    assert of_event(checkin, DUPLICATE) == {}
    state, history = seeker(0)
    registered = event(factory.seeker_registered("S1"))
    assert of_event(registered, APPLIED) == {}
    assert of_seeker(state, history, ms(1), seeker_district) != {}
