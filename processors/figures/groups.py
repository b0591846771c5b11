"""The groups a job or a seeker counts in: city-wide, occupation, district, market, session.

A seeker listing several occupations counts once in each of them (and once
city-wide), as official 求人倍率 tables count a person under every occupation
sought; the occupation rows therefore add up to more than the city's.
"""

from collections.abc import Callable

from processors.jobs import JobState
from processors.seekers import SeekerState

CITY, OCCUPATION, DISTRICT, MARKET, SESSION = "city", "occupation", "district", "market", "session"

Group = tuple[str, str]  # (by, group)
CITY_WIDE: Group = (CITY, "")

# The district of a market or station, None when it is not known.
MarketDistrict = Callable[[str], str | None]
# Seekers carry no district in the contract: the caller says where one counts
# (the circle takes the nearest market's or station's).
SeekerDistrict = Callable[[SeekerState], str | None]


def job_district(state: JobState, market_district: MarketDistrict) -> str | None:
    """The job's location.district, else its market's."""
    job = state.job
    if job.location.district is not None:
        return job.location.district
    if job.market_id is None:
        return None
    return market_district(job.market_id)


def job_groups(state: JobState, market_district: MarketDistrict) -> list[Group]:
    groups = [CITY_WIDE, (OCCUPATION, state.job.occupation)]
    district = job_district(state, market_district)
    if district is not None:
        groups.append((DISTRICT, district))
    if state.job.market_id is not None:
        groups.append((MARKET, state.job.market_id))
    return groups


def seeker_groups(state: SeekerState, seeker_district: SeekerDistrict) -> list[Group]:
    """City-wide, each occupation, and the district; markets follow the check-ins."""
    occupations = sorted(set(state.profile.occupations))
    groups = [CITY_WIDE, *((OCCUPATION, occupation) for occupation in occupations)]
    district = seeker_district(state)
    if district is not None:
        groups.append((DISTRICT, district))
    return groups
