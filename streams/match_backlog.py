"""The matchers' backlog: match requests no matcher has read yet, and those read but not done.

Each matcher measures it on a timer from XINFO GROUPS; it is the group's, so
every matcher reports the same number and a dashboard takes the max.
"""

from typing import NamedTuple

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from streams import keys
from streams.matcher import GROUP
from streams.metrics import MATCH_BACKLOG


class Backlog(NamedTuple):
    waiting: int  # in the stream, read by no matcher yet
    taken: int  # read by a matcher and not acknowledged: in hand, or its matcher died


async def backlog(redis: Redis) -> Backlog:
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.MATCH_REQUESTS)
            pipe.xinfo_groups(keys.MATCH_REQUESTS)
            length, groups = await pipe.execute()
    except ResponseError as error:
        if "no such key" not in str(error):
            raise
        return Backlog(0, 0)  # no request was ever made, or a rebuild wiped them
    group = next((g for g in groups if g["name"] == GROUP.encode()), None)
    if group is None:  # no matcher has joined yet: every request waits
        return Backlog(length, 0)
    taken = int(group["pending"])
    # Redis cannot tell the lag after some deletions; a done request is deleted as it is
    # acknowledged, so what remains in the stream is then the waiting and the taken.
    lag = group.get("lag")
    return Backlog(int(lag) if lag is not None else max(length - taken, 0), taken)


def export(now: Backlog) -> None:
    for state, requests in now._asdict().items():
        MATCH_BACKLOG.labels(state).set(requests)
