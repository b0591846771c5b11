"""`gigstream notify` against the real broker and Redis, pushing to a real webhook receiver:
each push delivered once and not before its time, through a kill, outages and refusals."""

import asyncio
import random
import subprocess
import sys
import threading
import time
import urllib.error
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
import redis
from kafka import KafkaProducer
from redis.asyncio import Redis

from ops.notify import FAILED, HELD, Notifier, delivered_key, due_ms
from ops.offsets import commit_group, end_offsets
from ops.senders import DELIVERED, Outcome, Sent
from tests.integration.conftest import ROOT, Worker, free_port, wait_for
from topics.catalog import NOTIFICATIONS
from topics.fields import epoch_ms
from topics.outputs import NotificationRequested, encode_notification

pytestmark = pytest.mark.integration

# Joining a group can wait out the session of a consumer killed in it.
DEADLINE_S = 120.0


@dataclass(frozen=True)
class Post:
    notification_id: str
    idempotency_key: str | None
    at: float  # wall-clock seconds, when it arrived
    status: int


@dataclass
class Receiver:
    """A webhook receiver recording every POST; answer(id, nth) picks each answer's status.

    The first POST once `gate_after` have arrived, of an id not in `ungated`, gets no
    answer until `gate` is set: the push the consumer is killed in the middle of.
    """

    url: str = ""
    posts: list[Post] = field(default_factory=list)
    answer: Callable[[str, int], int] = lambda notification_id, nth: 200
    gate_after: int | None = None
    ungated: set[str] = field(default_factory=set)
    gated: str | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, notification_id: str, idempotency_key: str | None) -> int:
        with self.lock:
            nth = 1 + sum(post.notification_id == notification_id for post in self.posts)
            status = self.answer(notification_id, nth)
            self.posts.append(Post(notification_id, idempotency_key, time.time(), status))
            wait = (
                self.gate_after is not None
                and self.gated is None
                and len(self.posts) > self.gate_after
                and notification_id not in self.ungated
            )
            if wait:
                self.gated = notification_id
        if wait:
            self.gate.wait()
        return status

    def delivered(self) -> Counter[str]:
        with self.lock:
            return Counter(post.notification_id for post in self.posts if post.status < 300)

    def posts_of(self, notification_id: str) -> list[Post]:
        with self.lock:
            return [post for post in self.posts if post.notification_id == notification_id]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        notification_id = orjson.loads(body)["notification_id"]
        status = self.server.receiver.take(notification_id, self.headers["Idempotency-Key"])
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/push")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.receiver
    server.receiver.gate.set()
    server.shutdown()
    server.server_close()


