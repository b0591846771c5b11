"""The 15-minute circle: who has work and a market or station within reach, and where not.

Coverage is kept incrementally: an event touches only the seekers it can reach,
found through a lat/lon grid and confirmed by the travel model. Jobs here are
open jobs and places are active markets and stations; the caller adds and
removes them as they open, close, appear and go.
"""

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

import h3  # type: ignore[import-untyped]  # h3 ships no type hints
import numpy
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from processors.travel import EARTH_RADIUS_KM, MODES, Located, TravelModel, distance_km
from topics.fields import TravelMode

CELL_RESOLUTION = 8
# 1 cm: a point on the circle's edge must not fall out of the search box by rounding.
_PAD_DEG = 1e-7
# Far wider than float error in a chord, far narrower than any real distance.
_CHORD_SLACK = 1e-9

T = TypeVar("T")


@dataclass(frozen=True)
class SeekerSpot:
    seeker_id: str
    lat: float
    lon: float
    mode: TravelMode
    occupations: frozenset[str]
    # None: the district of the nearest market or station (a home carries none in
    # the contract); with no place known yet, counted city-wide and per cell only.
    district: str | None


@dataclass(frozen=True)
class JobSpot:
    job_id: str
    lat: float
    lon: float
    occupation: str


@dataclass(frozen=True)
class PlaceSpot:
    """A market or a station: both count as a place to find work."""

    place_id: str
    lat: float
    lon: float
    district: str | None = None


@dataclass(frozen=True)
class Share:
    seekers: int = 0
    covered_for_work: int = 0
    covered_for_place: int = 0
    covered: int = 0  # for work and for a place


@dataclass(frozen=True)
class Shares:
    city: Share
    districts: dict[str, Share]
    cells: dict[str, Share]  # H3 cell (resolution 8) of the seekers' homes


class Reach(NamedTuple):
    """How many open jobs of their occupations and places a seeker has in the circle."""

    jobs: int
    places: int


@dataclass(frozen=True)
class Gap:
    cell: str
    lat: float  # the cell's centre, where the station would stand
    lon: float
    seekers_brought_in: int


def cell_of(lat: float, lon: float) -> str:
    cell: str = h3.latlng_to_cell(lat, lon, CELL_RESOLUTION)
    return cell


class _Grid(Generic[T]):
    """Values bucketed by latitude and longitude, found again by distance from a point.

    Not H3 rings: H3 cells vary in size, so a ring count would need slack, while
    a box of latitudes and longitudes provably holds the circle it is drawn around.
    """

    def __init__(self, cell_km: float) -> None:
        self._columns = max(1, math.floor(360 / math.degrees(cell_km / EARTH_RADIUS_KM)))
        self._step = 360 / self._columns
        self._buckets: dict[tuple[int, int], dict[str, T]] = {}

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        row = math.floor((lat + 90) / self._step)
        return row, math.floor((lon + 180) / self._step) % self._columns

    def add(self, key: str, lat: float, lon: float, value: T) -> None:
        self._buckets.setdefault(self._key(lat, lon), {})[key] = value

    def discard(self, key: str, lat: float, lon: float) -> None:
        cell = self._key(lat, lon)
        bucket = self._buckets.get(cell, {})
        bucket.pop(key, None)
        if not bucket:
            self._buckets.pop(cell, None)

    def values(self) -> Iterator[T]:
        for bucket in self._buckets.values():
            yield from bucket.values()

    def near(self, lat: float, lon: float, radius_km: float) -> Iterator[T]:
        """Every value within radius_km of the point, and some beyond it."""
        for cell in self._cells_around(lat, lon, radius_km):
            yield from self._buckets.get(cell, {}).values()

    def _cells_around(self, lat: float, lon: float, radius_km: float) -> Iterator[tuple[int, int]]:
        angle = radius_km / EARTH_RADIUS_KM
        dlat = math.degrees(angle) + _PAD_DEG
        first_row = math.floor((lat - dlat + 90) / self._step)
        last_row = math.floor((lat + dlat + 90) / self._step)
        if abs(lat) + dlat >= 90:  # a pole is inside: every longitude
            columns = range(self._columns)
        else:
            # The widest longitude span of a spherical cap that stays clear of the poles.
            ratio = math.sin(angle) / math.cos(math.radians(lat))
            dlon = math.degrees(math.asin(min(1.0, ratio))) + _PAD_DEG
            first = math.floor((lon - dlon + 180) / self._step)
            last = math.floor((lon + dlon + 180) / self._step)
            every_column = last - first + 1 >= self._columns
            columns = range(self._columns) if every_column else range(first, last + 1)
        for row in range(first_row, last_row + 1):
            for column in columns:
                yield row, column % self._columns


