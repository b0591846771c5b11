"""The dispatch script on the real Redis: tiers, the hourly limit, decisions kept per request.

In a database no worker reads, so no matcher takes the requests these tests look for.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from ops.settings import Settings, redis_database
from processors.dispatch import DispatchRules
from streams import keys, requests
from streams.dispatch import HOUR_MS, Ask, Dispatcher, Tier

pytestmark = pytest.mark.integration

RULES = DispatchRules(max_tiers=2, pushes_per_hour=5)
AT = 1_800_000_000_000
QUIET_DB = 14


@pytest.fixture
async def client(live_stack: Settings) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_database(live_stack.redis_url, QUIET_DB))
    yield redis
    await redis.aclose()


async def decide(
    client: Redis,
    dispatcher: Dispatcher,
    request_id: str,
    job_id: str,
    widen: bool,
    size: int,
    ranked: list[str],
    at_ms: int,
    next_at_ms: int,
) -> Tier:
    ask = Ask(request_id, job_id, widen, size, ranked, at_ms, next_at_ms)
    return (await dispatcher.decide(client, [ask]))[0]


def ids(prefix: str, n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{run}-{prefix}{i}" for i in range(n)]


async def test_tiers_reach_the_next_best_each_time_and_stop_at_the_last(client: Redis) -> None:
    dispatcher = Dispatcher(client, RULES)
    job = ids("job", 1)[0]
    seekers = ids("s", 10)
    first = await decide(client, dispatcher, f"{job}-r1", job, False, 3, seekers, AT, AT + 600_000)
    assert (first.number, first.seeker_ids) == (1, seekers[:3])
    again = await decide(client, dispatcher, f"{job}-r1", job, False, 3, seekers[::-1], AT, AT)
    assert again == first  # a redelivered request gets its own decision back
    update = await decide(client, dispatcher, f"{job}-r2", job, False, 3, seekers, AT, AT)
    assert (update.number, update.seeker_ids) == (1, [])  # an update pushes no one
    assert await client.zscore(keys.DUE_TIERS, job) == AT + 600_000
    second = await decide(client, dispatcher, f"{job}-r3", job, True, 3, seekers, AT, AT)
    assert (second.number, second.seeker_ids) == (2, seekers[3:6])
    assert await client.zscore(keys.DUE_TIERS, job) is None  # the last tier
    beyond = await decide(client, dispatcher, f"{job}-r4", job, True, 3, seekers, AT, AT)
    assert beyond.seeker_ids == []


async def test_a_seeker_gets_at_most_the_hourly_limit_of_pushes(client: Redis) -> None:
    dispatcher = Dispatcher(client, RULES)
    seeker = ids("s", 1)
    jobs = ids("job", 7)
    reached = [
        bool(
            (await decide(client, dispatcher, f"{j}-r", j, False, 1, seeker, AT + i, AT)).seeker_ids
        )
        for i, j in enumerate(jobs[:6])
    ]
    assert reached == [True] * 5 + [False]
    later = await decide(
        client, dispatcher, f"{jobs[6]}-r", jobs[6], False, 1, seeker, AT + HOUR_MS, AT
    )
    assert later.seeker_ids == seeker  # the first push is an hour old now


async def test_asks_in_one_pipeline_share_a_seekers_limit(client: Redis) -> None:
    dispatcher = Dispatcher(client, RULES)
    seeker = ids("s", 1)
    asks = [Ask(f"{j}-r", j, False, 1, seeker, AT, AT) for j in ids("job", 7)]
    tiers = await dispatcher.decide(client, asks)
    assert [bool(tier.seeker_ids) for tier in tiers] == [True] * 5 + [False] * 2


async def test_due_tiers_become_widening_requests(client: Redis) -> None:
    dispatcher = Dispatcher(client, RULES)
    job = ids("job", 1)[0]
    await client.zadd(keys.DUE_TIERS, {job: 5})
    tail = (await client.xrevrange(keys.MATCH_REQUESTS, count=1)) or [(b"0-0", {})]
    assert await dispatcher.widen_due(5) >= 1
    entries = await client.xrange(keys.MATCH_REQUESTS, min=f"({tail[0][0].decode()}")
    mine = [requests.parse(fields) for _, fields in entries if fields[b"id"] == job.encode()]
    assert mine == [("job", job, True)]
    assert await client.zscore(keys.DUE_TIERS, job) is None
