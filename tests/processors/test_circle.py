"""The 15-minute circle: incremental coverage against brute force, and greedy station siting."""

import math
import random
from collections.abc import Iterable

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.circle import (
    CELL_RESOLUTION,
    Coverage,
    Gap,
    JobSpot,
    PlaceSpot,
    Reach,
    SeekerSpot,
    Share,
    candidate_cells,
    cell_of,
    recompute,
    station_gaps,
)
from processors.travel import MODES, TravelModel
from tests.processors.test_travel import JINGKOU, exactly_fifteen_minutes, north_of
from topics.fields import MAX_LATITUDE, Point, TravelMode

MODEL = TravelModel()
OCCUPATIONS = ("装卸", "保洁", "家政", "快递")
DISTRICTS = ("京口", "润州", "丹徒", None)
# Central Zhenjiang, about 15 km by 19 km: wider than a car's circle, so some
# seekers reach a job and some do not, by every mode.
CITY = ((32.12, 32.26), (119.36, 119.56))
# A few kilometres across: walkers' circles overlap here and still miss.
TOWN = ((32.18, 32.22), (119.43, 119.47))


def seeker(
    seeker_id: str,
    at: Point,
    mode: TravelMode = "walk",
    occupations: Iterable[str] = ("装卸",),
    district: str | None = "京口",
) -> SeekerSpot:
    return SeekerSpot(seeker_id, at.lat, at.lon, mode, frozenset(occupations), district)


def brute_reach(
    spot: SeekerSpot, jobs: Iterable[JobSpot], places: Iterable[PlaceSpot], model: TravelModel
) -> Reach:
    return Reach(
        sum(j.occupation in spot.occupations and model.within(spot, j, spot.mode) for j in jobs),
        sum(model.within(spot, place, spot.mode) for place in places),
    )


def random_point(rng: random.Random, area: tuple[tuple[float, float], ...] = CITY) -> Point:
    (south, north), (west, east) = area
    return Point(rng.uniform(south, north), rng.uniform(west, east))


class City:
    """The incremental Coverage and, beside it, the plain records brute force reads."""

    def __init__(self, model: TravelModel = MODEL) -> None:
        self.model = model
        self.coverage = Coverage(model)
        self.seekers: dict[str, SeekerSpot] = {}
        self.jobs: dict[str, JobSpot] = {}
        self.places: dict[str, PlaceSpot] = {}

    def random_event(self, rng: random.Random, area: tuple[tuple[float, float], ...]) -> None:
        kind = rng.choice(("seeker", "seeker", "job", "job", "job", "place"))
        number = rng.randrange({"seeker": 40, "job": 60, "place": 12}[kind])
        if rng.random() < 0.25:
            self.remove(kind, f"{kind}-{number}")
            return
        at = random_point(rng, area)
        if kind == "seeker":
            occupations = rng.sample(OCCUPATIONS, rng.randint(1, 2))
            # Half with a district given, half taking their nearest place's.
            district = rng.choice([*DISTRICTS, None, None, None])
            self.upsert(seeker(f"seeker-{number}", at, rng.choice(MODES), occupations, district))
        elif kind == "job":
            self.upsert(JobSpot(f"job-{number}", at.lat, at.lon, rng.choice(OCCUPATIONS)))
        else:
            district = rng.choice([*DISTRICTS, None])
            self.upsert(PlaceSpot(f"place-{number}", at.lat, at.lon, district))

    def add_jobs(self, jobs: list[JobSpot]) -> None:
        self.jobs.update((job.job_id, job) for job in jobs)
        self.coverage.add_jobs(jobs)

    def upsert(self, spot: SeekerSpot | JobSpot | PlaceSpot) -> None:
        if isinstance(spot, SeekerSpot):
            self.seekers[spot.seeker_id] = spot
            self.coverage.upsert_seeker(spot)
        elif isinstance(spot, JobSpot):
            self.jobs[spot.job_id] = spot
            self.coverage.upsert_job(spot)
        else:
            self.places[spot.place_id] = spot
            self.coverage.upsert_place(spot)

    def remove(self, kind: str, entity_id: str) -> None:
        if kind == "seeker":
            self.seekers.pop(entity_id, None)
            self.coverage.remove_seeker(entity_id)
        elif kind == "job":
            self.jobs.pop(entity_id, None)
            self.coverage.remove_job(entity_id)
        else:
            self.places.pop(entity_id, None)
            self.coverage.remove_place(entity_id)

    def assert_agrees_with_brute_force(self) -> None:
        jobs, places = self.jobs.values(), self.places.values()
        assert self.coverage.shares() == recompute(self.seekers.values(), jobs, places, self.model)
        for spot in self.seekers.values():
            expected = brute_reach(spot, jobs, places, self.model)
            assert self.coverage.reach(spot.seeker_id) == expected, spot
        placeless = [
            s for s in self.seekers.values() if not brute_reach(s, [], places, self.model)[1]
        ]
        assert sorted(self.coverage.uncovered_for_place(), key=str) == sorted(placeless, key=str)