class _Seeker:
    __slots__ = ("cell", "district", "jobs", "nearest", "places", "spot")

    def __init__(self, spot: SeekerSpot, nearest: "_Nearest") -> None:
        self.spot = spot
        self.cell = cell_of(spot.lat, spot.lon)
        self.jobs = 0
        self.places = 0
        self.nearest = nearest
        self.district = spot.district if spot.district is not None else nearest.district

    def covered(self) -> tuple[bool, bool]:
        return self.jobs > 0, self.places > 0

    def share(self) -> Share:
        return _share(*self.covered())


def _share(work: bool, place: bool) -> Share:
    """One seeker's part of the shares."""
    return Share(1, int(work), int(place), int(work and place))


def _shifted(share: Share, by: Share, sign: int) -> Share:
    return Share(
        share.seekers + sign * by.seekers,
        share.covered_for_work + sign * by.covered_for_work,
        share.covered_for_place + sign * by.covered_for_place,
        share.covered + sign * by.covered,
    )


def _shift(groups: dict[str, Share], key: str, by: Share, sign: int) -> None:
    share = _shifted(groups.get(key, Share()), by, sign)
    if share.seekers == 0:
        groups.pop(key, None)
    else:
        groups[key] = share


class _Tallies:
    """Shares city-wide, per district and per cell, moved by one seeker at a time."""

    def __init__(self) -> None:
        self.city = Share()
        self.districts: dict[str, Share] = {}
        self.cells: dict[str, Share] = {}

    def count(self, district: str | None, cell: str, share: Share, sign: int) -> None:
        self.city = _shifted(self.city, share, sign)
        if district is not None:
            _shift(self.districts, district, share, sign)
        _shift(self.cells, cell, share, sign)

    def shares(self) -> Shares:
        return Shares(self.city, dict(self.districts), dict(self.cells))


