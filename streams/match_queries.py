"""Candidates for matching, through the geo indexes and never by a scan, many at a time.

A job's candidates are the seekers of its occupation at home within the
circle of their own travel mode (one index per occupation and mode, so each
search has its mode's radius) and the seekers checked in within the largest
circle; a seeker's are the open jobs of their occupations within their
circle. For any number of jobs or seekers it takes one round trip: a pipeline
of one script per job or seeker, which searches its indexes and returns every
candidate's card (processors.cards); what qualifies is decided by
processors.matching. Searching in Redis saves sending thousands of ids there
and back, which cost more than the searches.
"""

from collections.abc import Sequence
from functools import lru_cache

import msgspec
from redis.asyncio import Redis

from processors.cards import CheckinCard, JobCard, SeekerCard
from processors.matching import SeekerNow, origin
from processors.travel import MODES, TravelModel
from streams import keys
from streams.near import SCRIPT as NEAR
from streams.near import open_job_cards, padded_km
from topics.fields import Point

_SEEKER = msgspec.json.Decoder(SeekerCard)
_CHECKIN = msgspec.json.Decoder(CheckinCard)


async def seekers_near_jobs(
    redis: Redis, model: TravelModel, wanted: Sequence[JobCard]
) -> list[list[SeekerNow]]:
    """For each job, the active seekers of its occupation who may be inside its circle."""
    radii = [padded_km(model.radius_km(mode)) for mode in MODES]
    near = redis.register_script(NEAR)
    async with redis.pipeline(transaction=False) as pipe:
        for job in wanted:
            indexes = [keys.seekers_of(job.occupation, mode) for mode in MODES]
            await near(
                keys=[*indexes, keys.GEO_CHECKINS, keys.SEEKER_CARDS, keys.CHECKIN_CARDS],
                args=[2, job.lon, job.lat, *radii, max(radii)],
                client=pipe,
            )
        replies = await pipe.execute()
    return [_seekers(ids, cards, checkins) for ids, cards, checkins in replies]


async def jobs_near_seekers(
    redis: Redis, model: TravelModel, wanted: Sequence[SeekerNow], now_ms: int
) -> list[list[tuple[str, JobCard]]]:
    """For each seeker, the open jobs of their occupations that may be inside their circle."""
    near = redis.register_script(NEAR)
    async with redis.pipeline(transaction=False) as pipe:
        for seeker in wanted:
            at = origin(seeker, now_ms)
            radius = padded_km(model.radius_km(seeker.card.travel_mode))
            indexes = [keys.jobs_of(o) for o in dict.fromkeys(seeker.card.occupations)]
            await near(
                keys=[*indexes, keys.JOB_CARDS],
                args=[1, at.lon, at.lat, *([radius] * len(indexes))],
                client=pipe,
            )
        replies = await pipe.execute()
    return [open_job_cards(ids, cards, now_ms) for ids, cards in replies]


async def seekers_now(redis: Redis, seeker_ids: list[str]) -> list[SeekerNow]:
    """The active ones of these seekers, each with their check-in, in one round trip."""
    if not seeker_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hmget(keys.SEEKER_CARDS, seeker_ids)
        pipe.hmget(keys.CHECKIN_CARDS, seeker_ids)
        cards, checkins = await pipe.execute()
    return _seekers([i.encode() for i in seeker_ids], cards, checkins)


async def open_jobs(redis: Redis, job_ids: list[str], now_ms: int) -> list[tuple[str, JobCard]]:
    """The open ones of these jobs; openness by the clock, not by the index's last sweep."""
    if not job_ids:
        return []
    cards = await redis.hmget(keys.JOB_CARDS, job_ids)
    return open_job_cards([i.encode() for i in job_ids], cards, now_ms)


def _seekers(
    ids: list[bytes], cards: list[bytes | None], checkins: list[bytes | None]
) -> list[SeekerNow]:
    return [
        _seeker_now(seeker_id, blob, checkin)
        for seeker_id, blob, checkin in zip(ids, cards, checkins, strict=True)
        if blob is not None  # else withdrawn since it was indexed
    ]


# The same cards come back request after request (a busy district's seekers are
# the candidates of every job there): each distinct card (with its check-in) is
# decoded once. A card that changed is different bytes: nothing stale is served.
@lru_cache(maxsize=200_000)
def _seeker_now(seeker_id: bytes, blob: bytes, checkin_blob: bytes | None) -> SeekerNow:
    card = _SEEKER.decode(blob)
    if checkin_blob is None:
        return SeekerNow(seeker_id.decode(), card)
    checkin = _checkin_card(checkin_blob)
    return SeekerNow(seeker_id.decode(), card, Point(checkin.lat, checkin.lon), checkin.until_ms)


@lru_cache(maxsize=50_000)
def _checkin_card(blob: bytes) -> CheckinCard:
    return _CHECKIN.decode(blob)
