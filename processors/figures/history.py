"""What the figures remember that the live state forgets: when things happened, and where.

A job's state says how many were hired, not when; a seeker's says nothing of
check-ins or applications. These records keep those facts, each merged by
earliest time, latest time or set union, so they come out the same whatever
order the events arrive in, and taking an event twice changes nothing.

They take the facts of every event the ledger applied or found stale (a late
check-in still happened), and of none it parked, rejected or saw twice.
"""

from typing import Any

import msgspec

from processors.figures.windows import day_of
from processors.outcome import Outcome, Result
from topics.applications import ApplicationSubmitted, HireConfirmed
from topics.checkins import Checkin
from topics.envelope import Event
from topics.jobs import JobPosted
from topics.seekers import SeekerRegistered

_FACTS = frozenset({Outcome.APPLIED, Outcome.STALE})


class JobHistory(msgspec.Struct, frozen=True):
    posted_ms: int | None = None  # the earliest job.posted
    source: str | None = None  # the channel of that posting (the smaller, at a tie)
    hired_ms: dict[str, int] = {}  # seeker_id -> when the hire was confirmed
    applications: frozenset[str] = frozenset()  # application ids ever submitted to the job


class SeekerHistory(msgspec.Struct, frozen=True):
    # Beijing days on which the seeker registered, checked in or applied.
    days: frozenset[int] = frozenset()
    # (day, market_id) of every check-in at a market or station.
    visits: frozenset[tuple[int, str]] = frozenset()


class PairHistory(msgspec.Struct, frozen=True):
    """A seeker and a job: when the matcher first matched them, when the seeker was hired."""

    matched_ms: int | None = None
    hired_ms: int | None = None


def is_fact(result: Result) -> bool:
    """Whether the event's facts go into the histories (and its occurrence is counted)."""
    return result.outcome in _FACTS


def job_of(data: Any) -> str | None:
    """The job whose history the event writes, if any."""
    if isinstance(data, JobPosted | ApplicationSubmitted | HireConfirmed):
        return data.job_id
    return None


def seeker_of(data: Any) -> str | None:
    """The seeker whose history the event writes, if any."""
    if isinstance(data, SeekerRegistered | Checkin | ApplicationSubmitted):
        return data.seeker_id
    return None


def with_job_event(history: JobHistory, event: Event) -> JobHistory:
    data, ms = event.data, event.occurred_ms
    if isinstance(data, JobPosted):
        posted = (ms, event.source)
        if history.posted_ms is not None and history.source is not None:
            posted = min(posted, (history.posted_ms, history.source))
        return msgspec.structs.replace(history, posted_ms=posted[0], source=posted[1])
    if isinstance(data, ApplicationSubmitted):
        applications = history.applications | {data.application_id}
        return msgspec.structs.replace(history, applications=applications)
    if isinstance(data, HireConfirmed):
        hired = {data.seeker_id: _earliest(history.hired_ms.get(data.seeker_id), ms)}
        return msgspec.structs.replace(history, hired_ms={**history.hired_ms, **hired})
    return history


def with_seeker_event(history: SeekerHistory, event: Event) -> SeekerHistory:
    data, day = event.data, day_of(event.occurred_ms)
    if seeker_of(data) is None:
        return history
    visits = history.visits
    if isinstance(data, Checkin) and data.market_id is not None:
        visits = visits | {(day, data.market_id)}
    return SeekerHistory(history.days | {day}, visits)


def with_match(pair: PairHistory, matched_ms: int) -> PairHistory:
    return msgspec.structs.replace(pair, matched_ms=_earliest(pair.matched_ms, matched_ms))


def with_hire(pair: PairHistory, hired_ms: int) -> PairHistory:
    return msgspec.structs.replace(pair, hired_ms=_earliest(pair.hired_ms, hired_ms))


def _earliest(known: int | None, ms: int) -> int:
    return ms if known is None else min(known, ms)