class Coverage:
    """For every seeker, how many open jobs of their occupations and places are in reach."""

    def __init__(self, model: TravelModel) -> None:
        self._model = model
        self._radius = {mode: model.radius_km(mode) for mode in MODES}
        self._smallest = min(self._radius.values())
        self._seekers: dict[str, _Seeker] = {}
        self._jobs: dict[str, JobSpot] = {}
        self._places: dict[str, PlaceSpot] = {}
        # Seekers are bucketed per mode at the size of that mode's circle, so a
        # search looks at a few buckets; per mode and occupation too, for jobs.
        self._seeker_grids = {mode: _Grid[_Seeker](self._radius[mode]) for mode in MODES}
        self._seeker_grids_by_occupation: dict[tuple[TravelMode, str], _Grid[_Seeker]] = {}
        self._job_grids: dict[str, _Grid[JobSpot]] = {}
        self._place_grid = _Grid[PlaceSpot](self._smallest)
        self._tallies = _Tallies()

    def upsert_seeker(self, spot: SeekerSpot) -> None:
        self.remove_seeker(spot.seeker_id)
        seeker = _Seeker(spot, nearest_place(spot, self._places.values()))
        seeker.jobs, seeker.places = self._count_reach(spot)
        self._seekers[spot.seeker_id] = seeker
        for grid in self._grids_holding(spot):
            grid.add(spot.seeker_id, spot.lat, spot.lon, seeker)
        self._tallies.count(seeker.district, seeker.cell, seeker.share(), +1)

    def remove_seeker(self, seeker_id: str) -> None:
        seeker = self._seekers.pop(seeker_id, None)
        if seeker is None:
            return
        spot = seeker.spot
        self._tallies.count(seeker.district, seeker.cell, seeker.share(), -1)
        for grid in self._grids_holding(spot):
            grid.discard(seeker_id, spot.lat, spot.lon)

    def upsert_job(self, job: JobSpot) -> None:
        self.remove_job(job.job_id)
        self._jobs[job.job_id] = job
        grid = self._job_grids.setdefault(job.occupation, _Grid[JobSpot](self._smallest))
        grid.add(job.job_id, job.lat, job.lon, job)
        self._reach_from(job, job.occupation, Reach(+1, 0))

    def add_jobs(self, jobs: Iterable[JobSpot]) -> None:
        """Many jobs at once, as when a coverage is built: the same counts as upsert_job one by
        one, found by a k-d tree of the jobs per occupation instead of a search per job."""
        fresh: dict[str, list[JobSpot]] = {}
        for job in jobs:
            if job.job_id in self._jobs:
                self.upsert_job(job)
                continue
            self._jobs[job.job_id] = job
            jobs_grid = self._job_grids.setdefault(job.occupation, _Grid[JobSpot](self._smallest))
            jobs_grid.add(job.job_id, job.lat, job.lon, job)
            fresh.setdefault(job.occupation, []).append(job)
        for occupation, added in fresh.items():
            for mode in MODES:
                grid = self._seeker_grids_by_occupation.get((mode, occupation))
                seekers = [] if grid is None else list(grid.values())
                reached = within_counts([s.spot for s in seekers], added, mode, self._model)
                for seeker, count in zip(seekers, reached, strict=True):
                    if count:
                        self._move(seeker, Reach(count, 0))

    def remove_job(self, job_id: str) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        self._job_grids[job.occupation].discard(job_id, job.lat, job.lon)
        self._reach_from(job, job.occupation, Reach(-1, 0))

    def upsert_place(self, place: PlaceSpot) -> None:
        if self._places.get(place.place_id) == place:
            return  # upserted again as it was: a reference topic replays so
        self.remove_place(place.place_id)
        self._places[place.place_id] = place
        self._place_grid.add(place.place_id, place.lat, place.lon, place)
        self._reach_from(place, None, Reach(0, +1))
        if place.district is not None:
            self._redistrict(lambda seeker: _nearer(place, seeker))

    def remove_place(self, place_id: str) -> None:
        place = self._places.pop(place_id, None)
        if place is None:
            return
        self._place_grid.discard(place_id, place.lat, place.lon)
        self._reach_from(place, None, Reach(0, -1))
        places = self._places.values()
        self._redistrict(
            lambda seeker: (
                nearest_place(seeker.spot, places) if seeker.nearest.place_id == place_id else None
            )
        )

    def reach(self, seeker_id: str) -> Reach | None:
        seeker = self._seekers.get(seeker_id)
        return None if seeker is None else Reach(seeker.jobs, seeker.places)

    def shares(self) -> Shares:
        return self._tallies.shares()

    def uncovered_for_place(self) -> list[SeekerSpot]:
        return [seeker.spot for seeker in self._seekers.values() if seeker.places == 0]

    def _count_reach(self, spot: SeekerSpot) -> Reach:
        radius, within = self._radius[spot.mode], self._model.within
        jobs = 0
        for occupation in spot.occupations:
            if grid := self._job_grids.get(occupation):
                near = grid.near(spot.lat, spot.lon, radius)
                jobs += sum(within(spot, job, spot.mode) for job in near)
        near_places = self._place_grid.near(spot.lat, spot.lon, radius)
        return Reach(jobs, sum(within(spot, place, spot.mode) for place in near_places))

    def _grids_holding(self, spot: SeekerSpot) -> list[_Grid[_Seeker]]:
        grids = [self._seeker_grids[spot.mode]]
        by_occupation = self._seeker_grids_by_occupation
        for occupation in spot.occupations:
            grid = by_occupation.get((spot.mode, occupation))
            if grid is None:
                grid = by_occupation[spot.mode, occupation] = _Grid(self._radius[spot.mode])
            grids.append(grid)
        return grids

    def _reach_from(self, target: JobSpot | PlaceSpot, occupation: str | None, by: Reach) -> None:
        """Move the counts of every seeker whose circle holds the target (of the occupation)."""
        for mode in MODES:
            if occupation is None:
                grid: _Grid[_Seeker] | None = self._seeker_grids[mode]
            else:
                grid = self._seeker_grids_by_occupation.get((mode, occupation))
            if grid is None:
                continue
            for seeker in grid.near(target.lat, target.lon, self._radius[mode]):
                if self._model.within(seeker.spot, target, mode):
                    self._move(seeker, by)

    def _move(self, seeker: _Seeker, by: Reach) -> None:
        before = seeker.covered()
        seeker.jobs += by.jobs
        seeker.places += by.places
        after = seeker.covered()
        if after != before:
            self._tallies.count(seeker.district, seeker.cell, _share(*before), -1)
            self._tallies.count(seeker.district, seeker.cell, _share(*after), +1)

    def _redistrict(self, nearer: Callable[[_Seeker], "_Nearest | None"]) -> None:
        """Moves the seekers whose nearest place changed to the new place's district.

        A look at every seeker: places change seldom, seekers often.
        """
        for seeker in self._seekers.values():
            if seeker.spot.district is not None:
                continue
            nearest = nearer(seeker)
            if nearest is None:
                continue
            share = seeker.share()
            self._tallies.count(seeker.district, seeker.cell, share, -1)
            seeker.nearest, seeker.district = nearest, nearest.district
            self._tallies.count(seeker.district, seeker.cell, share, +1)


