"""Candidates for matching, through the geo indexes and never by a scan, many at a time.

A job's candidates are the seekers of its occupation at home within the
circle of their own travel mode (one index per occupation and mode, so each
search has its mode's radius) and the seekers checked in within the largest
circle; a seeker's are the open jobs of their occupations within their
circle. For any number of jobs or seekers it takes two round trips: every
search in one pipeline, then every candidate's card (processors.cards) in
another; what qualifies is decided by processors.matching.
"""

from collections.abc import Sequence

import msgspec
from redis.asyncio import Redis

from processors.cards import CheckinCard, JobCard, SeekerCard
from processors.matching import SeekerNow, origin
from processors.travel import MODES, TravelModel
from streams import keys
from streams.circle_queries import padded_km
from topics.fields import Point

Search = tuple[str, float, float, float]  # index, lat, lon, radius (km)
_SEEKER = msgspec.json.Decoder(SeekerCard)
_JOB = msgspec.json.Decoder(JobCard)
_CHECKIN = msgspec.json.Decoder(CheckinCard)


async def seekers_near_jobs(
    redis: Redis, model: TravelModel, wanted: Sequence[JobCard]
) -> list[list[SeekerNow]]:
    """For each job, the active seekers of its occupation who may be inside its circle."""
    widest = padded_km(max(model.radius_km(mode) for mode in MODES))
    searches = []
    for job in wanted:
        per_job = [
            (
                keys.seekers_of(job.occupation, mode),
                job.lat,
                job.lon,
                padded_km(model.radius_km(mode)),
            )
            for mode in MODES
        ]
        searches.append([*per_job, (keys.GEO_CHECKINS, job.lat, job.lon, widest)])
    found = await _search(redis, searches)
    everyone = await seekers_now(redis, list(dict.fromkeys(i for ids in found for i in ids)))
    by_id = {seeker.seeker_id: seeker for seeker in everyone}
    return [[by_id[i] for i in ids if i in by_id] for ids in found]


async def jobs_near_seekers(
    redis: Redis, model: TravelModel, wanted: Sequence[SeekerNow], now_ms: int
) -> list[list[tuple[str, JobCard]]]:
    """For each seeker, the open jobs of their occupations that may be inside their circle."""
    searches = []
    for seeker in wanted:
        at = origin(seeker, now_ms)
        radius = padded_km(model.radius_km(seeker.card.travel_mode))
        occupations = dict.fromkeys(seeker.card.occupations)
        searches.append([(keys.jobs_of(o), at.lat, at.lon, radius) for o in occupations])
    found = await _search(redis, searches)
    every_job = dict(
        await open_jobs(redis, list(dict.fromkeys(i for ids in found for i in ids)), now_ms)
    )
    return [[(i, every_job[i]) for i in ids if i in every_job] for ids in found]


async def seekers_now(redis: Redis, seeker_ids: list[str]) -> list[SeekerNow]:
    """The active ones of these seekers, each with their check-in, in one round trip."""
    if not seeker_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hmget(keys.SEEKER_CARDS, seeker_ids)
        pipe.hmget(keys.CHECKIN_CARDS, seeker_ids)
        seeker_blobs, checkin_blobs = await pipe.execute()
    found = []
    for seeker_id, blob, checkin_blob in zip(seeker_ids, seeker_blobs, checkin_blobs, strict=True):
        if blob is None:
            continue
        card = _SEEKER.decode(blob)
        if checkin_blob is None:
            found.append(SeekerNow(seeker_id, card))
            continue
        checkin = _CHECKIN.decode(checkin_blob)
        found.append(SeekerNow(seeker_id, card, Point(checkin.lat, checkin.lon), checkin.until_ms))
    return found


async def open_jobs(redis: Redis, job_ids: list[str], now_ms: int) -> list[tuple[str, JobCard]]:
    """The open ones of these jobs; openness by the clock, not by the index's last sweep."""
    if not job_ids:
        return []
    blobs = await redis.hmget(keys.JOB_CARDS, job_ids)
    cards = (
        (job_id, _JOB.decode(blob)) for job_id, blob in zip(job_ids, blobs, strict=True) if blob
    )
    return [(job_id, card) for job_id, card in cards if now_ms < card.deadline_ms]


async def _search(redis: Redis, searches: list[list[Search]]) -> list[list[str]]:
    """The members found by each group of searches, one pipeline for all of them."""
    async with redis.pipeline(transaction=False) as pipe:
        for group in searches:
            for index, lat, lon, radius in group:
                pipe.geosearch(index, longitude=lon, latitude=lat, radius=radius, unit="km")
        replies = iter(await pipe.execute())
    return [
        list(dict.fromkeys(member.decode() for _ in group for member in next(replies)))
        for group in searches
    ]
