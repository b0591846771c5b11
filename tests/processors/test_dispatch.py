"""Tiered dispatch: tier sizes, the quiet hours, and what a push says (and does not)."""

from datetime import datetime, time

import msgspec
import pytest

from processors import jobs
from processors.cards import job_card
from processors.dispatch import (
    DispatchRules,
    next_tier_at,
    not_before,
    notification,
    shortlist,
    tier_size,
)
from processors.matching import CHINA, Match
from tests import factory
from topics.jobs import JobPosted

RULES = DispatchRules()


def beijing(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (beijing(21, 59), beijing(21, 59)),
        (beijing(22, 0), beijing(7, 0, day=28)),
        (beijing(23, 30), beijing(7, 0, day=28)),
        (beijing(0, 0), beijing(7, 0)),
        (beijing(6, 59), beijing(7, 0)),
        (beijing(7, 0), beijing(7, 0)),
    ],
)
def test_no_push_goes_out_in_the_quiet_hours(now: datetime, expected: datetime) -> None:
    assert not_before(now, RULES) == expected


def test_quiet_hours_need_not_cross_midnight() -> None:
    siesta = DispatchRules(quiet_from=time(12), quiet_until=time(14))
    assert not_before(beijing(13), siesta) == beijing(14)
    assert not_before(beijing(23), siesta) == beijing(23)


def test_the_next_tier_waits_for_the_morning_too() -> None:
    assert next_tier_at(beijing(23), RULES) == beijing(7, 10, day=28)
    assert next_tier_at(beijing(9), RULES) == beijing(9, 10)


def test_a_tier_reaches_per_position_seekers_for_each_open_position() -> None:
    assert tier_size(2, RULES) == 6
    assert tier_size(0, RULES) == 0


def test_a_push_names_the_job_and_the_reasons_and_nothing_of_the_seeker() -> None:
    posted = msgspec.convert(factory.job_posted("J1")["data"], JobPosted, strict=False)
    job = job_card(jobs.JobState(posted, {}, {}), 0)
    assert job is not None
    found = Match("J1", "S1", 0.8, 8.0, False)
    why = ["步行约8分钟", "日薪200元"]
    push = notification(job, found, why, beijing(9), RULES)
    assert push.title == "附近新工作：仓库装卸"
    assert push.body == "步行约8分钟，日薪200元。"
    later = notification(job, found, why, beijing(10), RULES)
    assert push.notification_id == later.notification_id
    text = msgspec.json.encode(push).decode()
    assert "13812345678" not in text and "张三" not in text


def test_a_tier_chooses_from_enough_to_fill_the_last_tier_and_one_more() -> None:
    ranked = [f"S{i}" for i in range(100)]
    assert shortlist(ranked, 6, RULES) == ranked[:24]  # 3 tiers of 6, and 6 more
    assert shortlist(ranked[:5], 6, RULES) == ranked[:5]


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        DispatchRules(per_position=0)
