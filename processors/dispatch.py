"""Tiered dispatch of job pushes: how far each tier reaches, when a push may go, what it says.

A job's first tier pushes to the best `per_position` seekers per open position;
while the job stays open, each later tier (after `tier_delay_s`) reaches as many
again among those not pushed yet, up to `max_tiers`. No push goes out in the
quiet hours (Beijing time): it waits, with not_before, for the morning, and so
does the job's next tier. Which seekers a tier actually reaches — not pushed for
this job before, under their hourly limit — is settled atomically in Redis
(streams.dispatch), since pushes for different jobs race for one seeker's limit.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from processors.cards import JobCard
from processors.matching import CHINA, Match
from topics.outputs import NotificationRequested, notification_id


@dataclass(frozen=True)
class DispatchRules:
    per_position: int = 3
    max_tiers: int = 3
    tier_delay_s: float = 600.0
    pushes_per_hour: int = 5
    quiet_from: time = time(22, 0)
    quiet_until: time = time(7, 0)
    channel: str = "push"

    def __post_init__(self) -> None:
        if self.per_position < 1 or self.max_tiers < 1 or self.pushes_per_hour < 1:
            raise ValueError("per_position, max_tiers and pushes_per_hour must be at least 1")
        if self.tier_delay_s <= 0:
            raise ValueError("tier_delay_s must be positive")


def tier_size(remaining_headcount: int, rules: DispatchRules) -> int:
    """How many more seekers one tier may push to."""
    return rules.per_position * remaining_headcount


def shortlist(ranked_ids: list[str], size: int, rules: DispatchRules) -> list[str]:
    """The best candidates a tier is chosen from: enough to fill the last tier after
    skipping everyone the earlier tiers reached, and a tier's worth more for those at
    their hourly limit. Sending all of a busy job's hundreds cost a fifth of its time."""
    return ranked_ids[: size * (rules.max_tiers + 1)]


def not_before(now: datetime, rules: DispatchRules) -> datetime:
    """now, or the end of the quiet hours when now falls inside them, in Beijing time."""
    local = now.astimezone(CHINA)
    if not _quiet(local.time(), rules):
        return local
    day = local.date()
    if local.time() >= rules.quiet_until:
        day += timedelta(days=1)
    return datetime.combine(day, rules.quiet_until, CHINA)


def next_tier_at(now: datetime, rules: DispatchRules) -> datetime:
    """When the next tier may go: a delay after this tier's pushes can be read."""
    return not_before(now, rules) + timedelta(seconds=rules.tier_delay_s)


def notification(
    job: JobCard, found: Match, reasons: list[str], at: datetime, rules: DispatchRules
) -> NotificationRequested:
    """The push for one match: the job's title and the match's reasons, nothing of the seeker."""
    return NotificationRequested(
        notification_id=notification_id(found.seeker_id, found.job_id),
        seeker_id=found.seeker_id,
        job_id=found.job_id,
        channel=rules.channel,
        title=f"附近新工作：{job.title}",
        body="，".join(reasons) + "。",
        not_before=at,
    )


def _quiet(moment: time, rules: DispatchRules) -> bool:
    start, end = rules.quiet_from, rules.quiet_until
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end