class _Nearest(NamedTuple):
    """A seeker's nearest place with a district, and how far it is; ties go to the smaller id."""

    km: float
    place_id: str
    district: str | None


_NOWHERE = _Nearest(math.inf, "", None)


def nearest_place(spot: SeekerSpot, places: Iterable[PlaceSpot]) -> _Nearest:
    """The nearest market or station with a district, by great-circle distance."""
    return min(
        (_Nearest(distance_km(spot, p), p.place_id, p.district) for p in places if p.district),
        default=_NOWHERE,
        key=lambda n: (n.km, n.place_id),
    )


def _nearer(place: PlaceSpot, seeker: _Seeker) -> _Nearest | None:
    """The place as the seeker's nearest, if it is nearer than theirs (or theirs, moved)."""
    candidate = _Nearest(distance_km(seeker.spot, place), place.place_id, place.district)
    current = seeker.nearest
    if (candidate.km, candidate.place_id) < (current.km, current.place_id):
        return candidate
    return None


def within_counts(
    origins: Sequence[Located], targets: Sequence[Located], mode: TravelMode, model: TravelModel
) -> list[int]:
    """For each origin, how many targets lie within the circle by mode: what model.within
    says, for thousands at a time.

    A k-d tree of points on the unit sphere counts the targets within the
    circle's chord, a hair inside it and a hair outside it; where the two
    counts differ, a target lies within float error of the edge, and those
    origins are counted again one target at a time with model.within.
    """
    if not origins or not targets:
        return [0] * len(origins)
    tree = cKDTree(_unit_vectors(targets))
    at = _unit_vectors(origins)
    chord = _chord(model.radius_km(mode))
    inside = tree.query_ball_point(at, chord * (1 - _CHORD_SLACK), return_length=True)
    reach = tree.query_ball_point(at, chord * (1 + _CHORD_SLACK), return_length=True)
    counts = [int(n) for n in inside]
    for i in map(int, numpy.flatnonzero(inside != reach)):
        near = tree.query_ball_point(at[i], chord * (1 + _CHORD_SLACK))
        counts[i] = sum(model.within(origins[i], targets[j], mode) for j in near)
    return counts


def _unit_vectors(points: Sequence[Located]) -> numpy.ndarray:
    lat = numpy.radians([p.lat for p in points])
    lon = numpy.radians([p.lon for p in points])
    return numpy.column_stack(
        (numpy.cos(lat) * numpy.cos(lon), numpy.cos(lat) * numpy.sin(lon), numpy.sin(lat))
    )


