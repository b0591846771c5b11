"""Events, states and histories for the figures' tests, from the factory's contract events."""

from datetime import datetime, timedelta
from typing import Any

import msgspec
import orjson

from processors import jobs, seekers
from processors.figures.history import JobHistory, SeekerHistory, with_job_event, with_seeker_event
from processors.jobs import JobState
from processors.outcome import Outcome
from processors.seekers import SeekerState
from tests import factory
from topics.catalog import INPUT_TOPICS
from topics.envelope import Event

DATA_TYPES = {name: type_ for topic in INPUT_TOPICS for name, type_ in topic.event_types.items()}
MINUTE_MS = 60_000


def ms(minutes: float) -> int:
    """The instant minutes after the factory's base (2026-11-27 16:00 Beijing, a Friday)."""
    return int((factory.BASE + timedelta(minutes=minutes)).timestamp() * 1000)


def event(envelope: dict[str, Any], source: str | None = None) -> Event:
    """A factory event as the decoder would hand it over, from another channel if given."""
    data = msgspec.convert(envelope["data"], DATA_TYPES[envelope["type"]], strict=False)
    return Event(
        envelope["event_id"],
        envelope["type"],
        datetime.fromisoformat(envelope["occurred_at"]),
        source or envelope["source"],
        data,
        orjson.dumps(envelope["data"]),
    )


def job(
    minutes: float = 0, source: str | None = None, hires: int = 0, **fields: Any
) -> tuple[JobState, JobHistory]:
    """A job posted at minutes (open for 8 hours from an hour later), hired hires times."""
    posted = event(factory.job_posted("J1", minutes, **fields), source)
    result, state = jobs.apply(None, posted.data, posted.occurred_ms, {})
    assert result.outcome is Outcome.APPLIED and state is not None
    history = with_job_event(JobHistory(), posted)
    for n in range(hires):
        state, history = hired(state, history, f"S{n}", minutes + 10 * (n + 1))
    return state, history


def hired(
    state: JobState, history: JobHistory, seeker_id: str, minutes: float
) -> tuple[JobState, JobHistory]:
    hire = event(factory.hire_confirmed(state.job.job_id, seeker_id, minutes))
    result, after = jobs.apply(state, hire.data, hire.occurred_ms, {})
    assert result.outcome is Outcome.APPLIED and after is not None
    return after, with_job_event(history, hire)


def seeker(minutes: float = 0, **fields: Any) -> tuple[SeekerState, SeekerHistory]:
    registered = event(factory.seeker_registered("S1", minutes, **fields))
    result, state = seekers.apply(None, registered.data, registered.occurred_ms, {})
    assert result.outcome is Outcome.APPLIED and state is not None
    return state, with_seeker_event(SeekerHistory(), registered)


def no_district(market_id: str) -> str | None:
    return None
