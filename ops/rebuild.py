"""`gigstream rebuild`: everything the workers derive from the input topics, wiped from Redis
and rebuilt by replaying the topics from their beginning through the same Pipeline.

Redis is a serving copy of Kafka. The matchers' and notify's keys (dispatch
tiers, the hourly push limits, delivered markers, held pushes) do not come
from the input topics and stay. The workers must be stopped first: the
rebuild refuses while their consumer group has members. Records the workers
had processed are replayed without sending their dead letters and match
requests again; what they had not reached yet is processed in full. At the
end the workers' group starts where the replay stopped. The figures' matched
pairs, which the matchers count, are counted again from gig.matches.
"""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from tqdm import tqdm

from ops.kafka_auth import Principal, client_options
from ops.offsets import REPLAYED, partitions_of, positions
from ops.settings import Settings
from processors.ledger import KINDS
from streams import keys
from streams.replay import Positions, replay, replay_matches
from topics.catalog import INPUT_TOPICS, MARKETS, MATCHES

PENDING = f"{keys.PREFIX}:pending:"  # events waiting for their referent, by entity
# Every key the workers derive from the input topics, as SCAN patterns.
DERIVED = (
    f"{keys.PREFIX}:geo:*",
    f"{keys.PREFIX}:cards:*",
    keys.DUE_JOBS,
    keys.DUE_CHECKINS,
    keys.DUE_PENDING,
    keys.CHANGES,
    f"{PENDING}*",
    f"{keys.PREFIX}:seen:*",
    keys.job_applications("*"),
    *(keys.state_of_kind(kind) for kind in KINDS),
    f"{keys.PREFIX}:fig:*",
)
# What differs between two builds of the same events: write counts, when a
# waiting event arrived and whether it was replayed, the change feed's times and
# when the figures last counted an entity.
UNCOMPARED_FIELDS = {b"_v", b"at"}
UNCOMPARED_ORIGIN = {"received_ms", "replayed"}
UNCOMPARED_KEYS = {keys.CHANGES}
WIPE_CHUNK = 1000


class RebuildError(Exception):
    """Why a rebuild cannot start, in one line."""


@dataclass(frozen=True)
class Rebuilt:
    events: int
    seconds: float


def rebuild(
    cfg: Settings,
    start: Positions | None = None,
    progress: bool = True,
    until: Positions | None = None,
) -> Rebuilt:
    """Wipes and rebuilds; start and until (default: each partition's beginning and end)
    are for tests, whose topics other tests' workers and matchers write too.

    The figures' matched pairs come from gig.matches, which the matchers wrote."""
    with _admin(cfg) as admin:
        members = admin.describe_groups([cfg.app_id])[cfg.app_id]["members"]
        if members:
            raise RebuildError(
                f"the workers' group {cfg.app_id!r} has {len(members)} member(s):"
                " stop every `gigstream worker` first"
            )
        committed = admin.list_group_offsets(cfg.app_id).get(cfg.app_id, {})
    processed_once = {(tp.topic, tp.partition): o.offset for tp, o in committed.items()}
    first, end = _offsets(cfg)
    start, end = {**first, **(start or {})}, {**end, **(until or {})}
    db = redis.Redis.from_url(cfg.redis_url)
    wipe(db)
    total = sum(end[where] - start[where] for where in end)
    began = time.perf_counter()
    places, inputs, matches = _parts(end)
    with tqdm(total=total, unit="event", disable=not progress) as bar:
        # The places first: where a seeker counts in the figures is the district of the
        # place nearest home when they are counted, as it was when the workers ran.
        for part in (places, inputs):
            asyncio.run(replay(cfg, start, part, processed_once, bar.update))
        asyncio.run(replay_matches(cfg, start, matches, bar.update))
    _commit(cfg, {**places, **inputs})
    return Rebuilt(total, time.perf_counter() - began)


def _parts(end: Positions) -> tuple[Positions, Positions, Positions]:
    """The places' partitions, the other inputs', gig.matches'."""

    def of(topics: set[str]) -> Positions:
        return {where: stop for where, stop in end.items() if where[0] in topics}

    others = {topic.name for topic in INPUT_TOPICS} - {MARKETS.name}
    return of({MARKETS.name}), of(others), of({MATCHES.name})


def wipe(db: redis.Redis) -> None:
    for pattern in DERIVED:
        doomed = list(db.scan_iter(match=pattern, count=WIPE_CHUNK))
        for first in range(0, len(doomed), WIPE_CHUNK):
            db.unlink(*doomed[first : first + WIPE_CHUNK])


def derived_state(db: redis.Redis) -> dict[bytes, Any]:
    """Everything a rebuild must reproduce, comparable between two builds of the same events."""
    state: dict[bytes, Any] = {}
    for pattern in DERIVED:
        for key in db.scan_iter(match=pattern, count=WIPE_CHUNK):
            if key.decode() not in UNCOMPARED_KEYS:
                state[key] = _value(db, key)
    return state


def _value(db: redis.Redis, key: bytes) -> Any:
    kind = db.type(key)
    if kind == b"hash":
        fields = {k: v for k, v in db.hgetall(key).items() if k not in UNCOMPARED_FIELDS}
        if key.startswith(PENDING.encode()):
            return {event_id: _waiting(blob) for event_id, blob in fields.items()}
        return fields
    if kind == b"zset":
        scored = dict(db.zrange(key, 0, -1, withscores=True))
        # A waiting entity gives up at a time counted from when its first event arrived.
        return set(scored) if key == keys.DUE_PENDING.encode() else scored
    if kind == b"set":
        return db.smembers(key)
    return db.get(key)


def _waiting(blob: bytes) -> dict[str, Any]:
    origin = orjson.loads(blob)
    return {name: value for name, value in origin.items() if name not in UNCOMPARED_ORIGIN}


def _offsets(cfg: Settings) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """Each partition's first and end offsets, of the inputs and gig.matches."""
    consumer = KafkaConsumer(**client_options(cfg, Principal.GIGSTREAM))
    try:
        partitions = partitions_of(consumer, REPLAYED)
        first = consumer.beginning_offsets(partitions)
        end = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    return positions(first), positions(end)


def _commit(cfg: Settings, end: Positions) -> None:
    offsets = {TopicPartition(*where): OffsetAndMetadata(o, "", -1) for where, o in end.items()}
    with _admin(cfg) as admin:
        admin.alter_group_offsets(cfg.app_id, offsets)


@contextmanager
def _admin(cfg: Settings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(**client_options(cfg, Principal.ADMIN))
    try:
        yield admin
    finally:
        admin.close()
