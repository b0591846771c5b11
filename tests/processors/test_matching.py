"""The scorer: which seeker↔job pairs qualify, how they rank, and the reasons a seeker reads."""

from datetime import timedelta
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from processors import jobs, seekers
from processors.cards import JobCard, job_card, seeker_card
from processors.matching import Match, SeekerNow, Weights, explain, match, ranked
from processors.travel import TravelModel
from tests import factory
from tests.processors.test_travel import JINGKOU, north_of
from topics.fields import Point
from topics.jobs import JobPosted
from topics.seekers import SeekerRegistered

MODEL = TravelModel()
WEIGHTS = Weights()
NOW = int(factory.BASE.timestamp() * 1000)
HOUR_MS = 3_600_000


def job(at: Point = JINGKOU, **fields: Any) -> JobCard:
    where = {"lat": at.lat, "lon": at.lon}
    data = factory.job_posted("J1", 0, location=where, **fields)["data"]
    state = jobs.JobState(msgspec.convert(data, JobPosted, strict=False), {}, {})
    card = job_card(state, NOW)
    assert card is not None
    return card


def seeker(
    home: Point = JINGKOU,
    checked_in_at: Point | None = None,
    until_ms: int | None = None,
    **fields: Any,
) -> SeekerNow:
    data = factory.seeker_registered("S1", 0, home={"lat": home.lat, "lon": home.lon}, **fields)
    profile = msgspec.convert(data["data"], SeekerRegistered, strict=False)
    card = seeker_card(seekers.SeekerState(profile, {}, {}))
    assert card is not None
    return SeekerNow("S1", card, checked_in_at, until_ms)


def found(j: JobCard, s: SeekerNow, now_ms: int = NOW) -> Match | None:
    return match("J1", j, s, now_ms, MODEL, WEIGHTS)


def reasons(j: JobCard, s: SeekerNow) -> list[str]:
    result = found(j, s)
    assert result is not None
    return explain(j, s.card, result, NOW)


def window(start_h: float, end_h: float) -> dict[str, str]:
    return {"start": factory.at(start_h * 60), "end": factory.at(end_h * 60)}


def test_a_fitting_pair_explains_itself_in_chinese() -> None:
    near = north_of(JINGKOU, 0.46)  # 8 minutes on foot
    offer = job(near, wage={"amount": 200, "unit": "day"})
    walker = seeker(travel_mode="walk", min_wage={"amount": 180, "unit": "day"})
    result = found(offer, walker)
    assert result is not None
    assert reasons(offer, walker) == [
        "步行约8分钟",
        "日薪200元，高于期望180元",
        "技能对口：叉车",
        "今天17:00开工",  # the factory's shift starts at 09:00 UTC
    ]
    assert result.travel_minutes == 8.0


def test_another_occupation_never_qualifies() -> None:
    assert found(job(occupation="保洁员"), seeker()) is None


def test_a_wage_below_the_floor_does_not_qualify_and_meeting_it_exactly_does() -> None:
    floor = {"amount": 200, "unit": "day"}
    assert found(job(wage={"amount": 199.9, "unit": "day"}), seeker(min_wage=floor)) is None
    exact = reasons(job(wage={"amount": 25, "unit": "hour"}), seeker(min_wage=floor))
    assert exact[1] == "时薪25元（折合日薪200元），达到期望200元"


def test_piece_rates_compare_only_with_a_floor_per_piece() -> None:
    piece = {"amount": 2.5, "unit": "piece"}
    assert found(job(wage=piece), seeker(min_wage={"amount": 150, "unit": "day"})) is None
    per_piece = reasons(job(wage=piece), seeker(min_wage={"amount": 2, "unit": "piece"}))
    assert per_piece[1] == "计件2.5元/件，高于期望2元/件"
    daily_job = job(wage={"amount": 300, "unit": "day"})
    assert found(daily_job, seeker(min_wage={"amount": 2, "unit": "piece"})) is None
    assert reasons(job(wage=piece), seeker(min_wage=None))[1] == "计件2.5元/件"


def test_the_shift_must_overlap_a_window_unless_none_was_listed() -> None:
    shift = window(1, 9)
    assert found(job(shift=shift), seeker(available=[window(9, 12)])) is None
    assert found(job(shift=shift), seeker(available=[window(8, 12)])) is not None
    assert found(job(shift=shift), seeker(available=[])) is not None


