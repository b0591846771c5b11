"""Candidates for matching, through the geo indexes and never by a scan.

A job's candidates are the seekers of its occupation at home within the
circle of their own travel mode (one index per occupation and mode, so each
search has its mode's radius) and the seekers checked in within the largest
circle; a seeker's are the open jobs of their occupations within their
circle. Every candidate's state is then read in one round trip, and
processors.matching decides from it.
"""

from redis.asyncio import Redis

from processors import checkins, jobs, seekers
from processors.ledger import CHECKIN, JOB, SEEKER, Ref
from processors.matching import SeekerNow, origin
from processors.travel import MODES, TravelModel
from streams import keys
from streams.circle_queries import padded_km
from streams.store import read_states
from topics.jobs import JobPosted


async def seekers_near_job(redis: Redis, model: TravelModel, job: JobPosted) -> list[SeekerNow]:
    """Active seekers of the job's occupation who may be inside its circle, as they are now."""
    at = job.location
    widest = padded_km(max(model.radius_km(mode) for mode in MODES))
    async with redis.pipeline(transaction=False) as pipe:
        for mode in MODES:
            radius = padded_km(model.radius_km(mode))
            index = keys.seekers_of(job.occupation, mode)
            pipe.geosearch(index, longitude=at.lon, latitude=at.lat, radius=radius, unit="km")
        pipe.geosearch(
            keys.GEO_CHECKINS, longitude=at.lon, latitude=at.lat, radius=widest, unit="km"
        )
        found = await pipe.execute()
    ids = dict.fromkeys(member.decode() for members in found for member in members)
    return await seekers_now(redis, list(ids))


async def seekers_now(redis: Redis, seeker_ids: list[str]) -> list[SeekerNow]:
    """The active ones of these seekers, each with their check-in, in one round trip."""
    refs = [Ref(kind, i) for i in seeker_ids for kind in (SEEKER, CHECKIN)]
    states = dict(await read_states(redis, refs))
    found = []
    for seeker_id in seeker_ids:
        seeker = states.get(Ref(SEEKER, seeker_id))
        if seeker is None or not seekers.is_active(seeker):
            continue
        checkin: checkins.CheckinState | None = states.get(Ref(CHECKIN, seeker_id))
        place, until = (checkin.place, checkin.until_ms) if checkin else (None, None)
        found.append(SeekerNow(seeker_id, seeker.profile, place, until))
    return found


async def jobs_near_seeker(
    redis: Redis, model: TravelModel, seeker: SeekerNow, now_ms: int
) -> list[tuple[str, JobPosted]]:
    """Open jobs of the seeker's occupations that may be inside their circle."""
    at = origin(seeker, now_ms)
    radius = padded_km(model.radius_km(seeker.profile.travel_mode))
    async with redis.pipeline(transaction=False) as pipe:
        for occupation in dict.fromkeys(seeker.profile.occupations):
            index = keys.jobs_of(occupation)
            pipe.geosearch(index, longitude=at.lon, latitude=at.lat, radius=radius, unit="km")
        found = await pipe.execute()
    ids = dict.fromkeys(member.decode() for members in found for member in members)
    return await open_jobs(redis, list(ids), now_ms)


async def open_jobs(redis: Redis, job_ids: list[str], now_ms: int) -> list[tuple[str, JobPosted]]:
    """The open ones of these jobs; openness by the clock, not by the index's last sweep."""
    states = await read_states(redis, [Ref(JOB, i) for i in job_ids])
    return [(ref.id, state.job) for ref, state in states if jobs.is_open(state, now_ms)]