class Notify:
    """`gigstream notify` as a process in a consumer group of its own, from the topic's end."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.log = workdir / "notify.log"
        self.metrics_url = f"http://127.0.0.1:{env['GIGSTREAM_NOTIFY_METRICS_PORT']}"
        self.process: subprocess.Popen[bytes] | None = None
        bootstrap = env["GIGSTREAM_KAFKA_BOOTSTRAP"]
        group = f"{env['GIGSTREAM_APP_ID']}-notify"
        commit_group(bootstrap, group, end_offsets(bootstrap, [NOTIFICATIONS.name]))

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ops.cli", "notify"],
                cwd=self.log.parent,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def metric(self, outcome: str) -> float:
        """gigstream_notifications_total of the running process (None until it serves)."""
        assert self.process is not None
        worker = Worker(self.process, self.metrics_url, self.log)
        try:
            return worker.metric("gigstream_notifications_total", outcome=outcome)
        except (urllib.error.URLError, ConnectionError):
            return -1.0


@pytest.fixture
def notify(
    worker_env: dict[str, str], receiver: Receiver, tmp_path: Path
) -> Iterator[Callable[..., Notify]]:
    started: list[Notify] = []

    def make(**settings: str) -> Notify:
        env = {
            **worker_env,
            "PYTHONPATH": str(ROOT),
            "GIGSTREAM_APP_ID": f"{worker_env['GIGSTREAM_APP_ID']}-{uuid.uuid4().hex[:6]}",
            "GIGSTREAM_LOG_LEVEL": "info",
            "GIGSTREAM_NOTIFY_SENDER": "webhook",
            "GIGSTREAM_NOTIFY_WEBHOOK_URL": receiver.url,
            "GIGSTREAM_NOTIFY_METRICS_PORT": str(free_port()),
            "GIGSTREAM_NOTIFY_TIMEOUT_S": "30",
            "GIGSTREAM_NOTIFY_RETRIES": "5",
            "GIGSTREAM_NOTIFY_BACKOFF_S": "0.02",
            "GIGSTREAM_NOTIFY_POLL_S": "0.2",
            **settings,
        }
        started.append(Notify(env, tmp_path))
        return started[-1]

    yield make
    receiver.gate.set()
    for consumer in started:
        if consumer.alive():
            consumer.stop()
    for consumer in started[:1]:  # they share one log
        print(consumer.log.read_text()[-5000:])


def notification(run: str, i: int, not_before: datetime, seeker: str = "") -> NotificationRequested:
    return NotificationRequested(
        f"n-{run}-{i}",
        seeker or f"seeker-{run}-{i % 40}",
        f"job-{run}-{i}",
        "push",
        f"快递员 {i}",
        "明早 8 点, 2.1 km",
        not_before,
    )


def send(producer: KafkaProducer, note: NotificationRequested) -> bytes:
    raw = encode_notification(note, datetime.now(UTC))
    producer.send(NOTIFICATIONS.name, key=note.seeker_id.encode(), value=raw)
    return raw


def test_every_push_is_delivered_once_and_not_before_its_time_through_a_kill(
    receiver: Receiver, notify: Callable[..., Notify], producer: KafkaProducer, db: redis.Redis
) -> None:
    """300 pushes, 6 of them held a few seconds, the consumer killed (-9) once mid-run.

    Every push arrives, none before its not_before, and duplicates ≤ kills (1): only the
    push in flight at the kill (taken by the receiver, its marker not yet written) may
    arrive twice, with the same Idempotency-Key. A record published twice, and
    malformed records between, change nothing.
    """
    consumer = notify()
    consumer.start()
    wait_for(lambda: consumer.metric("held") >= 0, "the consumer serving /metrics", DEADLINE_S)
    run = uuid.uuid4().hex[:8]
    rng = random.Random(20261127)
    now = datetime.now(UTC)
    held = set(rng.sample(range(300), 6))
    notes = [
        notification(
            run,
            i,
            now + timedelta(seconds=8)
            if i in held
            else now - timedelta(minutes=rng.randint(0, 120)),
        )
        for i in range(300)
    ]
    twice = notes[7]
    last = notification(run, 300, now, seeker=twice.seeker_id)
    receiver.gate_after = 60
    receiver.ungated = {twice.notification_id} | {notes[i].notification_id for i in held}
    # The held ones first, so they are normally waiting in Redis when the consumer is killed.
    held_raws = {notes[i].notification_id: send(producer, notes[i]) for i in held}
    producer.flush()
    wait_for(
        lambda: all(
            db.zscore(HELD, raw) or db.exists(delivered_key(notification_id))
            for notification_id, raw in held_raws.items()
        ),
        "the pushes held",
        DEADLINE_S,
    )
    for i, note in enumerate(notes):
        if i not in held:
            send(producer, note)
    producer.flush()

    gated = wait_for(lambda: receiver.gated, "the push in flight at the kill", DEADLINE_S)
    consumer.kill()
    receiver.gate.set()
    consumer.start()
    # After twice's partition (its seeker's): a copy, malformed records, then the last push.
    send(producer, twice)
    for value in (b"{oops", b'{"event_id": "x", "type": "notification.requested"}', None):
        producer.send(NOTIFICATIONS.name, key=twice.seeker_id.encode(), value=value)
    send(producer, last)
    producer.flush()

    expected = {note.notification_id for note in [*notes, last]}
    wait_for(lambda: expected <= set(receiver.delivered()), "every push", DEADLINE_S)
    wait_for(lambda: consumer.metric("malformed") >= 3, "malformed records counted", DEADLINE_S)
    delivered = receiver.delivered()
    repeats = {i: n - 1 for i, n in delivered.items() if i in expected and n > 1}
    assert sum(repeats.values()) <= 1, repeats
    assert set(repeats) <= {gated}
    assert delivered[twice.notification_id] == 1
    assert consumer.metric("duplicate") >= 1
    for i in held:
        note = notes[i]
        first = min(post.at for post in receiver.posts_of(note.notification_id))
        assert first >= note.not_before.timestamp(), note.notification_id
    assert all(
        post.idempotency_key == post.notification_id
        for i in expected
        for post in receiver.posts_of(i)
    )
    assert all(db.exists(delivered_key(i)) for i in expected)
    assert not [member for member in db.zrange(HELD, 0, -1) if run.encode() in member]
    assert consumer.alive()
    assert consumer.stop() == 0
    assert "stopped" in consumer.log.read_text()


def test_a_failing_receiver_gets_the_push_once_and_a_refused_push_is_recorded(
    receiver: Receiver, notify: Callable[..., Notify], producer: KafkaProducer, db: redis.Redis
) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC) - timedelta(minutes=1)
    flaky = notification(run, 0, now)
    refused = notification(run, 1, now, seeker=f"seeker-{run}")
    after = notification(run, 2, now, seeker=f"seeker-{run}")

    def answer(notification_id: str, nth: int) -> int:
        if notification_id == flaky.notification_id and nth <= 3:
            return 500
        return 400 if notification_id == refused.notification_id else 200

    receiver.answer = answer
    consumer = notify()
    consumer.start()
    for note in (flaky, refused, after):
        send(producer, note)
    producer.flush()

    wanted = {flaky.notification_id, after.notification_id}
    wait_for(lambda: wanted <= set(receiver.delivered()), "the flaky and the last push", DEADLINE_S)
    assert [post.status for post in receiver.posts_of(flaky.notification_id)] == [500] * 3 + [200]
    assert [post.status for post in receiver.posts_of(refused.notification_id)] == [400]
    assert db.hget(FAILED, refused.notification_id) == b"HTTP 400"
    assert not db.exists(delivered_key(refused.notification_id))
    wait_for(lambda: consumer.metric("failed") >= 1, "the refusal counted", DEADLINE_S)
    assert consumer.alive()


class Script:
    """A sender answering from a script (then DELIVERED), recording what it was asked."""

    def __init__(self, *answers: Sent) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    async def send(self, notification: NotificationRequested) -> Sent:
        self.sent.append(notification.notification_id)
        return self.answers.pop(0) if self.answers else DELIVERED

    async def close(self) -> None:
        return None


class Clock:
    # Far in the past, so the held pushes of live consumers sharing the db are never due here.
    def __init__(self) -> None:
        self.now = datetime(2001, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def in_process(
    worker_env: dict[str, str], sender: Script, clock: Clock, stop: asyncio.Event | None = None
) -> tuple[Redis, Notifier]:
    client = Redis.from_url(worker_env["GIGSTREAM_REDIS_URL"])
    notifier = Notifier(
        client,
        sender,
        stop or asyncio.Event(),
        delivered_ttl_s=600,
        lease_s=30,
        retry_after_s=10,
        clock=clock,
    )
    return client, notifier


async def test_a_push_is_held_until_its_not_before_by_the_clock(
    worker_env: dict[str, str], db: redis.Redis
) -> None:
    clock, sender = Clock(), Script()
    client, notifier = await in_process(worker_env, sender, clock)
    note = notification(uuid.uuid4().hex[:8], 0, clock.now + timedelta(minutes=5))
    raw = encode_notification(note, clock.now)
    try:
        await notifier.handle(raw, "test")
        assert db.zscore(HELD, raw) == due_ms(note)
        clock.now += timedelta(minutes=5) - timedelta(milliseconds=1)
        await notifier.deliver_due(10)
        assert sender.sent == []
        clock.now += timedelta(milliseconds=1)
        await notifier.deliver_due(10)
        assert sender.sent == [note.notification_id]
        assert db.zscore(HELD, raw) is None
        assert db.exists(delivered_key(note.notification_id))
        await notifier.handle(raw, "test")
        assert sender.sent == [note.notification_id]
    finally:
        await client.aclose()


async def test_an_unavailable_receiver_is_left_alone_then_tried_again(
    worker_env: dict[str, str], db: redis.Redis
) -> None:
    clock, sender = Clock(), Script(Sent(Outcome.UNAVAILABLE, "HTTP 503 (6 attempts)"))
    client, notifier = await in_process(worker_env, sender, clock)
    run = uuid.uuid4().hex[:8]
    first, second = (notification(run, i, clock.now) for i in range(2))
    try:
        for note in (first, second):
            await notifier.handle(encode_notification(note, clock.now), "test")
        assert sender.sent == [first.notification_id]
        clock.now += timedelta(seconds=9)
        await notifier.deliver_due(10)
        assert sender.sent == [first.notification_id]
        clock.now += timedelta(seconds=1)
        await notifier.deliver_due(10)
        assert sorted(sender.sent) == sorted([first.notification_id] * 2 + [second.notification_id])
        assert all(db.exists(delivered_key(n.notification_id)) for n in (first, second))
    finally:
        await client.aclose()


async def test_a_push_claimed_by_a_consumer_that_died_comes_back_after_the_lease(
    worker_env: dict[str, str], db: redis.Redis
) -> None:
    clock, sender = Clock(), Script()
    client, notifier = await in_process(worker_env, sender, clock)
    note = notification(uuid.uuid4().hex[:8], 0, clock.now)
    raw = encode_notification(note, clock.now)
    now_ms = epoch_ms(clock.now)
    try:
        db.zadd(HELD, {raw: now_ms})
        assert await notifier.claim(keys=[HELD], args=[now_ms, now_ms + 30_000]) == raw
        await notifier.deliver_due(10)
        assert sender.sent == []
        clock.now += timedelta(seconds=30)
        await notifier.deliver_due(10)
        assert sender.sent == [note.notification_id]
    finally:
        await client.aclose()
