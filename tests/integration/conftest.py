"""The real stack for integration tests: Kafka and Redis from ops.stack, a real worker process.

The session brings the stack up if it is not up (and stops only what it
started), flushes a Redis database of its own, and starts one worker in a
consumer group of its own whose offsets are set to the end of every input
topic first, so the worker sees exactly the events this session publishes.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ops import stack
from ops.offsets import commit_group, input_end_offsets
from ops.settings import Settings, redis_database
from streams import keys
from topics.catalog import BY_NAME, DEADLETTER, MATCHES, NOTIFICATIONS
from topics.fields import Point

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 60.0
OWN_STACK_HEAP = "256m"
TEST_REDIS_DB = 15
API_TOKEN = f"test-token-{uuid.uuid4().hex}"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
T = TypeVar("T")


def wait_for(check: Callable[[], T], what: str, deadline_s: float = DEADLINE_S) -> T:
    """Polls until check() returns something truthy; fails naming what never happened."""
    end = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline_s:.0f}s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_pair(first: int) -> int:
    """The first port from `first` on that is free together with the next (the controller's)."""
    for port in range(first, first + 200, 2):
        if _free(port) and _free(port + 1):
            return port
    raise AssertionError(f"no two free ports in a row from {first}")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def share_jars(resolved: Path, libs: Path) -> None:
    """Links the shared stack's jars in (its marker too), so no Maven run is needed;
    without them the stack resolves its own."""
    if not (resolved / ".complete").is_file():
        return
    libs.mkdir(parents=True)
    for jar in resolved.glob("*.jar"):
        (libs / jar.name).symlink_to(jar)
    shutil.copy(resolved / ".complete", libs / ".complete")


@contextmanager
def stack_of_its_own(
    base: Settings, home: Path, first_port: int, **settings: Any
) -> Iterator[tuple[Settings, list[str]]]:
    """A broker of a test's own, as `gigstream stack up` starts one, in home on the first two
    free ports from first_port, with the shared stack's jars and a small heap; stopped at the
    end. Yields its settings and every line `stack up` and `stack down` printed."""
    share_jars(ROOT / base.stack_dir / "kafka" / "libs", home / "kafka" / "libs")
    cfg = Settings(
        kafka_bootstrap=f"127.0.0.1:{free_port_pair(first_port)}",
        stack_dir=home,
        kafka_heap=OWN_STACK_HEAP,
        **settings,
    )
    lines: list[str] = []
    try:
        lines += stack.up(cfg)
        yield cfg, lines
    finally:
        lines += stack.down(cfg)  # only what this stack started: a reused Redis stays


Region = tuple[tuple[float, float], tuple[float, float]]


def is_clear(db: redis.Redis, centre: Point, indexes: tuple[str, ...], clear_km: float) -> bool:
    """Nothing of any of the indexes lies within clear_km of the centre."""
    return not any(
        db.geosearch(
            index, longitude=centre.lon, latitude=centre.lat, radius=clear_km, unit="km", count=1
        )
        for index in indexes
    )


def clear_spot(
    db: redis.Redis, seed: str, region: Region, indexes: tuple[str, ...], clear_km: float
) -> Point:
    """A random clear point of the region: a test city there sees no other test's data."""
    rng = random.Random(seed)
    (south, north), (west, east) = region
    for _ in range(100):
        centre = Point(rng.uniform(south, north), rng.uniform(west, east))
        if is_clear(db, centre, indexes, clear_km):
            return centre
    raise AssertionError(f"no clear spot for a test city in {region}: flush Redis db 15")


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def live_stack(base_settings: Settings) -> Iterator[Settings]:
    started = not stack.is_up(base_settings)
    if started:
        for line in stack.up(base_settings):
            print(line)
    else:
        stack.create_topics(base_settings)
    yield base_settings
    if started:
        stack.down(base_settings)


@pytest.fixture(scope="session", autouse=True)
def outputs_at_start(live_stack: Settings) -> dict[TopicPartition, int]:
    """Where the output topics ended when the session began: what came later is this session's."""
    consumer = KafkaConsumer(bootstrap_servers=live_stack.kafka_bootstrap)
    partitions = [
        TopicPartition(topic.name, p)
        for topic in (MATCHES, NOTIFICATIONS)
        for p in consumer.partitions_for_topic(topic.name) or ()
    ]
    ends: dict[TopicPartition, int] = consumer.end_offsets(partitions)
    consumer.close()
    return ends


@pytest.fixture(scope="session")
def worker_env(live_stack: Settings) -> dict[str, str]:
    run_id = uuid.uuid4().hex[:8]
    redis_url = redis_database(live_stack.redis_url, TEST_REDIS_DB)
    return {
        **os.environ,
        "GIGSTREAM_APP_ID": f"gigstream-test-{run_id}",
        "GIGSTREAM_REDIS_URL": redis_url,
        "GIGSTREAM_WEB_PORT": str(free_port()),
        "GIGSTREAM_KAFKA_BOOTSTRAP": live_stack.kafka_bootstrap,
        "GIGSTREAM_API_TOKENS": API_TOKEN,
        # Tests run at any hour: no quiet hours, and tiers a few seconds apart.
        "GIGSTREAM_PUSH_QUIET_FROM": "00:00",
        "GIGSTREAM_PUSH_QUIET_UNTIL": "00:00",
        "GIGSTREAM_PUSH_TIER_DELAY_S": "3",
    }


@pytest.fixture(scope="session")
def db(worker_env: dict[str, str]) -> redis.Redis:
    # Not flushed: every test uses ids of its own, and another session may share the db.
    return redis.Redis.from_url(worker_env["GIGSTREAM_REDIS_URL"])


def start_group_at_end(bootstrap: str, group: str) -> None:
    commit_group(bootstrap, group, input_end_offsets(bootstrap))


@dataclass
class Worker:
    """A running `gigstream` process: its HTTP base URL and its log file."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def serving(self) -> bool:
        """Whether its HTTP server answers yet; a process that died fails the test here."""
        assert self.alive(), f"{self.log.stem} died"
        try:
            urllib.request.urlopen(f"{self.url}/metrics", timeout=5).close()
        except OSError:
            return False
        return True

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the worker's /metrics (0 when not exported yet)."""
        return self.scrape().value(name, **labels)

    def scrape(self, timeout_s: float = 5) -> "Scrape":
        text = urllib.request.urlopen(f"{self.url}/metrics", timeout=timeout_s).read().decode()
        families = text_string_to_metric_families(text)
        return Scrape([sample for family in families for sample in family.samples])


@dataclass(frozen=True)
class Scrape:
    """One reading of a process's /metrics: a poll that reads many samples scrapes once,
    as every scrape takes the process's event loop a while."""

    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """One sample (0 when not exported yet)."""
        return next(
            (
                float(s.value)
                for s in self.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
            ),
            0.0,
        )


def processed(worker: Worker) -> float:
    """Messages that reached their first outcome, whatever it was (0 before it serves)."""
    try:
        scrape = worker.scrape()
    except OSError:
        return 0.0
    return sum(sample.value for sample in scrape.samples if sample.name == "gigstream_events_total")


def wait_counted(
    worker: Worker, db: redis.Redis, count: int, deadline_s: float = DEADLINE_S
) -> None:
    """Waits until the worker processed count messages and its sweep counted again every
    figure due by now (a place that changed makes every seeker due: their nearest place
    may be another), so that its state in db can be compared with a rebuild's."""
    wait_for(lambda: processed(worker) >= count, f"{count:,} messages applied", deadline_s)
    wait_for(
        lambda: db.zcount(keys.DUE_FIGURES, "-inf", time.time() * 1000) == 0,
        "the figures counted again",
    )


def differences(got: dict[bytes, Any], wanted: dict[bytes, Any]) -> list[str]:
    """The keys where two states differ, a few of them with both sides, for a failure message."""
    keys = sorted(k for k in got.keys() | wanted.keys() if got.get(k) != wanted.get(k))
    return [f"{k!r}: {got.get(k)!r} != {wanted.get(k)!r}" for k in keys[:5]] + (
        [f"... {len(keys)} keys in all"] if len(keys) > 5 else []
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminates a process, killing it if it has not ended within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start(command: str, env: dict[str, str], workdir: Path, url: str) -> Iterator["Worker"]:
    """A `gigstream <command>` process, stopped (and its log shown if it failed) at the end."""
    log = (workdir / f"{command}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", command],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield Worker(process, url, workdir / f"{command}.log")
    stop(process)
    log.close()
    if process.returncode not in (0, -15):
        print((workdir / f"{command}.log").read_text()[-5000:])


@pytest.fixture(scope="session")
def worker(worker_env: dict[str, str], db: redis.Redis, tmp_path_factory: Any) -> Iterator[Worker]:
    """A running worker process of its own consumer group."""
    start_group_at_end(worker_env["GIGSTREAM_KAFKA_BOOTSTRAP"], worker_env["GIGSTREAM_APP_ID"])
    url = f"http://127.0.0.1:{worker_env['GIGSTREAM_WEB_PORT']}"
    for running in start("worker", worker_env, tmp_path_factory.mktemp("worker"), url):
        wait_for(running.serving, "the worker serving HTTP")
        yield running


@pytest.fixture(scope="session")
def matcher(worker_env: dict[str, str], worker: Worker, tmp_path_factory: Any) -> Iterator[Worker]:
    """A running matcher process, taking the worker's match requests; its /metrics at url."""
    port = free_port()
    env = {**worker_env, "GIGSTREAM_MATCHER_METRICS_PORT": str(port)}
    yield from start("matcher", env, tmp_path_factory.mktemp("matcher"), f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def circle(worker_env: dict[str, str], tmp_path_factory: Any) -> Iterator[Worker]:
    """A running circle process: the live coverage, /circle/coverage and /circle/gaps at url."""
    port = free_port()
    env = {**worker_env, "GIGSTREAM_CIRCLE_PORT": str(port), "GIGSTREAM_CIRCLE_GAPS_EVERY_S": "2"}
    yield from start("circle", env, tmp_path_factory.mktemp("circle"), f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def producer(live_stack: Settings) -> Iterator[KafkaProducer]:
    client = KafkaProducer(bootstrap_servers=live_stack.kafka_bootstrap, acks="all")
    yield client
    client.close()


class Publisher:
    """Publishes as an upstream system would: plain bytes, keyed by the contract."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer

    def event(self, topic: str, event: dict[str, Any]) -> None:
        key = BY_NAME[topic].key_of(event["data"])
        self.raw(topic, key.encode() if key else None, orjson.dumps(event))

    def raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.producer.send(topic, key=key, value=value).get(timeout=30)


@pytest.fixture
def publish(producer: KafkaProducer, worker: Worker, deadletters: "DeadLetters") -> Publisher:
    return Publisher(producer)


class Tail:
    """Reads one topic from where it ended when the reader was made."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        partitions = [
            TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or ()
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end()
        for partition in partitions:
            self.consumer.position(partition)
        self.seen: list[tuple[bytes | None, dict[str, Any], int]] = []

    def records(self) -> list[tuple[bytes | None, dict[str, Any], int]]:
        """Every record so far: key, decoded value, Kafka timestamp (ms)."""
        for records in self.consumer.poll(timeout_ms=200).values():
            self.seen.extend((r.key, orjson.loads(r.value), r.timestamp) for r in records)
        return self.seen

    def all_records(self) -> list[tuple[bytes | None, dict[str, Any], int]]:
        """Every record up to the topic's end as of now."""
        partitions = list(self.consumer.assignment())
        ends = self.consumer.end_offsets(partitions)
        wait_for(
            lambda: (
                self.records() is not None
                and all(self.consumer.position(tp) >= ends[tp] for tp in partitions)
            ),
            "the topic read to its end",
        )
        return self.seen


class DeadLetters(Tail):
    """Reads gig.deadletter from where it ended when the reader was made."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(bootstrap, DEADLETTER.name)

    def for_key(self, key: bytes) -> list[dict[str, Any]]:
        return [record for k, record, _ in self.records() if k == key]


@pytest.fixture
def deadletters(live_stack: Settings) -> Iterator[DeadLetters]:
    """gig.deadletter from where it ended when the test began: a test reads only its own
    period, not the hundred thousand dead letters of the hostile-input test."""
    reader = DeadLetters(live_stack.kafka_bootstrap)
    yield reader
    reader.consumer.close()