def test_a_checked_in_seeker_qualifies_when_still_there_at_the_shift_start() -> None:
    shift = window(1, 9)
    busy = [window(20, 30)]
    staying = seeker(checked_in_at=JINGKOU, until_ms=NOW + 2 * HOUR_MS, available=busy)
    leaving = seeker(checked_in_at=JINGKOU, until_ms=NOW + HOUR_MS // 2, available=busy)
    assert found(job(shift=shift), staying) is not None
    assert found(job(shift=shift), leaving) is None


def test_travel_is_measured_from_the_check_in_place_while_checked_in() -> None:
    far_home = north_of(JINGKOU, 3)  # 52 minutes on foot
    at_market = seeker(far_home, checked_in_at=JINGKOU, until_ms=NOW + HOUR_MS, travel_mode="walk")
    assert reasons(job(JINGKOU), at_market)[0] == "从签到处步行约1分钟"
    gone_home = seeker(far_home, checked_in_at=JINGKOU, until_ms=NOW, travel_mode="walk")
    assert found(job(JINGKOU), gone_home) is None


def test_the_circle_edge_is_inside() -> None:
    edge_km = MODEL.radius_km("walk")
    assert found(job(north_of(JINGKOU, edge_km * 0.9999)), seeker(travel_mode="walk"))
    assert found(job(north_of(JINGKOU, edge_km * 1.001)), seeker(travel_mode="walk")) is None


def test_start_reasons_name_the_day_in_beijing_time() -> None:
    assert reasons(job(shift=window(-1, 5)), seeker())[-1] == "已开工，可立即上岗"
    # Now is 16:00 on the 27th in Beijing: 17 hours on is 09:00 on the 28th.
    assert reasons(job(shift=window(17, 20)), seeker())[-1] == "明天09:00开工"
    assert reasons(job(shift=window(33, 40)), seeker())[-1] == "后天01:00开工"
    assert reasons(job(shift=window(24 * 5, 24 * 5 + 8)), seeker())[-1] == "12月2日16:00开工"


distances = st.floats(0, 4.5)
wages = st.floats(180, 400)
starts = st.floats(0, 100)
skill_sets = st.sets(st.sampled_from(["叉车", "电焊", "驾驶", "收银"]))


@given(distances, wages, starts, skill_sets, skill_sets)
def test_scores_lie_between_zero_and_one(
    km: float, wage: float, start_h: float, wanted: set[str], has: set[str]
) -> None:
    result = found(
        job(
            north_of(JINGKOU, km),
            wage={"amount": wage, "unit": "day"},
            shift=window(start_h, start_h + 8),
            skills=sorted(wanted),
        ),
        seeker(travel_mode="car", skills=sorted(has), min_wage={"amount": 180, "unit": "day"}),
    )
    assert result is not None
    assert 0 <= result.score <= 1


@given(distances, distances, wages, wages, starts, starts)
def test_a_closer_better_paid_sooner_job_never_scores_lower(
    km_a: float, km_b: float, wage_a: float, wage_b: float, start_a: float, start_b: float
) -> None:
    near, far = sorted([km_a, km_b])
    high, low = sorted([wage_a, wage_b], reverse=True)
    soon, late = sorted([start_a, start_b])
    mover = seeker(travel_mode="car", min_wage={"amount": 180, "unit": "day"})

    def score(km: float, wage: float, start_h: float) -> float:
        result = found(
            job(
                north_of(JINGKOU, km),
                wage={"amount": wage, "unit": "day"},
                shift=window(start_h, start_h + 8),
            ),
            mover,
        )
        assert result is not None
        return result.score

    assert score(near, high, soon) >= score(far, low, late)


def test_more_of_the_asked_skills_scores_higher() -> None:
    asked = job(skills=["叉车", "电焊"])
    one = found(asked, seeker(skills=["叉车"]))
    both = found(asked, seeker(skills=["叉车", "电焊"]))
    assert one is not None and both is not None
    assert both.score > one.score


def test_ranking_breaks_ties_by_trip_then_id() -> None:
    pairs = [
        Match("J1", "S2", 0.5, 3.0, False),
        Match("J1", "S1", 0.5, 3.0, False),
        Match("J1", "S3", 0.5, 2.0, False),
        Match("J1", "S4", 0.9, 9.0, False),
    ]
    assert [m.seeker_id for m in ranked(pairs, by_seeker=True)] == ["S4", "S3", "S1", "S2"]


def test_weights_must_be_usable() -> None:
    for bad in ({"skills": -1}, {"skills": 0, "travel": 0, "wage": 0, "soon": 0}):
        try:
            Weights(**bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")


def test_the_factory_base_is_the_moment_the_texts_assume() -> None:
    assert factory.BASE.utcoffset() == timedelta(0) and factory.BASE.hour == 8
