"""The figures' counters in Redis (processors.figures.counts): one hash per window.

A window's hash is named by its period and start (`gs:fig:n:day:1764518400000`);
a field names the figure, the grouping, the group and, for a sketch, the bucket
as a JSON array (a group is free text, so no separator is safe). The worker
adds to them with HINCRBY in its atomic write; a counter back at zero is
deleted. Hour windows hold only check-ins, which are added once and never
taken back, so their hashes expire after HOUR_TTL_S.
"""

from collections.abc import Iterable

import orjson
from redis.asyncio import Redis

from processors.figures.counts import Counts, Key
from processors.figures.windows import HOUR, Window
from streams import keys

HOUR_TTL_S = 8 * 24 * 3600
_PREFIX = f"{keys.PREFIX}:fig:n:"


def counters_key(window: Window) -> str:
    return f"{_PREFIX}{window.period}:{window.start_ms}"


def window_of(counters: str) -> Window:
    period, _, start = counters.removeprefix(_PREFIX).partition(":")
    return Window(period, int(start))


def field_of(key: Key) -> str:
    parts: list[str | int] = [key.figure, key.by, key.group]
    if key.bucket is not None:
        parts.append(key.bucket)
    return orjson.dumps(parts).decode()


def key_of(window: Window, field: bytes | str) -> Key:
    figure, by, group, *bucket = orjson.loads(field)
    return Key(figure, by, group, window, bucket[0] if bucket else None)


def increments(counts: Counts) -> dict[Window, dict[str, int]]:
    """The HINCRBYs that add counts: window (its hash is counters_key) -> field -> n."""
    by_window: dict[Window, dict[str, int]] = {}
    for key, n in counts.items():
        by_window.setdefault(key.window, {})[field_of(key)] = n
    return by_window


def expires(window: Window) -> bool:
    return window.period == HOUR


async def read_counts(redis: Redis, windows: Iterable[Window]) -> Counts:
    """The counters of the windows, in one round trip."""
    windows = list(windows)
    async with redis.pipeline(transaction=False) as pipe:
        for window in windows:
            pipe.hgetall(counters_key(window))
        replies = await pipe.execute()
    return {
        key_of(window, field): int(n)
        for window, fields in zip(windows, replies, strict=True)
        for field, n in fields.items()
    }