def _chord(km: float) -> float:
    """The straight-line distance through the unit sphere of a great-circle distance."""
    return 2 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2)


def recompute(
    seekers: Iterable[SeekerSpot],
    jobs: Iterable[JobSpot],
    places: Iterable[PlaceSpot],
    model: TravelModel,
) -> Shares:
    """The shares from scratch, every seeker against every job and place: the check."""
    jobs, places = list(jobs), list(places)
    tallies = _Tallies()
    for seeker in seekers:
        work = any(
            job.occupation in seeker.occupations and model.within(seeker, job, seeker.mode)
            for job in jobs
        )
        place = any(model.within(seeker, spot, seeker.mode) for spot in places)
        district = seeker.district or nearest_place(seeker, places).district
        tallies.count(district, cell_of(seeker.lat, seeker.lon), _share(work, place), +1)
    return tallies.shares()


def candidate_cells(uncovered: Iterable[SeekerSpot], model: TravelModel) -> set[str]:
    """Every resolution-8 cell whose centre one of the seekers reaches, and some more.

    The ring count assumes no edge near a seeker is shorter than half the
    average; measured over the globe, resolution-8 edges are 0.74 to 1.10 of it.
    """
    edge_km: float = h3.average_hexagon_edge_length(CELL_RESOLUTION, unit="km")
    # A seeker is at most one edge from its cell's centre; ring k is at least
    # 1.5·k edges from the centre in a regular hexagon grid.
    rings = {
        mode: math.ceil((model.radius_km(mode) + edge_km) / (1.5 * edge_km / 2)) for mode in MODES
    }
    cells: set[str] = set()
    for cell, mode in {(cell_of(s.lat, s.lon), s.mode) for s in uncovered}:
        cells.update(h3.grid_disk(cell, rings[mode]))
    return cells


def station_gaps(
    uncovered: Iterable[SeekerSpot], candidate_cells: Iterable[str], model: TravelModel, k: int
) -> list[Gap]:
    """Up to k cells for new stations, each bringing in the most seekers the earlier left out.

    The standard greedy for maximum coverage, within (1 - 1/e) of the best k
    cells. A station at a cell's centre brings in a seeker who reaches that
    centre within the circle by their own mode. Ties go to the smaller cell id;
    the picks stop early when no cell brings anyone in.
    """
    brought_in = _brought_in(list(uncovered), candidate_cells, model)
    # Lazy greedy: a cell's count only falls as picks are made, so a stale count
    # on the heap is an upper bound and the top, once refreshed, is the true best.
    heap = [(-len(ids), cell) for cell, ids in brought_in.items() if ids]
    heapq.heapify(heap)
    taken: set[str] = set()
    gaps: list[Gap] = []
    while heap and len(gaps) < k:
        _, cell = heapq.heappop(heap)
        fresh = brought_in[cell] - taken
        brought_in[cell] = fresh
        if not fresh:
            continue
        if heap and (-len(fresh), cell) > heap[0]:
            heapq.heappush(heap, (-len(fresh), cell))
            continue
        taken |= fresh
        lat, lon = h3.cell_to_latlng(cell)
        gaps.append(Gap(cell, lat, lon, len(fresh)))
    return gaps


def _brought_in(
    uncovered: list[SeekerSpot], cells: Iterable[str], model: TravelModel
) -> dict[str, set[str]]:
    """For each cell, the seekers who reach its centre."""
    radius = {mode: model.radius_km(mode) for mode in MODES}
    grids = {mode: _Grid[SeekerSpot](radius[mode]) for mode in MODES}
    for seeker in uncovered:
        grids[seeker.mode].add(seeker.seeker_id, seeker.lat, seeker.lon, seeker)
    brought_in: dict[str, set[str]] = {}
    for cell in cells:
        lat, lon = h3.cell_to_latlng(cell)
        centre = PlaceSpot(cell, lat, lon)
        brought_in[cell] = {
            seeker.seeker_id
            for mode in MODES
            for seeker in grids[mode].near(lat, lon, radius[mode])
            if model.within(seeker, centre, mode)
        }
    return brought_in
