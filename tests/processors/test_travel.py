"""The travel model: great-circle distance, minutes by mode, and the inclusive 15-minute edge."""

import math

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.travel import EARTH_RADIUS_KM, MODES, TravelModel, distance_km
from topics.fields import MAX_LATITUDE, Point, TravelMode

MODEL = TravelModel()
JINGKOU = Point(32.22, 119.47)  # 京口
RUNZHOU = Point(32.17, 119.41)  # 润州

points = st.builds(
    Point,
    st.floats(-MAX_LATITUDE, MAX_LATITUDE, allow_nan=False),
    st.floats(-180, 180, allow_nan=False),
)
modes = st.sampled_from(MODES)
city_points = st.builds(Point, st.floats(32.0, 32.4), st.floats(119.2, 119.7))


def north_of(origin: Point, km: float) -> Point:
    """The point km due north: along a meridian the great-circle distance is R·Δφ."""
    return Point(origin.lat + math.degrees(km / EARTH_RADIUS_KM), origin.lon)


def test_jingkou_to_runzhou_is_the_hand_computed_haversine() -> None:
    # Δφ = −0.05°, Δλ = −0.06°, φ1 = 32.22°, φ2 = 32.17°:
    # h = sin²(0.025°) + cos 32.22° · cos 32.17° · sin²(0.03°) = 3.867146e-7
    # d = 2 · 6371.0088 · asin(√h) = 7.92380 km (the law of cosines agrees to 1e-10)
    assert distance_km(JINGKOU, RUNZHOU) == pytest.approx(7.92380, abs=1e-5)
    assert MODEL.minutes(JINGKOU, RUNZHOU, "walk") == pytest.approx(
        7.92380 * 1.3 / 4.5 * 60, abs=1e-3
    )


def test_the_default_model_is_the_one_events_md_names() -> None:
    assert MODEL.detour_factor == 1.3
    assert MODEL.circle_minutes == 15.0
    assert dict(MODEL.speeds) == {"walk": 4.5, "bike": 12, "ebike": 18, "transit": 15, "car": 25}


@pytest.mark.parametrize(
    ("mode", "speed"), [("walk", 4.5), ("bike", 12), ("ebike", 18), ("transit", 15), ("car", 25)]
)
def test_each_mode_covers_its_speed_over_the_detour(mode: TravelMode, speed: float) -> None:
    assert MODEL.minutes(JINGKOU, north_of(JINGKOU, 1.0), mode) == pytest.approx(1.3 / speed * 60)
    assert MODEL.radius_km(mode) == pytest.approx(15 / 60 * speed / 1.3)


def test_a_model_without_a_positive_speed_for_every_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="positive speed"):
        TravelModel(speeds={"walk": 4.5})
    with pytest.raises(ValueError, match="positive"):
        TravelModel(detour_factor=0)


@settings(max_examples=300, derandomize=True)
@given(a=points, b=points)
def test_distance_agrees_with_h3_scaled_to_our_radius(a: Point, b: Point) -> None:
    radians = h3.great_circle_distance((a.lat, a.lon), (b.lat, b.lon), unit="rads")
    assert distance_km(a, b) == pytest.approx(radians * EARTH_RADIUS_KM, rel=1e-9, abs=1e-6)


@settings(max_examples=300, derandomize=True)
@given(a=points, b=points)
def test_distance_is_symmetric_bounded_and_zero_at_the_same_point(a: Point, b: Point) -> None:
    assert distance_km(a, b) == distance_km(b, a)
    assert distance_km(a, a) == 0
    assert 0 <= distance_km(a, b) <= math.pi * EARTH_RADIUS_KM + 1e-9


@settings(max_examples=200, derandomize=True)
@given(origin=city_points, near=st.floats(0, 20), far=st.floats(0, 20), mode=modes)
def test_minutes_grow_with_distance(
    origin: Point, near: float, far: float, mode: TravelMode
) -> None:
    near, far = sorted((near, far))
    assert MODEL.minutes(origin, north_of(origin, near), mode) <= MODEL.minutes(
        origin, north_of(origin, far), mode
    )


@settings(max_examples=200, derandomize=True)
@given(a=city_points, b=city_points)
def test_a_faster_mode_never_takes_longer(a: Point, b: Point) -> None:
    by_speed = sorted(MODES, key=lambda mode: MODEL.speeds[mode])
    minutes = [MODEL.minutes(a, b, mode) for mode in by_speed]
    assert minutes == sorted(minutes, reverse=True)


@settings(max_examples=300, derandomize=True)
@given(a=city_points, b=city_points, mode=modes)
def test_radius_km_inverts_minutes(a: Point, b: Point, mode: TravelMode) -> None:
    minutes = MODEL.minutes(a, b, mode)
    assert MODEL.radius_km(mode, minutes) == pytest.approx(distance_km(a, b), rel=1e-12, abs=1e-12)


@settings(max_examples=300, derandomize=True)
@given(a=city_points, b=city_points, mode=modes)
def test_the_edge_of_the_circle_is_inside_and_a_hair_beyond_is_not(
    a: Point, b: Point, mode: TravelMode
) -> None:
    minutes = MODEL.minutes(a, b, mode)
    assert MODEL.within(a, b, mode, minutes)
    if minutes > 0:
        assert not MODEL.within(a, b, mode, math.nextafter(minutes, 0))


def exactly_fifteen_minutes(home: Point, km: float) -> tuple[TravelModel, Point]:
    """A walking speed that puts the point km north of home at exactly 15.0 minutes."""
    there = north_of(home, km)
    speed = distance_km(home, there) * 1.3 * 60 / 15
    for _ in range(64):
        model = TravelModel(speeds={**MODEL.speeds, "walk": speed})
        minutes = model.minutes(home, there, "walk")
        if minutes == 15.0:
            return model, there
        speed = math.nextafter(speed, math.inf if minutes > 15 else 0)
    raise AssertionError("no speed gives exactly 15.0 minutes")


def test_exactly_fifteen_minutes_away_is_inside_the_circle() -> None:
    model, there = exactly_fifteen_minutes(JINGKOU, 1.1)
    assert model.minutes(JINGKOU, there, "walk") == 15.0
    assert model.within(JINGKOU, there, "walk")
    assert not model.within(JINGKOU, north_of(there, 0.001), "walk")


def test_the_default_circle_is_fifteen_minutes() -> None:
    edge = north_of(JINGKOU, MODEL.radius_km("car") * 0.999_999)
    assert MODEL.within(JINGKOU, edge, "car")
    assert not MODEL.within(JINGKOU, north_of(edge, 0.01), "car")
    assert not MODEL.within(JINGKOU, edge, "walk")
