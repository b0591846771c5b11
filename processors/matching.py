"""The matcher's scorer: whether a seeker and a job fit, how well (0–1), and why, in Chinese.

A pair qualifies only if all of these hold:
- the job's occupation is one of the seeker's;
- the wage meets the seeker's floor (wages.wage_margin says how units compare);
- the shift overlaps one of the seeker's availability windows, or the seeker is
  checked in now and still there when the shift starts (or now, if it has
  started); a seeker who listed no windows did not restrict their hours;
- the job lies inside the circle by the seeker's travel mode, measured from the
  check-in place while checked in, else from home.

The score is a weighted mean of four parts, each in 0..1: skills (the share of
the job's skills the seeker has; a job asking none gives 1), travel (1 at the
door, 0 at the circle's edge), wage (the margin over the floor, full at
Weights.full_margin; 0.5 when there is no floor) and soon (1 for a shift
starting now, 0 at Weights.soon_horizon_h hours or later).

Scoring works on cards (processors.cards) and builds no text: the reasons are
written only for the pairs that are sent or shown (`explain`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from processors.cards import JobCard, SeekerCard
from processors.travel import TravelModel
from processors.wages import wage_margin, wage_reason
from topics.fields import Point, TravelMode

# China keeps one offset all year: local times in texts are Beijing time.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
MODE_WORDS: dict[TravelMode, str] = {
    "walk": "步行",
    "bike": "骑行",
    "ebike": "骑电动车",
    "transit": "乘公交",
    "car": "驾车",
}
MAX_SKILLS_NAMED = 3
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Weights:
    skills: float = 0.3
    travel: float = 0.3
    wage: float = 0.2
    soon: float = 0.2
    # A wage this far above the floor (0.5 = 50%) earns the whole wage part.
    full_margin: float = 0.5
    # A shift starting this many hours ahead or later earns nothing for soonness.
    soon_horizon_h: float = 72.0

    def __post_init__(self) -> None:
        parts = (self.skills, self.travel, self.wage, self.soon)
        if min(parts) < 0 or sum(parts) <= 0:
            raise ValueError(f"weights must be non-negative and not all zero: {parts}")
        if self.full_margin <= 0 or self.soon_horizon_h <= 0:
            raise ValueError("full_margin and soon_horizon_h must be positive")

    @property
    def total(self) -> float:
        return self.skills + self.travel + self.wage + self.soon


class SeekerNow(NamedTuple):
    """A seeker as the matcher sees them now: their card and where they are checked in, if."""

    seeker_id: str
    card: SeekerCard
    checked_in_at: Point | None = None
    checked_in_until_ms: int | None = None


class Match(NamedTuple):
    job_id: str
    seeker_id: str
    score: float
    travel_minutes: float
    from_checkin: bool


def match(
    job_id: str,
    job: JobCard,
    seeker: SeekerNow,
    now_ms: int,
    model: TravelModel,
    weights: Weights,
) -> Match | None:
    """The pair's match, or None when it does not qualify; the caller checks the job is open."""
    card = seeker.card
    if job.occupation not in card.occupations:
        return None
    fits, margin = wage_margin(job.wage, card.min_wage)
    if not fits:
        return None
    checked_in = checked_in_at(seeker, now_ms)
    if not _available(job, seeker, checked_in is not None, now_ms):
        return None
    minutes = model.minutes(checked_in or card, job, card.travel_mode)
    if minutes > model.circle_minutes:
        return None
    skills = len(set(job.skills) & set(card.skills)) / len(set(job.skills)) if job.skills else 1.0
    hours_ahead = max(0, job.shift_start_ms - now_ms) / HOUR_MS
    wage = 0.5 if margin is None else min(1.0, margin / weights.full_margin)
    score = (
        weights.skills * skills
        + weights.travel * (1 - minutes / model.circle_minutes)
        + weights.wage * wage
        + weights.soon * max(0.0, 1 - hours_ahead / weights.soon_horizon_h)
    ) / weights.total
    return Match(job_id, seeker.seeker_id, round(score, 4), round(minutes, 1), bool(checked_in))


def explain(job: JobCard, seeker: SeekerCard, found: Match, now_ms: int) -> list[str]:
    """The match's reasons, as a seeker reads them: the trip, the wage, skills, the start."""
    trip = f"{MODE_WORDS[seeker.travel_mode]}约{max(1, round(found.travel_minutes))}分钟"
    shared = sorted(set(job.skills) & set(seeker.skills))
    return [
        f"从签到处{trip}" if found.from_checkin else trip,
        wage_reason(job.wage, seeker.min_wage),
        *(["技能对口：" + "、".join(shared[:MAX_SKILLS_NAMED])] if shared else []),
        _start_reason(job, now_ms),
    ]


def best_seekers(
    job_id: str,
    job: JobCard,
    candidates: Iterable[SeekerNow],
    now_ms: int,
    model: TravelModel,
    weights: Weights,
) -> list[Match]:
    """The candidates who qualify for the job, best first."""
    found = (match(job_id, job, seeker, now_ms, model, weights) for seeker in candidates)
    return ranked([m for m in found if m is not None], by_seeker=True)


def best_jobs(
    seeker: SeekerNow,
    candidates: Iterable[tuple[str, JobCard]],
    now_ms: int,
    model: TravelModel,
    weights: Weights,
) -> list[Match]:
    """The open jobs the seeker qualifies for, best first."""
    found = (match(job_id, job, seeker, now_ms, model, weights) for job_id, job in candidates)
    return ranked([m for m in found if m is not None], by_seeker=False)


def checked_in_at(seeker: SeekerNow, now_ms: int) -> Point | None:
    """Where the seeker is checked in now, or None when not (or no longer)."""
    until = seeker.checked_in_until_ms
    if seeker.checked_in_at is None or until is None or until <= now_ms:
        return None
    return seeker.checked_in_at


def origin(seeker: SeekerNow, now_ms: int) -> Point:
    """Where the seeker's trips start now: the check-in place while checked in, else home."""
    return checked_in_at(seeker, now_ms) or Point(seeker.card.lat, seeker.card.lon)


def ranked(matches: list[Match], *, by_seeker: bool) -> list[Match]:
    """Best first; ties go to the shorter trip, then to the smaller id, so ranks are stable."""

    def order(m: Match) -> tuple[float, float, str]:
        return (-m.score, m.travel_minutes, m.seeker_id if by_seeker else m.job_id)

    return sorted(matches, key=order)


def _available(job: JobCard, seeker: SeekerNow, checked_in: bool, now_ms: int) -> bool:
    windows = seeker.card.available
    if not windows:
        return True
    if any(job.shift_end_ms > start and job.shift_start_ms < end for start, end in windows):
        return True
    until = seeker.checked_in_until_ms
    return checked_in and until is not None and until > max(job.shift_start_ms, now_ms)


def _start_reason(job: JobCard, now_ms: int) -> str:
    if job.shift_start_ms <= now_ms:
        return "已开工，可立即上岗"
    start = datetime.fromtimestamp(job.shift_start_ms / 1000, CHINA)
    today = datetime.fromtimestamp(now_ms / 1000, CHINA).date()
    days = (start.date() - today).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{start.month}月{start.day}日")
    return f"{day}{start:%H:%M}开工"
