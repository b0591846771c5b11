"""Nearby queries: which open jobs and which markets and stations answer a query, nearest first.

A geo index only narrows the candidates down; what is served is decided here,
from a job's card (processors.cards) or a place's state, the travel model and
the clock, so an index that lags (a job past its expiry that the sweep has not
reached yet) serves nothing stale.
"""

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import msgspec

from processors import markets
from processors.cards import JobCard
from processors.matching import CHINA
from processors.travel import TravelModel
from processors.wages import daily_wage
from topics.fields import TimeRange, TravelMode, Wage, epoch_ms
from topics.markets import MarketKind

H = TypeVar("H")


@dataclass(frozen=True)
class Circle:
    """Everything within `minutes` of the point by `mode`; the edge is in."""

    lat: float
    lon: float
    mode: TravelMode
    minutes: float


@dataclass(frozen=True)
class ShiftWindow:
    """When the seeker can work; an open side (None) reaches as far as any shift."""

    start: datetime | None = None
    end: datetime | None = None

    def overlaps(self, shift_start_ms: int, shift_end_ms: int) -> bool:
        """Whether the shift has some time inside the window; merely touching it is not enough."""
        after_start = self.start is None or shift_end_ms > epoch_ms(self.start)
        before_end = self.end is None or shift_start_ms < epoch_ms(self.end)
        return after_start and before_end


@dataclass(frozen=True)
class JobQuery:
    """Open jobs in the circle, optionally of one occupation, paying at least
    min_daily_wage a day (piece rates have no daily wage and never qualify) and
    with a shift overlapping shift_window."""

    circle: Circle
    occupation: str | None = None
    min_daily_wage: float | None = None
    shift_window: ShiftWindow | None = None
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class PlaceQuery:
    """Active markets and stations in the circle, or only those of one kind."""

    circle: Circle
    kind: MarketKind | None = None
    offset: int = 0
    limit: int = 20


class JobHit(msgspec.Struct, frozen=True):
    job_id: str
    title: str
    occupation: str
    wage: Wage
    daily_wage: float | None  # None for a piece rate; rounded to the fen
    shift: TimeRange
    lat: float
    lon: float
    district: str | None
    travel_minutes: float  # rounded to 0.1


class PlaceHit(msgspec.Struct, frozen=True):
    market_id: str
    kind: MarketKind
    name: str
    district: str
    lat: float
    lon: float
    travel_minutes: float  # rounded to 0.1


@dataclass(frozen=True)
class Ranked(Generic[H]):
    """A hit with what orders it: the exact travel minutes, then the id."""

    minutes: float
    id: str
    hit: H


@dataclass(frozen=True)
class Found(Generic[H]):
    items: list[H]  # one page, nearest first
    total: int  # every hit of the query, on all pages


def job_rank(
    job_id: str, job: JobCard, query: JobQuery, model: TravelModel, now_ms: int
) -> Ranked[JobCard] | None:
    """The job ranked as an answer to the query, or None when it is not one.

    Only open jobs have a card; past its deadline a card is stale until the
    sweep takes it away, and is not served.
    """
    circle = query.circle
    if now_ms >= job.deadline_ms:
        return None
    if query.occupation is not None and job.occupation != query.occupation:
        return None
    minutes = model.minutes(circle, job, circle.mode)
    if minutes > circle.minutes:
        return None
    if query.min_daily_wage is not None:
        daily = daily_wage(job.wage)
        if daily is None or daily < query.min_daily_wage:
            return None
    window = query.shift_window
    if window is not None and not window.overlaps(job.shift_start_ms, job.shift_end_ms):
        return None
    return Ranked(minutes, job_id, job)


def job_hit(ranked: Ranked[JobCard]) -> JobHit:
    """What is shown of a ranked job: only these are built, one page of them."""
    job = ranked.hit
    daily = daily_wage(job.wage)
    return JobHit(
        job_id=ranked.id,
        title=job.title,
        occupation=job.occupation,
        wage=job.wage,
        daily_wage=None if daily is None else round(daily, 2),
        shift=TimeRange(_china_time(job.shift_start_ms), _china_time(job.shift_end_ms)),
        lat=job.lat,
        lon=job.lon,
        district=job.district,
        travel_minutes=round(ranked.minutes, 1),
    )


def place_hit(
    state: markets.MarketState, query: PlaceQuery, model: TravelModel
) -> Ranked[PlaceHit] | None:
    """The market or station as an answer to the query, or None when it is not one."""
    market, circle = state.market, query.circle
    if not markets.is_active(state):
        return None
    if query.kind is not None and market.kind != query.kind:
        return None
    if not model.within(circle, market.location, circle.mode, circle.minutes):
        return None
    minutes = model.minutes(circle, market.location, circle.mode)
    hit = PlaceHit(
        market_id=market.market_id,
        kind=market.kind,
        name=market.name,
        district=market.district,
        lat=market.location.lat,
        lon=market.location.lon,
        travel_minutes=round(minutes, 1),
    )
    return Ranked(minutes, market.market_id, hit)


def page(ranked: Iterable[Ranked[H]], offset: int, limit: int) -> Found[Ranked[H]]:
    """One page of the hits by travel minutes, ties by id, and how many there are in all."""
    every = list(ranked)
    first = heapq.nsmallest(offset + limit, every, key=lambda r: (r.minutes, r.id))
    return Found(first[offset:], len(every))


def _china_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, CHINA)
