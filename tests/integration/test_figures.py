"""The figures a real worker keeps in Redis equal the brute-force oracle of the same city.

A worker of its own group and Redis database applies a seeded simulated city
(markets and stations, seekers, jobs, check-ins, applications, hires, a live
stream, malformed and duplicate messages) from the real broker. Its counters,
every window, must equal the figures recomputed from scratch over the final
states and the log of facts (tests/processors/figures/oracle.py). A seeker
counts in the district of the active place nearest their home, as the crow
flies, as the worker looks it up in Redis's geo indexes.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import pytest
import redis
from kafka import KafkaProducer
from redis.asyncio import Redis

from ops.offsets import end_offsets, positions, replayed_end_offsets
from ops.rebuild import derived_state, rebuild
from ops.report import read_windows
from ops.settings import Settings, redis_database
from ops.simulator.feed import Feed, Message
from processors.figures.counts import Counts
from processors.figures.fill import MATCHED_HIRES
from processors.ledger import MARKET, Incoming, Origin, Ref, World, apply_batch, refs_of
from processors.markets import is_active
from processors.outcome import Outcome
from processors.seekers import SeekerState
from processors.travel import distance_km
from streams.figure_counters import window_of
from streams.replay import store_of
from streams.tallies import count_matches
from tests.integration.conftest import (
    Worker,
    differences,
    free_port,
    start,
    start_group_at_end,
    wait_counted,
)
from tests.processors.figures.oracle import recomputed
from topics.applications import HireConfirmed
from topics.catalog import APPLICATIONS, BY_NAME, MATCHES
from topics.envelope import Event, decode
from topics.fields import epoch_ms
from topics.outputs import MatchFound, encode_match, matched_pair

pytestmark = pytest.mark.integration

EVENTS = 2500
SEED = 20261127
FIGURES_DB = 5


def applied_in_order(cfg: Settings, messages: list[Message]) -> tuple[dict[Ref, Any], list[Event]]:
    """The final states and the facts (applied or stale events), by the ledger in memory."""
    store = store_of(cfg)
    world = World({}, {}, set())
    facts: list[Event] = []
    now = datetime.now(UTC)
    for offset, message in enumerate(messages):
        topic = BY_NAME[message.topic]
        event = decode(topic, message.key, message.value, now, store.limits)
        if not isinstance(event, Event):
            continue
        origin = Origin(message.topic, 0, offset, message.key, message.value, epoch_ms(now))
        for ref in refs_of([event]):
            world.states.setdefault(ref, None)
        for applied in apply_batch(world, [Incoming(event, origin)], store.rules):
            if applied.result.outcome in (Outcome.APPLIED, Outcome.STALE):
                facts.append(applied.incoming.event)
    return world.states, facts


def nearest_place_district(states: dict[Ref, Any]) -> Any:
    places = [s for ref, s in states.items() if ref.kind == MARKET and s and is_active(s)]

    def district(seeker: SeekerState) -> str | None:
        home = seeker.profile.home
        # Redis measures on a sphere of another radius: the nearest place is the same.
        nearest = min(places, key=lambda p: distance_km(home, p.market.location), default=None)
        return None if nearest is None else nearest.market.district

    return district


def counters_in(url: str) -> Counts:
    db = redis.Redis.from_url(url)
    windows = [window_of(key.decode()) for key in db.scan_iter(match="gs:fig:n:*")]
    return asyncio.run(read_windows(url, windows))


def hires_in(cfg: Settings, messages: list[Message]) -> list[tuple[str, str]]:
    limits, now = store_of(cfg).limits, datetime.now(UTC)
    hires = []
    for message in messages:
        if message.topic == APPLICATIONS.name:
            event = decode(APPLICATIONS, message.key, message.value, now, limits)
            if isinstance(event, Event) and isinstance(event.data, HireConfirmed):
                hires.append((event.data.job_id, event.data.seeker_id))
    return hires


@dataclass
class City:
    url: str
    cfg: Settings
    messages: list[Message]
    matches: list[tuple[str, str, int]]
    began: dict[tuple[str, int], int]  # where the inputs and gig.matches ended before it
    # Where gig.matches ended after this test's own matches: other tests' matchers
    # (the session's, whose worker applies this city too) send theirs after it.
    matched: dict[tuple[str, int], int]
    worker: Iterator[Worker]  # next() stops it


def matches_sent(
    producer: KafkaProducer, pairs: list[tuple[str, str]], at: datetime
) -> list[bytes]:
    """match.found records on gig.matches, as a matcher sends them."""
    records = []
    for n, (job_id, seeker_id) in enumerate(pairs):
        found = MatchFound(job_id, seeker_id, 0.8, 6.0, ["步行约6分钟"])
        records.append(encode_match(f"m-figures-{uuid.uuid4().hex}-{n}", found, at))
        producer.send(MATCHES.name, key=seeker_id.encode(), value=records[-1])
    producer.flush()
    return records


@pytest.fixture(scope="module")
def city(live_stack: Settings, producer: KafkaProducer, tmp_path_factory: Any) -> Iterator[City]:
    """The city applied by a worker, some of its pairs matched just before it began."""
    url = redis_database(live_stack.redis_url, FIGURES_DB)
    env = {
        "GIGSTREAM_APP_ID": f"gigstream-figures-{uuid.uuid4().hex[:8]}",
        "GIGSTREAM_REDIS_URL": url,
        "GIGSTREAM_WEB_PORT": str(free_port()),
        "GIGSTREAM_KAFKA_BOOTSTRAP": live_stack.kafka_bootstrap,
        "GIGSTREAM_LOG_LEVEL": "warn",
    }
    db = redis.Redis.from_url(url)
    db.flushdb()
    start_group_at_end(live_stack.kafka_bootstrap, env["GIGSTREAM_APP_ID"])
    cfg = live_stack.model_copy(update={"redis_url": url, "app_id": env["GIGSTREAM_APP_ID"]})
    began = positions(replayed_end_offsets(live_stack.kafka_bootstrap))
    matched_ms = time.time_ns() // 1_000_000
    begins = datetime.fromtimestamp(matched_ms / 1000 + 2, UTC)
    messages = list(islice(Feed(SEED, begins, 1000.0), EVENTS))
    # Hired pairs, matched before their hire, and pairs never hired; counted as a matcher
    # counts what it sent, and a pair matched again later counts once.
    pairs = [*list(dict.fromkeys(hires_in(cfg, messages)))[:6], ("job-x", "seeker-y")]
    first = matches_sent(producer, pairs, datetime.fromtimestamp(matched_ms / 1000, UTC))
    again = matches_sent(producer, pairs, datetime.fromtimestamp(matched_ms / 1000 + 1, UTC))
    matched = positions(end_offsets(live_stack.kafka_bootstrap, [MATCHES.name]))
    for records in (first, again):
        asyncio.run(count_matches(Redis.from_url(url), [matched_pair(r) for r in records]))
    web = f"http://127.0.0.1:{env['GIGSTREAM_WEB_PORT']}"
    running = start("worker", env, tmp_path_factory.mktemp("figures"), web)
    worker = next(running)
    try:
        for message in messages:
            producer.send(message.topic, key=message.key, value=message.value)
        producer.flush()
        wait_counted(worker, db, EVENTS)
        matches = [(job, seeker, matched_ms) for job, seeker in pairs]
        yield City(url, cfg, messages, matches, began, matched, running)
    finally:
        next(running, None)  # stops it


def test_the_workers_counters_equal_the_figures_recomputed_from_scratch(city: City) -> None:
    states, facts = applied_in_order(city.cfg, city.messages)
    places = {r.id: s.market.district for r, s in states.items() if r.kind == MARKET and s}
    seeker_district = nearest_place_district(states)
    kinds = {type(fact.data).__name__ for fact in facts}
    assert {"JobPosted", "Checkin", "ApplicationSubmitted", "HireConfirmed"} <= kinds

    def wrong() -> list[str]:
        now_ms = time.time_ns() // 1_000_000
        expected = recomputed(states, facts, city.matches, now_ms, seeker_district, places.get)
        got = counters_in(city.url)
        keys_ = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
        return [f"{k}: {got.get(k)} != {expected.get(k)}" for k in keys_[:5]] + [
            f"{len(keys_)} of {len(expected)} counters differ"
        ] * bool(keys_)

    # Polled: a deadline may pass between the worker's count and this read; its sweep then
    # counts the job again.
    give_up = time.monotonic() + 30
    while (differences := wrong()) and time.monotonic() < give_up:
        time.sleep(0.2)
    assert not differences, differences
    hired = [key for key in counters_in(city.url) if key.figure == MATCHED_HIRES]
    assert hired  # the conversion counted hires of matched pairs, not only matches


def test_a_rebuild_counts_the_same_figures_and_the_matched_pairs_from_gig_matches(
    city: City,
) -> None:
    db = redis.Redis.from_url(city.url)
    live = derived_state(db)
    assert any(key.startswith(b"gs:fig:pair:") for key in live)
    next(city.worker, None)  # stopped: a rebuild refuses while the group has members
    rebuild(city.cfg, start=city.began, until=city.matched, progress=False)
    assert not (wrong := differences(derived_state(db), live)), wrong