def test_a_home_counts_in_the_district_of_its_nearest_place_as_places_come_and_go() -> None:
    city = City()
    home = Point(32.2, 119.45)
    city.upsert(seeker("s", home, district=None))
    city.upsert(seeker("given", home, district="句容"))
    assert city.coverage.shares().districts.keys() == {"句容"}  # no place yet: no district
    city.upsert(PlaceSpot("far", home.lat + 0.05, home.lon, "丹徒"))
    city.upsert(PlaceSpot("near", home.lat + 0.01, home.lon, "京口"))
    assert city.coverage.shares().districts.keys() == {"京口", "句容"}
    city.upsert(PlaceSpot("near", home.lat + 0.10, home.lon, "京口"))  # moved away
    assert city.coverage.shares().districts.keys() == {"丹徒", "句容"}
    city.remove("place", "far")
    assert city.coverage.shares().districts.keys() == {"京口", "句容"}
    city.assert_agrees_with_brute_force()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("area", [CITY, TOWN], ids=["city", "town"])
def test_incremental_coverage_equals_a_full_recompute_after_every_event(
    seed: int, area: tuple[tuple[float, float], ...]
) -> None:
    rng, city = random.Random(seed), City()
    for _ in range(300):
        city.random_event(rng, area)
        city.assert_agrees_with_brute_force()
    assert city.coverage.shares().city.covered > 0


def _lat(area: tuple[tuple[float, float], ...]) -> st.SearchStrategy[float]:
    return st.floats(*area[0])


def _lon(area: tuple[tuple[float, float], ...]) -> st.SearchStrategy[float]:
    return st.floats(*area[1])


town_seekers = st.builds(
    SeekerSpot,
    st.sampled_from([f"s{n}" for n in range(6)]),
    _lat(TOWN),
    _lon(TOWN),
    st.sampled_from(MODES),
    st.frozensets(st.sampled_from(OCCUPATIONS), min_size=1, max_size=2),
    st.sampled_from(DISTRICTS),
)
town_jobs = st.builds(
    JobSpot,
    st.sampled_from([f"j{n}" for n in range(6)]),
    _lat(TOWN),
    _lon(TOWN),
    st.sampled_from(OCCUPATIONS),
)
town_places = st.builds(
    PlaceSpot, st.sampled_from([f"p{n}" for n in range(3)]), _lat(TOWN), _lon(TOWN)
)
removals = st.tuples(
    st.sampled_from(["seeker", "job", "place"]), st.sampled_from(["s0", "s1", "j0", "j1", "p0"])
)


@settings(max_examples=150, derandomize=True)
@given(events=st.lists(st.one_of(town_seekers, town_jobs, town_places, removals), max_size=30))
def test_any_event_sequence_leaves_coverage_equal_to_brute_force(
    events: list[SeekerSpot | JobSpot | PlaceSpot | tuple[str, str]],
) -> None:
    city = City()
    for event in events:
        if isinstance(event, tuple):
            city.remove(*event)
        else:
            city.upsert(event)
    city.assert_agrees_with_brute_force()


