"""The matchers' backlog from a real Redis stream (db 4): waiting, taken, done in neither."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from ops.settings import Settings, redis_database
from streams import keys
from streams.match_backlog import Backlog, backlog
from streams.matcher import GROUP

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_database(Settings().redis_url, 4))
    await client.delete(keys.MATCH_REQUESTS)
    yield client
    await client.delete(keys.MATCH_REQUESTS)
    await client.aclose()


async def requests(redis: Redis, n: int) -> list[bytes]:
    return [await redis.xadd(keys.MATCH_REQUESTS, {"kind": "job", "id": f"j{i}"}) for i in range(n)]


async def test_without_a_stream_nothing_waits(redis: Redis) -> None:
    assert await backlog(redis) == Backlog(waiting=0, taken=0)


async def test_before_any_matcher_joins_every_request_waits(redis: Redis) -> None:
    await requests(redis, 4)
    assert await backlog(redis) == Backlog(waiting=4, taken=0)


async def test_read_requests_are_taken_and_done_ones_leave_the_backlog(redis: Redis) -> None:
    await redis.xgroup_create(keys.MATCH_REQUESTS, GROUP, id="0", mkstream=True)
    ids = await requests(redis, 5)
    await redis.xreadgroup(GROUP, "m1", {keys.MATCH_REQUESTS: ">"}, count=3)
    assert await backlog(redis) == Backlog(waiting=2, taken=3)
    # As the matcher does once a request's matches and pushes are delivered.
    await redis.xack(keys.MATCH_REQUESTS, GROUP, *ids[:2])
    await redis.xdel(keys.MATCH_REQUESTS, *ids[:2])
    await requests(redis, 1)
    assert await backlog(redis) == Backlog(waiting=3, taken=1)
