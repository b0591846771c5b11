"""`gigstream rebuild`: Redis is a serving copy of Kafka.

Two workers of groups of their own, each with a Redis database of its own,
apply the same simulated city (every channel, duplicates and broken
messages). One is left alone; the other's database is flushed mid-stream
(FLUSHDB on a database of its own stands for FLUSHALL, which would wipe the
other tests' state too). A rebuild of either from the topics equals the
undisturbed live-built state, and sends no dead letter out again.

These workers run without a matcher, so their live state counts no matched
pair; the rebuilds replay none of gig.matches, where the session's matcher,
whose worker applies the same city, sends matches of its own.
"""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
import redis
from kafka import KafkaAdminClient, KafkaProducer

from ops.offsets import positions, replayed_end_offsets
from ops.rebuild import RebuildError, derived_state, rebuild
from ops.settings import Settings, redis_database
from ops.simulator.feed import Feed, Message
from tests.integration.conftest import (
    ROOT,
    DeadLetters,
    differences,
    free_port,
    processed,
    start,
    start_group_at_end,
    wait_counted,
    wait_for,
)
from topics.catalog import MATCHES

pytestmark = pytest.mark.integration

EVENTS = 3000
SEED = 20261128
UNDISTURBED_DB, FLUSHED_DB = 11, 10


def group_env(live_stack: Settings, db: int) -> dict[str, str]:
    redis_url = redis_database(live_stack.redis_url, db)
    return {
        "GIGSTREAM_APP_ID": f"gigstream-rebuild-{uuid.uuid4().hex[:8]}",
        "GIGSTREAM_REDIS_URL": redis_url,
        "GIGSTREAM_WEB_PORT": str(free_port()),
        "GIGSTREAM_KAFKA_BOOTSTRAP": live_stack.kafka_bootstrap,
        "GIGSTREAM_LOG_LEVEL": "warn",
    }


def settings_of(env: dict[str, str]) -> Settings:
    fields = {name.removeprefix("GIGSTREAM_").lower(): value for name, value in env.items()}
    return Settings(**fields)


def publish(producer: KafkaProducer, messages: list[Message]) -> None:
    for message in messages:
        producer.send(message.topic, key=message.key, value=message.value)
    producer.flush()


@pytest.fixture(scope="module")
def city(
    live_stack: Settings, producer: KafkaProducer, tmp_path_factory: Any
) -> Iterator[tuple[dict[str, str], dict[str, str], dict[tuple[str, int], int]]]:
    """Both groups' settings after the city was applied, and where it began in the topics."""
    undisturbed = group_env(live_stack, UNDISTURBED_DB)
    flushed = group_env(live_stack, FLUSHED_DB)
    for env in (undisturbed, flushed):
        redis.Redis.from_url(env["GIGSTREAM_REDIS_URL"]).flushdb()
        start_group_at_end(live_stack.kafka_bootstrap, env["GIGSTREAM_APP_ID"])
    began = positions(replayed_end_offsets(live_stack.kafka_bootstrap))
    messages = list(islice(Feed(SEED, datetime.now(UTC), 1000.0), EVENTS))
    half = EVENTS // 2
    workers = [
        start(
            "worker",
            {**env, "PYTHONPATH": str(ROOT)},
            tmp_path_factory.mktemp("rebuild"),
            f"http://127.0.0.1:{env['GIGSTREAM_WEB_PORT']}",
        )
        for env in (undisturbed, flushed)
    ]
    running = [next(worker) for worker in workers]
    try:
        publish(producer, messages[:half])
        for worker in running:
            wait_for(lambda w=worker: processed(w) >= half, "the first half applied")
        redis.Redis.from_url(flushed["GIGSTREAM_REDIS_URL"]).flushdb()
        publish(producer, messages[half:])
        for worker, env in zip(running, (undisturbed, flushed), strict=True):
            wait_counted(worker, redis.Redis.from_url(env["GIGSTREAM_REDIS_URL"]), EVENTS)
    finally:
        for worker in workers:
            next(worker, None)  # stops it
    yield undisturbed, flushed, began


def rebuilt_from(env: dict[str, str], began: dict[tuple[str, int], int]) -> dict[bytes, Any]:
    no_matches = {where: offset for where, offset in began.items() if where[0] == MATCHES.name}
    rebuild(settings_of(env), start=began, until=no_matches, progress=False)
    return derived_state(redis.Redis.from_url(env["GIGSTREAM_REDIS_URL"]))


def test_a_rebuild_equals_the_live_built_state_and_sends_no_dead_letter_again(
    city: tuple[dict[str, str], dict[str, str], dict[tuple[str, int], int]],
    deadletters: DeadLetters,
) -> None:
    undisturbed, _, began = city
    live = derived_state(redis.Redis.from_url(undisturbed["GIGSTREAM_REDIS_URL"]))
    assert len(live) > 1000  # states, indexes, cards, markers: a city, not an empty database
    assert not (wrong := differences(rebuilt_from(undisturbed, began), live)), wrong
    assert deadletters.all_records() == []


def test_a_redis_flushed_mid_stream_and_rebuilt_equals_the_undisturbed_state(
    city: tuple[dict[str, str], dict[str, str], dict[tuple[str, int], int]],
) -> None:
    undisturbed, flushed, began = city
    live = derived_state(redis.Redis.from_url(undisturbed["GIGSTREAM_REDIS_URL"]))
    flushed_db = redis.Redis.from_url(flushed["GIGSTREAM_REDIS_URL"])
    assert differences(derived_state(flushed_db), live)  # the flush lost the first half
    assert not (wrong := differences(rebuilt_from(flushed, began), live)), wrong


def test_a_rebuild_refuses_while_a_worker_runs_and_wipes_nothing(
    city: tuple[dict[str, str], dict[str, str], dict[tuple[str, int], int]],
    tmp_path: Path,
) -> None:
    undisturbed, _, began = city
    db = redis.Redis.from_url(undisturbed["GIGSTREAM_REDIS_URL"])
    before = derived_state(db)
    url = f"http://127.0.0.1:{undisturbed['GIGSTREAM_WEB_PORT']}"
    for _ in start("worker", {**undisturbed, "PYTHONPATH": str(ROOT)}, tmp_path, url):
        wait_for(lambda: group_has_members(undisturbed), "the worker in its group")
        with pytest.raises(RebuildError, match="stop every `gigstream worker` first"):
            rebuild(settings_of(undisturbed), start=began, progress=False)
        assert derived_state(db) == before


def test_the_rebuild_command_asks_before_it_wipes(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "rebuild"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "run it again with --yes" in done.stderr


def group_has_members(env: dict[str, str]) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=env["GIGSTREAM_KAFKA_BOOTSTRAP"])
    try:
        group = admin.describe_groups([env["GIGSTREAM_APP_ID"]])[env["GIGSTREAM_APP_ID"]]
        return bool(group["members"])
    finally:
        admin.close()
