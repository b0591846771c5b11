"""The change feed of the circle: one Redis stream entry per job, seeker or place write.

The store appends an entry in the same atomic write as the entity's state, so
the stream's order is the order of the writes, and every worker can keep its
own coverage from it whichever partitions it owns. An entry carries only what
the circle needs: kind, id, whether the entity counts now and, if it does,
where it is and its occupation(s) and travel mode, or a place's district.
"""

from collections.abc import Mapping

import orjson

from processors import jobs, markets, seekers
from processors.circle import Coverage, JobSpot, PlaceSpot, SeekerSpot
from processors.travel import MODES
from topics.fields import TravelMode

# Trimmed approximately (MAXLEN ~), so Redis drops whole nodes, which is cheap.
MAXLEN = 1_000_000
KIND, ID, PRESENT, LAT, LON = "kind", "id", "present", "lat", "lon"
OCCUPATION, MODE, OCCUPATIONS, DISTRICT = "occupation", "mode", "occupations", "district"
JOB, SEEKER, PLACE = "job", "seeker", "place"
HERE, GONE = "1", "0"
_MODES: dict[str, TravelMode] = {mode: mode for mode in MODES}

Fields = dict[str, str]


def job_change(job_id: str, state: jobs.JobState, now_ms: int) -> Fields:
    if not jobs.is_open(state, now_ms):
        return gone(JOB, job_id)
    at = state.job.location
    return {**_here(JOB, job_id, at.lat, at.lon), OCCUPATION: state.job.occupation}


def seeker_change(seeker_id: str, state: seekers.SeekerState) -> Fields:
    if not seekers.is_active(state):
        return gone(SEEKER, seeker_id)
    profile = state.profile
    occupations = orjson.dumps(profile.occupations).decode()
    fields = _here(SEEKER, seeker_id, profile.home.lat, profile.home.lon)
    return {**fields, MODE: profile.travel_mode, OCCUPATIONS: occupations}


def place_change(market_id: str, state: markets.MarketState) -> Fields:
    if not markets.is_active(state):
        return gone(PLACE, market_id)
    at = state.market.location
    return {**_here(PLACE, market_id, at.lat, at.lon), DISTRICT: state.market.district}


def gone(kind: str, entity_id: str) -> Fields:
    return {KIND: kind, ID: entity_id, PRESENT: GONE}


def swept_job() -> list[str]:
    """The fields of a job's entry, but its id, when the expiry sweep drops it: name, value..."""
    return [KIND, JOB, PRESENT, GONE]


def _here(kind: str, entity_id: str, lat: float, lon: float) -> Fields:
    # repr keeps every digit: the coverage measures from exactly the stored point.
    return {KIND: kind, ID: entity_id, PRESENT: HERE, LAT: repr(lat), LON: repr(lon)}


def job_spot(fields: Mapping[str, str]) -> JobSpot:
    """The open job an entry of the feed tells of."""
    lat, lon = float(fields[LAT]), float(fields[LON])
    return JobSpot(fields[ID], lat, lon, fields[OCCUPATION])


def apply(coverage: Coverage, fields: Mapping[str, str]) -> None:
    """Moves the coverage by one entry of the feed."""
    kind, entity_id, present = fields[KIND], fields[ID], fields[PRESENT] == HERE
    if kind == JOB:
        if not present:
            coverage.remove_job(entity_id)
            return
        coverage.upsert_job(job_spot(fields))
    elif kind == SEEKER:
        if not present:
            coverage.remove_seeker(entity_id)
            return
        lat, lon = float(fields[LAT]), float(fields[LON])
        occupations = frozenset(orjson.loads(fields[OCCUPATIONS]))
        mode = _MODES[fields[MODE]]
        # Homes carry no district: the coverage takes the nearest place's.
        coverage.upsert_seeker(SeekerSpot(entity_id, lat, lon, mode, occupations, None))
    elif kind == PLACE:
        if not present:
            coverage.remove_place(entity_id)
            return
        lat, lon = float(fields[LAT]), float(fields[LON])
        coverage.upsert_place(PlaceSpot(entity_id, lat, lon, fields.get(DISTRICT)))
