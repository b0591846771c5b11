"""The figures' tests' own Redis database (3), flushed before and after each test."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from ops.settings import Settings, redis_database

FIGURES_DB = 3


@pytest.fixture
async def figures_redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_database(Settings().redis_url, FIGURES_DB))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