def test_shares_count_city_wide_per_district_and_per_cell() -> None:
    city = City()
    near, far = north_of(JINGKOU, 0.3), north_of(JINGKOU, 3.0)
    city.upsert(seeker("a", JINGKOU, "walk", ["装卸"], "京口"))
    city.upsert(seeker("b", far, "walk", ["装卸"], "润州"))
    city.upsert(seeker("c", far, "car", ["保洁"], None))
    city.upsert(JobSpot("j", near.lat, near.lon, "装卸"))
    city.upsert(PlaceSpot("p", near.lat, near.lon))
    shares = city.coverage.shares()
    assert shares.city == Share(seekers=3, covered_for_work=1, covered_for_place=2, covered=1)
    assert shares.districts == {"京口": Share(1, 1, 1, 1), "润州": Share(1, 0, 0, 0)}
    assert shares.cells == {
        cell_of(JINGKOU.lat, JINGKOU.lon): Share(1, 1, 1, 1),
        cell_of(far.lat, far.lon): Share(2, 0, 1, 0),
    }
    assert h3.get_resolution(next(iter(shares.cells))) == CELL_RESOLUTION
    city.assert_agrees_with_brute_force()


def test_only_jobs_of_the_seekers_occupations_count() -> None:
    city = City()
    city.upsert(seeker("a", JINGKOU, "walk", ["装卸", "家政"]))
    city.upsert(JobSpot("j1", JINGKOU.lat, JINGKOU.lon, "保洁"))
    assert city.coverage.reach("a") == Reach(0, 0)
    city.upsert(JobSpot("j2", JINGKOU.lat, JINGKOU.lon, "家政"))
    assert city.coverage.reach("a") == Reach(1, 0)


def test_moving_a_job_out_of_reach_uncovers_the_seeker() -> None:
    city = City()
    city.upsert(seeker("a", JINGKOU))
    city.upsert(JobSpot("j", JINGKOU.lat, JINGKOU.lon, "装卸"))
    assert city.coverage.shares().city.covered_for_work == 1
    far = north_of(JINGKOU, 1.0)
    city.upsert(JobSpot("j", far.lat, far.lon, "装卸"))
    assert city.coverage.shares().city.covered_for_work == 0
    assert city.coverage.reach("a") == Reach(0, 0)
    city.remove("job", "j")
    city.remove("seeker", "a")
    assert city.coverage.shares() == recompute([], [], [], MODEL)


@pytest.mark.parametrize("seeker_first", [True, False])
def test_a_job_exactly_fifteen_minutes_away_is_within_the_circle(seeker_first: bool) -> None:
    model, there = exactly_fifteen_minutes(JINGKOU, 0.86)
    city = City(model)
    spots = [seeker("a", JINGKOU, "walk"), JobSpot("j", there.lat, there.lon, "装卸")]
    for spot in spots if seeker_first else spots[::-1]:
        city.upsert(spot)
    assert city.coverage.reach("a") == Reach(1, 0)
    city.assert_agrees_with_brute_force()


@pytest.mark.parametrize("seed", range(3))
def test_jobs_added_at_once_count_as_if_added_one_by_one(seed: int) -> None:
    rng, city = random.Random(seed), City()
    for _ in range(120):
        city.random_event(rng, CITY)
    points = [random_point(rng, CITY) for _ in range(80)]
    jobs = [
        JobSpot(f"bulk-{n}", at.lat, at.lon, rng.choice(OCCUPATIONS)) for n, at in enumerate(points)
    ]
    city.add_jobs([*jobs, *list(city.jobs.values())[:5]])  # some already there: upserted
    city.assert_agrees_with_brute_force()
    assert city.coverage.shares().city.covered_for_work > 0


