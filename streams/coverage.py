"""The circle's coverage kept live in each worker: built once from Redis, then moved by the feed.

Every worker keeps the whole city's coverage, whichever partitions it owns:
it notes where the change feed (streams.changes) ends, builds a Coverage from
the geo indexes and the states behind them, and from then on applies each new
entry of the feed. Entries written while it was building are applied again,
which is harmless: each one sets an entity to its state at that write.
"""

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from redis.asyncio import Redis

from processors import jobs
from processors.circle import (
    Coverage,
    Gap,
    SeekerSpot,
    Share,
    Shares,
    candidate_cells,
    station_gaps,
)
from processors.ledger import JOB, MARKET, SEEKER, Ref
from processors.travel import TravelModel
from streams import changes, keys
from streams.circle_params import Box
from streams.metrics import (
    CIRCLE_COVERED,
    CIRCLE_DISTRICT_COVERED,
    CIRCLE_DISTRICT_SEEKERS,
    CIRCLE_SEEKERS,
)
from streams.store import read_states

# States read per round trip while building: large enough to amortise the trip,
# small enough not to hold Redis or the worker's event loop for long.
CHUNK = 1000
# Feed entries read per round trip while catching up: each can cost 0.1 ms or
# more to apply in a dense city, and the event loop is held while they are.
BATCH = 1000
START = "0-0"


class LiveCoverage:
    """The whole city's coverage, kept up to date from the change feed on each refresh."""

    def __init__(self, redis: Redis, model: TravelModel) -> None:
        self._redis = redis
        self._model = model
        self._coverage: Coverage | None = None
        self._last_id = START
        self._lock = asyncio.Lock()

    async def refresh(self, now_ms: int) -> Coverage:
        """The coverage, built if not yet, with every entry of the feed so far applied."""
        async with self._lock:
            if self._coverage is None or await self._fell_behind():
                self._coverage = await self._build(now_ms)
            while entries := await self._read():
                for entry_id, fields in entries:
                    changes.apply(self._coverage, _text(fields))
                    self._last_id = entry_id.decode()
            return self._coverage

    async def shares(self, now_ms: int) -> Shares:
        return (await self.refresh(now_ms)).shares()

    async def gaps(self, now_ms: int, k: int, box: Box | None = None) -> list[Gap]:
        """Where k new stations would bring the most seekers without a place inside the circle.

        With a box, only the seekers at home in it count. The siting takes
        seconds for thousands of such seekers, so it runs off the event loop, on
        a copy of them.
        """
        coverage = await self.refresh(now_ms)
        uncovered = coverage.uncovered_for_place()
        if box is not None:
            uncovered = [spot for spot in uncovered if box.holds(spot.lat, spot.lon)]
        return await asyncio.to_thread(_site, uncovered, self._model, k)

    async def _fell_behind(self) -> bool:
        """Whether the feed was trimmed past entries this coverage has not applied yet."""
        if not await self._redis.exists(keys.CHANGES):
            return self._last_id != START  # the feed itself was deleted
        info = await self._redis.xinfo_stream(keys.CHANGES)
        deleted = info["max-deleted-entry-id"].decode()
        return _stream_id(deleted) > _stream_id(self._last_id)

    async def _read(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        reply = await self._redis.xread({keys.CHANGES: self._last_id}, count=BATCH)
        return [entry for _, entries in reply for entry in entries]

    async def _build(self, now_ms: int) -> Coverage:
        latest = await self._redis.xrevrange(keys.CHANGES, "+", "-", count=1)
        self._last_id = latest[0][0].decode() if latest else START
        coverage = Coverage(self._model)
        # Places first: each one added later would look at every seeker's district.
        async for chunk in self._states(MARKET, [keys.GEO_MARKETS, keys.GEO_STATIONS]):
            for ref, state in chunk:
                changes.apply(coverage, changes.place_change(ref.id, state))
        async for chunk in self._states(SEEKER, [keys.GEO_SEEKERS]):
            for ref, state in chunk:
                changes.apply(coverage, changes.seeker_change(ref.id, state))
        # Jobs last and all at once: a k-d tree counts them for every seeker in seconds,
        # where one search per job took minutes for a city.
        open_jobs = []
        async for chunk in self._states(JOB, [keys.GEO_JOBS]):
            for ref, state in chunk:
                if jobs.is_open(state, now_ms):
                    open_jobs.append(changes.job_spot(changes.job_change(ref.id, state, now_ms)))
        await asyncio.to_thread(coverage.add_jobs, open_jobs)  # not shared yet: no race
        return coverage

    async def _states(
        self, kind: str, indexes: Iterable[str]
    ) -> AsyncIterator[list[tuple[Ref, Any]]]:
        """The states of every member of the indexes, a chunk per round trip.

        Applying a chunk keeps the worker's event loop for a while; reading the
        next one hands it back, so the agent and the heartbeats keep going.
        """
        members = [member for index in indexes for member in await _members(self._redis, index)]
        refs = [Ref(kind, member.decode()) for member in members]
        for start in range(0, len(refs), CHUNK):
            yield await read_states(self._redis, refs[start : start + CHUNK])


def _site(uncovered: list[SeekerSpot], model: TravelModel, k: int) -> list[Gap]:
    return station_gaps(uncovered, candidate_cells(uncovered, model), model, k)


def export(shares: Shares, districts_before: set[str]) -> set[str]:
    """Sets the circle's gauges; returns the districts now exported, to drop the gone ones next."""
    CIRCLE_SEEKERS.set(shares.city.seekers)
    for covered_for, count in _covered(shares.city):
        CIRCLE_COVERED.labels(covered_for).set(count)
    for district, share in shares.districts.items():
        CIRCLE_DISTRICT_SEEKERS.labels(district).set(share.seekers)
        for covered_for, count in _covered(share):
            CIRCLE_DISTRICT_COVERED.labels(district, covered_for).set(count)
    for district in districts_before - shares.districts.keys():
        CIRCLE_DISTRICT_SEEKERS.remove(district)
        for covered_for, _ in _covered(shares.city):
            CIRCLE_DISTRICT_COVERED.remove(district, covered_for)
    return set(shares.districts)


async def _members(redis: Redis, index: str) -> list[bytes]:
    return [member async for member, _ in redis.zscan_iter(index, count=CHUNK)]


def _covered(share: Share) -> list[tuple[str, int]]:
    return [
        ("work", share.covered_for_work),
        ("place", share.covered_for_place),
        ("both", share.covered),
    ]


def _text(fields: dict[bytes, bytes]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in fields.items()}


def _stream_id(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)