def test_a_job_added_at_once_exactly_fifteen_minutes_away_is_within_the_circle() -> None:
    model, there = exactly_fifteen_minutes(JINGKOU, 0.86)
    city = City(model)
    city.upsert(seeker("a", JINGKOU, "walk"))
    beyond = Point(math.nextafter(there.lat, 90), there.lon)
    assert model.minutes(JINGKOU, beyond, "walk") > 15.0
    city.add_jobs(
        [JobSpot("j", there.lat, there.lon, "装卸"), JobSpot("k", beyond.lat, beyond.lon, "装卸")]
    )
    assert city.coverage.reach("a") == Reach(1, 0)
    city.assert_agrees_with_brute_force()


def test_a_faster_mode_from_the_same_home_reaches_further() -> None:
    city = City()
    city.upsert(seeker("walker", JINGKOU, "walk"))
    city.upsert(seeker("driver", JINGKOU, "car"))
    place = north_of(JINGKOU, 2.0)
    city.upsert(PlaceSpot("p", place.lat, place.lon))
    assert city.coverage.reach("walker") == Reach(0, 0)
    assert city.coverage.reach("driver") == Reach(0, 1)
    assert [s.seeker_id for s in city.coverage.uncovered_for_place()] == ["walker"]


def test_coverage_works_across_the_antimeridian() -> None:
    city = City()
    west, east = Point(0.0, 179.999), Point(0.0, -179.999)  # 222 m apart
    city.upsert(seeker("a", west, "walk"))
    city.upsert(PlaceSpot("p", east.lat, east.lon))
    assert city.coverage.reach("a") == Reach(0, 1)


globe_points = st.builds(Point, st.floats(-MAX_LATITUDE, MAX_LATITUDE), st.floats(-180, 180))
# Within 1,300 km of the North Pole, where a wide circle reaches over it.
polar_points = st.builds(Point, st.floats(78, MAX_LATITUDE), st.floats(-180, 180))
anywhere = st.one_of(globe_points, polar_points)


@settings(max_examples=100, derandomize=True)
@given(
    homes=st.lists(st.tuples(anywhere, st.sampled_from(MODES)), max_size=8),
    places=st.lists(anywhere, max_size=8),
    minutes=st.sampled_from([15.0, 600.0, 6000.0]),
)
def test_coverage_equals_brute_force_anywhere_on_the_globe_and_for_wide_circles(
    homes: list[tuple[Point, TravelMode]], places: list[Point], minutes: float
) -> None:
    # Wide circles reach over the poles and the antimeridian.
    city = City(TravelModel(circle_minutes=minutes))
    for number, (home, mode) in enumerate(homes):
        city.upsert(seeker(f"s{number}", home, mode))
    for number, place in enumerate(places):
        city.upsert(PlaceSpot(f"p{number}", place.lat, place.lon))
    city.assert_agrees_with_brute_force()


@settings(max_examples=100, derandomize=True)
@given(
    homes=st.lists(st.tuples(anywhere, st.sampled_from(MODES)), max_size=8),
    jobs=st.lists(anywhere, max_size=8),
    minutes=st.sampled_from([15.0, 600.0, 6000.0]),
)
def test_jobs_added_at_once_anywhere_on_the_globe_count_as_brute_force_does(
    homes: list[tuple[Point, TravelMode]], jobs: list[Point], minutes: float
) -> None:
    city = City(TravelModel(circle_minutes=minutes))
    for number, (home, mode) in enumerate(homes):
        city.upsert(seeker(f"s{number}", home, mode))
    city.add_jobs([JobSpot(f"j{n}", at.lat, at.lon, "装卸") for n, at in enumerate(jobs)])
    city.assert_agrees_with_brute_force()


# Station siting


def brute_force_greedy(
    uncovered: list[SeekerSpot], cells: Iterable[str], model: TravelModel, k: int
) -> list[Gap]:
    """Each round, count every cell against every seeker still left out; take the best."""
    reaches = {}
    for cell in sorted(cells):
        centre = Point(*h3.cell_to_latlng(cell))
        reaches[cell] = {s.seeker_id for s in uncovered if model.within(s, centre, s.mode)}
    left = {s.seeker_id for s in uncovered}
    gaps = []
    for _ in range(k):
        best, count = None, 0
        for cell, ids in reaches.items():  # sorted by cell id: the first of the best wins
            if len(ids & left) > count:
                best, count = cell, len(ids & left)
        if best is None:
            break
        gaps.append(Gap(best, *h3.cell_to_latlng(best), count))
        left -= reaches[best]
    return gaps


def random_seekers(
    rng: random.Random, n: int, area: tuple[tuple[float, float], ...]
) -> list[SeekerSpot]:
    return [seeker(f"s{i}", random_point(rng, area), rng.choice(MODES)) for i in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_station_gaps_equal_a_brute_force_greedy(seed: int) -> None:
    uncovered = random_seekers(random.Random(seed), 60, CITY)
    cells = candidate_cells(uncovered, MODEL)
    gaps = station_gaps(uncovered, cells, MODEL, 5)
    assert gaps == brute_force_greedy(uncovered, cells, MODEL, 5)
    assert len(gaps) == 5
    assert [g.seekers_brought_in for g in gaps] == sorted(
        (g.seekers_brought_in for g in gaps), reverse=True
    )


@settings(max_examples=40, derandomize=True)
@given(
    uncovered=st.lists(town_seekers, max_size=12, unique_by=lambda s: s.seeker_id),
    k=st.integers(0, 4),
)
def test_station_gaps_equal_a_brute_force_greedy_for_any_town(
    uncovered: list[SeekerSpot], k: int
) -> None:
    cells = candidate_cells(uncovered, MODEL)
    assert station_gaps(uncovered, cells, MODEL, k) == brute_force_greedy(
        uncovered, cells, MODEL, k
    )


def test_candidate_cells_hold_every_cell_whose_centre_a_seeker_reaches() -> None:
    rng = random.Random(7)
    uncovered = random_seekers(rng, 25, CITY)
    cells = candidate_cells(uncovered, MODEL)
    for spot in uncovered:
        for cell in h3.grid_disk(cell_of(spot.lat, spot.lon), 20):
            if MODEL.within(spot, Point(*h3.cell_to_latlng(cell)), spot.mode):
                assert cell in cells


def test_a_tie_goes_to_the_smaller_cell_id() -> None:
    lone = [seeker("a", JINGKOU, "car")]
    cells = candidate_cells(lone, MODEL)
    reaching = [c for c in cells if MODEL.within(lone[0], Point(*h3.cell_to_latlng(c)), "car")]
    assert len(reaching) > 1
    assert [g.cell for g in station_gaps(lone, cells, MODEL, 1)] == [min(reaching)]


def test_picks_stop_when_every_seeker_is_brought_in() -> None:
    uncovered = [seeker("a", JINGKOU), seeker("b", north_of(JINGKOU, 5.0))]
    gaps = station_gaps(uncovered, candidate_cells(uncovered, MODEL), MODEL, 10)
    assert [g.seekers_brought_in for g in gaps] == [1, 1]
    assert station_gaps(uncovered, candidate_cells(uncovered, MODEL), MODEL, 0) == []
    assert station_gaps([], [], MODEL, 3) == []


def test_a_gap_stands_at_its_cell_centre_and_brings_in_who_reaches_it() -> None:
    uncovered = random_seekers(random.Random(11), 30, TOWN)
    [gap] = station_gaps(uncovered, candidate_cells(uncovered, MODEL), MODEL, 1)
    assert (gap.lat, gap.lon) == h3.cell_to_latlng(gap.cell)
    centre = Point(gap.lat, gap.lon)
    assert gap.seekers_brought_in == sum(MODEL.within(s, centre, s.mode) for s in uncovered)
