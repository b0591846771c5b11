"""Faults with real processes against an oracle: a worker killed (-9) mid-stream and
restarted, one of two workers killed, and two workers against one.

Each test publishes a seeded city of about 300 messages in four phases — referents
(markets, seekers, jobs); changes (new jobs, updates, stale updates, withdrawals,
check-ins, applications, hires, exact duplicates, malformed messages); events that
must wait (for a job, market or seeker not known yet, some for ever); and their
referents — the group under test applying each phase before the next is published.
The data never lets the order in which the five topics interleave decide a result
(no check-in at a market that moves or is removed, one timestamp per event, an
entity's events published in the order of their occurred_at), so whatever order a
worker, a rebalance or a replay reads them in must end in the same state.

The oracle, twice over:
- the pure ledger: `processors.ledger.apply_batch` over every published message in
  the order published (`expect`), sharing no Kafka, Redis or Faust code with the
  workers, gives each entity's final state, the events still waiting, the refused
  messages with their reasons and each message's final outcome;
- an undisturbed replay of the same messages by `gigstream rebuild` (the worker's
  Pipeline and Store, without Faust or a consumer group) into Redis database 9 (the
  run under test writes database 8): the two dumps (`dump`: ops.rebuild's
  `derived_state` restricted to the run, with the change feed's last word on each
  entity) must be equal — states, geo and occupation indexes, cards, deadlines,
  applications, waiting events, event_id markers, the circle's feed. In the
  scale-out test the second group, one Faust worker, is the reference.
Dead letters are compared as sets, each group's period against the ledger's refused
messages and reasons: other sessions' workers read the same topics and dead-letter
this city's malformed messages too, in copies nothing tells apart.

"No push lost or duplicated" (test a): at-least-once delivery with Idempotency-Keys
allows one repeat per crash of `gigstream notify` (ops/notify.py). Here only the worker
is killed, and its replay is absorbed by the event_id markers before any match request
is written, so the allowance is zero: every push the matcher's dispatch decided (the
`gs:pushed` sets) reaches the webhook exactly once, with Idempotency-Key = its
notification_id; no push of the city reaches it twice; and every job open at the end,
those posted as the worker died included, was dispatched (its request was not lost).
Matchers of other sessions may push the same pairs (the id is the pair's hash): they
add records to the topic, never a second delivery.

How faust-streaming's known failure modes are kept out (streams/app.py):
- #606, offsets committed past a message still in processing, so that a crash loses
  it (agent concurrency > 1 leaves holes in the acked offsets, which the gap handling
  then skips): one agent, concurrency 1, and `take_events` acks a batch only after
  `Pipeline.process` returned — its states, markers and match requests written in one
  Redis transaction, its dead letters delivered. Test d kills a worker that commits at
  Faust's usual interval and checks that every message below the group's committed
  offsets has its marker or its dead letter (it fails if the agent lets a batch be
  acked before it is written); both kill tests end in the oracle's state.
- #378, commits stalled for good by offset gaps such as compaction leaves: faust
  0.15.3 tracks gaps, and our compacted topics keep every record for 7 days
  (min.compaction.lag.ms), so no test meets a compacted hole. Test a makes holes two
  offsets wide in gig.jobs after the restart (two transactions overlapping on one
  partition: their commit markers, which no consumer reads, lie back to back; Faust
  steps over a one-offset hole even without its gap tracking) and the restarted
  worker must commit past them (it stalls with the gap tracking switched off).
- #74 and #432, workers hanging in table recovery (#74: a full stream buffer during
  changelog recovery loops for ever; #432 is listed beside it in HARD-PARTS.md, its
  text was not at hand): no Faust tables and `store="memory://"`, so there is no
  changelog to recover; the state is in Redis. Tests a and d restart or rebalance a
  worker and it catches up, and no changelog topic exists for the group.

Kafka's consumer session timeout is 10 s here (Faust's BROKER_SESSION_TIMEOUT, 60 s by
default), so a killed worker leaves its group within seconds; the first incarnation of
the worker killed in test a commits offsets only every 600 s (BROKER_COMMIT_INTERVAL),
so its kill lands between "written" and "committed" every time instead of by chance.
"""

import asyncio
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
import redis
from aiohttp import web
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.partitioner.default import murmur2

from ops.offsets import (
    commit_group,
    end_offsets,
    input_end_offsets,
    positions,
    replayed_end_offsets,
)
from ops.rebuild import PENDING, derived_state, rebuild
from ops.settings import Settings, redis_database
from processors.ledger import (
    JOB,
    SEEKER,
    Incoming,
    Origin,
    Rules,
    World,
    apply_batch,
    refs_of,
)
from processors.outcome import Outcome
from processors.travel import MODES
from streams import changes, keys, requests
from streams.matcher import GROUP
from streams.store import STATE
from tests import factory
from tests.integration.conftest import (
    ROOT,
    Tail,
    Worker,
    differences,
    free_port,
    processed,
    stop,
    wait_for,
)
from topics.catalog import (
    APPLICATIONS,
    BY_NAME,
    CHECKINS,
    DEADLETTER,
    INPUT_TOPICS,
    JOBS,
    MARKETS,
    NOTIFICATIONS,
    SEEKERS,
)
from topics.envelope import Limits, Rejection, decode
from topics.fields import Point
from topics.outputs import notification_id

pytestmark = pytest.mark.integration

CFG = Settings()
SEED = 20261127
DB_UNDER_TEST, DB_ORACLE = 8, 9
# Joining a group waits out the session of a member killed in it.
DEADLINE_S = 120.0
CENTRE = Point(36.06, 103.83)  # Lanzhou: far from every other test's city
SEEKER_COUNT, JOB_COUNT, MARKET_COUNT = 80, 50, 5
FAST_REBALANCE = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1"}
PORT_SETTING = {
    "worker": "GIGSTREAM_WEB_PORT",
    "matcher": "GIGSTREAM_MATCHER_METRICS_PORT",
    "notify": "GIGSTREAM_NOTIFY_METRICS_PORT",
}

Position = tuple[str, int, int]  # topic, partition, offset


# The city ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes
    event_id: str | None  # None: malformed on purpose


@dataclass(frozen=True)
class Stored:
    """A message where the broker put it."""

    message: Message
    partition: int
    offset: int

    @property
    def position(self) -> Position:
        return (self.message.topic, self.partition, self.offset)

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.message.topic, self.partition)


def partition_of(key: bytes) -> int:
    """The partition the producer's default partitioner gives a key."""
    return int(murmur2(key) & 0x7FFFFFFF) % CFG.topic_partitions


class City:
    """A seeded city whose messages come in four phases; see the module's docstring."""

    def __init__(self, run: str, seed: int) -> None:
        self.run = run
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.t0 = self.now - timedelta(hours=1)
        self.count = 0
        self.occupations = [f"电工-{run}", f"焊工-{run}"]
        self.markets = [f"{run}-m{i}" for i in range(MARKET_COUNT)]
        self.seekers = [f"{run}-s{i:03d}" for i in range(SEEKER_COUNT)]
        self.jobs = [f"{run}-j{i:03d}" for i in range(JOB_COUNT)]
        self.late_jobs = [f"{run}-jlate{i}" for i in range(2)]
        self.late_market, self.late_seeker = f"{run}-mlate", f"{run}-slate"
        self.originals: list[Message] = []

    def message(self, topic: str, event: dict[str, Any], stale: bool = False) -> Message:
        """The event with an id of this run and a time of its own: later than every one
        before it, or (stale) earlier than all of them."""
        self.count += 1
        step = timedelta(seconds=self.count)
        moment = self.t0 - timedelta(hours=1) - step if stale else self.t0 + step
        event["event_id"] = f"{self.run}-e{self.count:04d}"
        event["occurred_at"] = moment.isoformat()
        key = BY_NAME[topic].key_of(event["data"])
        assert key is not None
        return Message(topic, key.encode(), orjson.dumps(event), event["event_id"])

    def bad(self, topic: str, key: str, value: bytes) -> Message:
        return Message(topic, f"{self.run}-{key}".encode(), value, None)

    def point(self, km: float = 4.0) -> dict[str, float]:
        deg = km / 111.0
        return {
            "lat": round(CENTRE.lat + self.rng.uniform(-deg, deg), 6),
            "lon": round(CENTRE.lon + self.rng.uniform(-deg, deg), 6),
        }

    def at(self, hours: float) -> str:
        return (self.now + timedelta(hours=hours)).isoformat()

    def wage(self) -> dict[str, Any]:
        if self.rng.random() < 0.8:
            return {"amount": self.rng.choice([160, 180, 200, 240, 300]), "unit": "day"}
        return {"amount": self.rng.choice([25, 30, 40]), "unit": "hour"}

    def profile(self) -> dict[str, Any]:
        start = self.rng.uniform(0, 20)
        window = [{"start": self.at(start), "end": self.at(start + 10)}]
        return {
            "occupations": self.rng.sample(self.occupations, self.rng.randint(1, 2)),
            "skills": self.rng.sample(["叉车", "电焊", "高空作业"], self.rng.randint(0, 2)),
            "home": self.point(),
            "travel_mode": self.rng.choice(MODES),
            "min_wage": self.rng.choice([None, self.wage()]),
            "available": self.rng.choice([[], window]),
            "push_opt_in": self.rng.random() < 0.85,
        }

    def posting(self, job_id: str, **fields: Any) -> dict[str, Any]:
        start = self.rng.uniform(1, 30)
        data = {
            "title": f"岗位{job_id[-4:]}",
            "occupation": self.rng.choice(self.occupations),
            "skills": self.rng.sample(["叉车", "电焊", "高空作业"], self.rng.randint(0, 2)),
            "headcount": self.rng.randint(1, 3),
            "wage": self.wage(),
            "location": {**self.point(), "district": "城关区"},
            "shift": {"start": self.at(start), "end": self.at(start + self.rng.uniform(4, 10))},
            **fields,
        }
        return factory.job_posted(job_id, **data)

    def market(self, market_id: str, name: str) -> dict[str, Any]:
        kind = "market" if name.endswith("0") else "station"
        return factory.market_upserted(
            market_id, name=name, kind=kind, location=self.point(), district="城关区"
        )

    def referents(self) -> list[Message]:
        out = [
            self.message(MARKETS.name, self.market(m, f"市场{i}"))
            for i, m in enumerate(self.markets)
        ]
        out += [
            self.message(SEEKERS.name, factory.seeker_registered(s, **self.profile()))
            for s in self.seekers
        ]
        out += [self.message(JOBS.name, self.posting(j)) for j in self.jobs]
        self.originals = out
        return out

    def changes(self) -> list[Message]:
        rng = self.rng
        # Jobs posted as the worker may die: the first request of each must not be lost.
        posted = [f"{self.run}-j{i:03d}" for i in range(len(self.jobs), len(self.jobs) + 6)]
        self.jobs += posted
        out = [self.message(JOBS.name, self.posting(job_id)) for job_id in posted]
        chosen = rng.sample(self.seekers, 25)
        for seeker_id in chosen[:15]:
            change = rng.choice(["skills", "home", "travel_mode", "min_wage", "push_opt_in"])
            data = {change: self.profile()[change]}
            out.append(self.message(SEEKERS.name, factory.seeker_updated(seeker_id, 0, **data)))
        for seeker_id in chosen[15:20]:
            older = factory.seeker_updated(seeker_id, 0, skills=["旧技能"])
            out.append(self.message(SEEKERS.name, older, stale=True))
        for seeker_id in chosen[20:25]:
            out.append(self.message(SEEKERS.name, factory.seeker_withdrawn(seeker_id, 0)))
        out += self.checkins()
        jobs = rng.sample(self.jobs, 17)
        for job_id in jobs[:10]:
            data = {"headcount": rng.randint(2, 4), "wage": self.wage(), "title": "新标题"}
            out.append(self.message(JOBS.name, factory.job_updated(job_id, 0, **data)))
        for job_id in jobs[10:13]:
            older = factory.job_updated(job_id, 0, title="旧标题")
            out.append(self.message(JOBS.name, older, stale=True))
        for job_id in jobs[13:17]:
            out.append(self.message(JOBS.name, factory.job_closed(job_id, 0)))
        out += self.applications()
        renamed = self.market(self.markets[1], "新名字")
        renamed["data"]["location"] = orjson.loads(self.originals[1].value)["data"]["location"]
        out.append(self.message(MARKETS.name, renamed))
        out += rng.sample(self.originals, 4)  # exact duplicates, as a producer retry sends
        return out + self.malformed()

    def checkins(self) -> list[Message]:
        out = []
        checked_in = self.rng.sample(self.seekers, 20)
        for i, seeker_id in enumerate(checked_in):
            # Never at the market that is removed later: there the order would decide.
            where = (
                {"market_id": self.rng.choice(self.markets[:4])}
                if i % 2
                else {"location": self.point()}
            )
            until = self.at(self.rng.uniform(2, 10))
            event = factory.checkin(seeker_id, 0, available_until=until, **where)
            out.append(self.message(CHECKINS.name, event))
        for seeker_id in checked_in[:5]:
            out.append(self.message(CHECKINS.name, factory.checkout(seeker_id, 0)))
        return out

    def applications(self) -> list[Message]:
        rng, out = self.rng, []
        submitted = []
        for i in range(24):
            application = (f"{self.run}-a{i:03d}", rng.choice(self.jobs), rng.choice(self.seekers))
            submitted.append(application)
            event = factory.application_submitted(*application)
            out.append(self.message(APPLICATIONS.name, event))
        for application_id, job_id, _ in submitted[:4]:
            event = factory.application_withdrawn(application_id, 0)
            event["data"]["job_id"] = job_id  # keyed by the job, like its submission
            out.append(self.message(APPLICATIONS.name, event))
        for job_id, seeker_id in [(j, s) for _, j, s in submitted[4:12]] + [submitted[4][1:]]:
            out.append(self.message(APPLICATIONS.name, factory.hire_confirmed(job_id, seeker_id)))
        return out

    def malformed(self) -> list[Message]:
        far = factory.job_posted(f"{self.run}-jbad0", location={"lat": 95.2, "lon": 103.8})
        future = factory.job_posted(f"{self.run}-jbad1")
        future["occurred_at"] = "2999-01-01T00:00:00+08:00"
        plane = factory.seeker_registered(f"{self.run}-sbad0", travel_mode="plane")
        unknown = factory.checkin(f"{self.run}-sbad1")
        unknown["type"] = "checkin.teleported"
        no_seeker = factory.hire_confirmed(f"{self.run}-j000", "")
        del no_seeker["data"]["seeker_id"]
        return [
            self.bad(JOBS.name, "jbad0", orjson.dumps(far)),
            self.bad(JOBS.name, "jbad1", orjson.dumps(future)),
            self.bad(JOBS.name, "jbad2", b""),
            self.bad(SEEKERS.name, "sbad0", orjson.dumps(plane)),
            self.bad(SEEKERS.name, "sbad2", b"{oops"),
            self.bad(CHECKINS.name, "sbad1", orjson.dumps(unknown)),
            self.bad(APPLICATIONS.name, "j000", orjson.dumps(no_seeker)),
            self.bad(MARKETS.name, "m-wrong", orjson.dumps(self.market(f"{self.run}-m0x", "错"))),
        ]

    def waiting(self) -> list[Message]:
        """Events whose referent comes in the next phase, or never."""
        rng, out = self.rng, []
        hired = rng.sample(self.seekers, 3)
        for job_id, seeker_id in zip(
            [self.late_jobs[0]] * 2 + [self.late_jobs[1]], hired, strict=True
        ):
            out.append(self.message(APPLICATIONS.name, factory.hire_confirmed(job_id, seeker_id)))
        never_job = f"{self.run}-jnever"
        out.append(self.message(JOBS.name, factory.job_updated(never_job, 0, title="无")))
        late, never = rng.sample(self.seekers, 2)
        event = factory.checkin(late, 0, market_id=self.late_market, available_until=self.at(6))
        out.append(self.message(CHECKINS.name, event))
        event = factory.checkin(never, 0, market_id=f"{self.run}-mnever")
        out.append(self.message(CHECKINS.name, event))
        update = factory.seeker_updated(self.late_seeker, 0, skills=["电焊"])
        out.append(self.message(SEEKERS.name, update))
        withdrawn = factory.application_withdrawn(f"{self.run}-anever", 0)
        out.append(self.message(APPLICATIONS.name, withdrawn))
        out.append(self.message(MARKETS.name, factory.market_removed(self.markets[4], 0)))
        return out

    def arrivals(self) -> tuple[list[Message], list[Message]]:
        """The waiting events' referents: the jobs' messages and the others'."""
        jobs = [
            self.message(JOBS.name, self.posting(self.late_jobs[0], headcount=2)),
            self.message(JOBS.name, self.posting(self.late_jobs[1], headcount=3)),
        ]
        for job_id in self.rng.sample(self.jobs, 3):
            jobs.append(self.message(JOBS.name, factory.job_updated(job_id, 0, title="再改")))
        market = self.market(self.late_market, "迟到的驿站")
        seeker = factory.seeker_registered(self.late_seeker, **self.profile())
        others = [self.message(MARKETS.name, market), self.message(SEEKERS.name, seeker)]
        return jobs, others

    def job_on(self, partition: int) -> Message:
        """A new job whose key the producer puts on the given partition of gig.jobs."""
        job_id = next(
            job_id
            for k in range(10_000)
            if partition_of((job_id := f"{self.run}-jon{partition}-{k}").encode()) == partition
            and job_id not in self.jobs
        )
        self.jobs.append(job_id)
        return self.message(JOBS.name, self.posting(job_id))

    def all_seekers(self) -> list[str]:
        return [*self.seekers, self.late_seeker]

    def all_jobs(self) -> list[str]:
        return [*self.jobs, *self.late_jobs]


class Feed:
    """Publishes messages one by one and keeps where the broker put each."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer
        self.stored: list[Stored] = []

    def publish(self, messages: list[Message]) -> list[Stored]:
        out = []
        for message in messages:
            sent = self.producer.send(message.topic, key=message.key, value=message.value)
            meta = sent.get(timeout=30)
            out.append(Stored(message, meta.partition, meta.offset))
        self.stored += out
        return out

    def publish_overlapping(
        self, messages: list[Message], city: City, bootstrap: str
    ) -> list[Stored]:
        """Each message and a new job on its partition in two transactions that overlap:
        both records, then both commit markers, which no consumer ever reads, so the
        partition gets a hole two offsets wide, as compaction leaves."""
        producers = [
            KafkaProducer(
                bootstrap_servers=bootstrap, transactional_id=f"faults-{uuid.uuid4().hex}"
            )
            for _ in range(2)
        ]
        out = []
        try:
            for producer in producers:
                producer.init_transactions()
            for message in messages:
                partner = city.job_on(partition_of(message.key))
                for producer, one in zip(producers, (message, partner), strict=True):
                    producer.begin_transaction()
                    meta = producer.send(one.topic, key=one.key, value=one.value).get(30)
                    out.append(Stored(one, meta.partition, meta.offset))
                for producer in producers:
                    producer.commit_transaction()
        finally:
            for producer in producers:
                producer.close()
        self.stored += out
        return out

    def in_background(self, messages: list[Message]) -> threading.Thread:
        thread = threading.Thread(target=self.publish, args=(messages,), daemon=True)
        thread.start()
        return thread


# The oracle ----------------------------------------------------------------------------


@dataclass
class Expected:
    states: dict[str, Any]  # state key -> the state as JSON
    waiting: dict[str, set[str]]  # pending key -> event_ids
    refused: dict[Position, str]  # -> why
    outcomes: Counter[tuple[str, str]]  # (topic, final outcome) -> messages


def expect(stored: list[Stored]) -> Expected:
    """What the pure ledger makes of the messages, applied in the order published."""
    now = datetime.now(UTC)
    limits = Limits(CFG.max_message_bytes, timedelta(seconds=CFG.max_future_skew_s))
    batch, refused = [], {}
    for one in stored:
        m = one.message
        decoded = decode(BY_NAME[m.topic], m.key, m.value, now, limits)
        if isinstance(decoded, Rejection):
            refused[one.position] = decoded.reason
            continue
        batch.append(
            Incoming(decoded, Origin(m.topic, one.partition, one.offset, m.key, m.value, 0))
        )
    assert set(refused) == {one.position for one in stored if one.message.event_id is None}
    world = World({ref: None for ref in refs_of(i.event for i in batch)}, {}, set())
    final: dict[Position, str] = {}
    for applied in apply_batch(world, batch, Rules(CFG.checkin_stay_s * 1000)):
        origin = applied.incoming.origin
        final[(origin.topic, origin.partition, origin.offset)] = applied.result.outcome.value
    outcomes = Counter((position[0], outcome) for position, outcome in final.items())
    outcomes.update((topic, Outcome.REJECTED.value) for topic, _, _ in refused)
    return Expected(
        {
            keys.state(ref): orjson.loads(msgspec.json.encode(state))
            for ref, state in world.states.items()
            if state is not None
        },
        {
            keys.pending(ref): {i.event.event_id for i in queue}
            for ref, queue in world.pending.items()
            if queue
        },
        refused,
        outcomes,
    )


def dump(db: redis.Redis, run: str) -> dict[bytes, Any]:
    """What the workers derived for this run: `ops.rebuild.derived_state` restricted to
    the run's keys and to its members of the global indexes, and the circle's change
    feed as its last entry per entity (derived_state leaves the feed out: how many
    entries an entity gets follows how its events fell into batches, its last does not).
    """
    mine = run.encode()
    dumped: dict[bytes, Any] = {}
    for key, value in derived_state(db).items():
        kept = value if mine in key else _members_of(value, mine)
        if kept:
            dumped[key] = kept
    last = {}
    for _, entry in db.xrange(keys.CHANGES):
        if mine in entry[changes.ID.encode()]:
            last[entry[changes.KIND.encode()], entry[changes.ID.encode()]] = entry
    dumped[keys.CHANGES.encode()] = last
    return dumped


def _members_of(value: Any, mine: bytes) -> Any:
    """A global hash's or index's members of the run; nothing of another run's string."""
    if isinstance(value, dict):
        return {member: v for member, v in value.items() if mine in member}
    if isinstance(value, set):
        return {member for member in value if mine in member}
    return None


def states_of(dumped: dict[bytes, Any]) -> dict[str, Any]:
    field = STATE.encode()
    return {
        key.decode(): orjson.loads(value[field])
        for key, value in dumped.items()
        if isinstance(value, dict) and field in value
    }


def waiting_of(dumped: dict[bytes, Any]) -> dict[str, set[str]]:
    return {
        key.decode(): {event_id.decode() for event_id in value}
        for key, value in dumped.items()
        if key.startswith(PENDING.encode())
    }


def requested(db: redis.Redis, run: str) -> set[tuple[str, str]]:
    """The jobs and seekers of the run that a match request was written for."""
    entries = db.xrange(keys.MATCH_REQUESTS)
    return {
        (kind, entity_id)
        for kind, entity_id, _ in (requests.parse(fields) for _, fields in entries)
        if run in entity_id
    }


def alive(dumped: dict[bytes, Any]) -> set[tuple[str, str]]:
    """The open jobs and active seekers: those with a matching card."""
    return {
        (kind, entity_id.decode())
        for kind, cards in ((JOB, keys.JOB_CARDS), (SEEKER, keys.SEEKER_CARDS))
        for entity_id in dumped.get(cards.encode(), {})
    }


# Processes, groups, the webhook ---------------------------------------------------------


class Fleet:
    """The processes a test starts, each in a folder of its own; all stopped at the end,
    killed if they do not stop, whatever happened."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[Worker] = []

    def start(self, command: str, env: dict[str, str], name: str) -> Worker:
        port = free_port()
        workdir = self.root / name
        workdir.mkdir()
        log = workdir / f"{command}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "ops.cli", command],
                cwd=workdir,
                env={**env, PORT_SETTING[command]: str(port), "PYTHONPATH": str(ROOT)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(Worker(process, f"http://127.0.0.1:{port}", log))
        return self.started[-1]

    @staticmethod
    def kill(worker: Worker) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed or committed."""
        worker.process.kill()
        worker.process.wait()

    def close(self) -> None:
        for worker in self.started:
            stop(worker.process)
            if worker.process.returncode not in (0, -9, -15):
                print(f"{worker.log}:\n{worker.log.read_text()[-5000:]}")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    processes = Fleet(tmp_path)
    try:
        yield processes
    finally:
        processes.close()


@pytest.fixture(scope="module")
def admin(live_stack: Settings) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=live_stack.kafka_bootstrap)
    yield client
    client.close()


@dataclass
class Group:
    """A consumer group of workers of its own, writing a Redis database of its own."""

    name: str
    env: dict[str, str]
    db: redis.Redis


def group(worker_env: dict[str, str], role: str, db_number: int, run: str) -> Group:
    """A consumer group of this run's own, writing a flushed Redis database."""
    name = f"gigstream-faults-{run}-{role}"
    url = redis_database(worker_env["GIGSTREAM_REDIS_URL"], db_number)
    db = redis.Redis.from_url(url)
    db.flushdb()  # this module's own database
    env = {
        **worker_env,
        **FAST_REBALANCE,
        "GIGSTREAM_APP_ID": name,
        "GIGSTREAM_REDIS_URL": url,
        "GIGSTREAM_PUSH_TIER_DELAY_S": "3600",  # one tier per job within a test
    }
    return Group(name, env, db)


def rebuilt(worker_env: dict[str, str], run: str, start: dict[TopicPartition, int]) -> redis.Redis:
    """The oracle's database: the input topics from `start` to their end replayed by
    `gigstream rebuild` (the worker's Pipeline and Store; no Faust, no consumer group)."""
    url = redis_database(worker_env["GIGSTREAM_REDIS_URL"], DB_ORACLE)
    db = redis.Redis.from_url(url)
    db.flushdb()  # this module's own database
    cfg = CFG.model_copy(
        update={
            "kafka_bootstrap": worker_env["GIGSTREAM_KAFKA_BOOTSTRAP"],
            "redis_url": url,
            "app_id": f"gigstream-faults-{run}-oracle",
        }
    )
    rebuild(cfg, start=positions(start), progress=False)
    return db


def committed(admin: KafkaAdminClient, name: str) -> dict[TopicPartition, int]:
    offsets = admin.list_group_offsets(name).get(name, {})
    return {tp: meta.offset for tp, meta in offsets.items()}


def caught_up(admin: KafkaAdminClient, name: str, ends: dict[TopicPartition, int]) -> bool:
    now = committed(admin, name)
    return all(now.get(tp, -1) >= end for tp, end in ends.items())


def assignments(admin: KafkaAdminClient, name: str) -> list[set[TopicPartition]]:
    """Each member's input partitions once the group is stable (none before)."""
    described = admin.describe_groups([name])[name]
    if described["group_state"] != "Stable":
        return []
    inputs = {topic.name for topic in INPUT_TOPICS}
    return [
        {
            TopicPartition(assigned["topic"], partition)
            for assigned in member["member_assignment"]["assigned_partitions"]
            if assigned["topic"] in inputs
            for partition in assigned["partitions"]
        }
        for member in described["members"]
    ]


def split_in_two(admin: KafkaAdminClient, name: str) -> list[set[TopicPartition]]:
    """The input partitions of each of two members once both hold some (else none)."""
    held = assignments(admin, name)
    return held if len(held) == 2 and all(held) else []


def written(db: redis.Redis, messages: Iterable[Message | Stored]) -> bool:
    """Every valid message's event_id marker is in the database (applied, stale, waiting
    or found a duplicate)."""
    ids = [m.event_id for m in (x.message if isinstance(x, Stored) else x for x in messages)]
    with db.pipeline(transaction=False) as pipe:
        for event_id in ids:
            if event_id is not None:
                pipe.exists(keys.seen(event_id))
        return all(pipe.execute())


def begun(db: redis.Redis, phase: list[Message], earlier: list[Message]) -> bool:
    """Whether a message of the phase that is not a copy of an earlier one is written."""
    copies = set(earlier)
    return any(written(db, [m]) for m in phase if m.event_id is not None and m not in copies)


def outcome_counts(worker: Worker) -> Counter[tuple[str, str]]:
    """Each input message's final outcome by topic, from a worker's metrics: a waiting
    message counts as what it became once its referent came. The worker that read the
    referent counts that, so one worker's count of waiting messages can be negative."""
    first: Counter[tuple[str, str]] = Counter()
    late: Counter[tuple[str, str]] = Counter()
    for sample in worker.scrape().samples:
        if sample.name == "gigstream_events_total":
            first[(sample.labels["topic"], sample.labels["outcome"])] += int(sample.value)
        elif sample.name == "gigstream_pending_resolved_total":
            late[(sample.labels["topic"], sample.labels["outcome"])] += int(sample.value)
    final = Counter(first)
    final.update(late)
    for (topic, _), n in late.items():
        final[(topic, Outcome.PENDING.value)] -= n
    return final


class Webhook:
    """A push receiver in this process (aiohttp, on a thread of its own): records the
    notification_id and the Idempotency-Key of every POST, and takes each one."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/push", self._take)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/push"

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            self.posts.append((body["notification_id"], request.headers.get("Idempotency-Key")))
        return web.Response()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


def stream_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


def requests_handled(db: redis.Redis, last: bytes) -> bool:
    """Every match request up to `last` taken and acknowledged by the matchers."""
    taken = [
        g for g in db.xinfo_groups(keys.MATCH_REQUESTS) if g["name"] in (GROUP, GROUP.encode())
    ]
    if not taken or stream_id(taken[0]["last-delivered-id"]) < stream_id(last):
        return False
    return not db.xpending_range(keys.MATCH_REQUESTS, GROUP, min="-", max=last, count=1)


def letters_of(
    tail: Tail, run: str, since_ms: int = 0, until_ms: int | None = None
) -> set[tuple[Position, str]]:
    """The run's dead letters of a period: where each refused message was, and why.

    As a set: the workers of other sessions read the same topics and dead-letter the
    run's messages too, copies no field tells apart from this run's own.
    """
    return {
        ((letter["topic"], letter["partition"], letter["offset"]), letter["reason"])
        for key, letter, at in tail.all_records()
        if key is not None
        and key.decode(errors="replace").startswith(run)
        and since_ms <= at
        and (until_ms is None or at < until_ms)
    }


def assert_committed_only_written(
    committed_at_kill: dict[TopicPartition, int],
    stored: list[Stored],
    db: redis.Redis,
    letters: set[Position],
) -> None:
    """Below the group's committed offsets every message was written (its marker) or
    dead-lettered: no commit ran ahead of the writes (faust-streaming #606)."""
    below = [s for s in stored if s.offset < committed_at_kill.get(s.tp, 0)]
    unwritten = [
        s.position for s in below if s.message.event_id is not None and not written(db, [s])
    ]
    unlettered = [
        s.position for s in below if s.message.event_id is None and s.position not in letters
    ]
    assert not unwritten and not unlettered, (unwritten, unlettered)


def next_record(bootstrap: str, tp: TopicPartition, offset: int) -> int:
    """The offset of the first record a consumer reads at or after the given offset."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        records = wait_for(lambda: consumer.poll(timeout_ms=200).get(tp), f"a record of {tp}")
        return int(records[0].offset)
    finally:
        consumer.close()


def no_changelog(admin: KafkaAdminClient, name: str) -> bool:
    return not [t for t in admin.list_topics() if t.startswith(name) and "changelog" in t]


def settled(
    admin: KafkaAdminClient, bootstrap: str, groups: dict[str, list[Worker]]
) -> tuple[dict[TopicPartition, int], dict[str, Counter[tuple[str, str]]]] | None:
    """The input topics' ends and each worker's outcome counts, taken while every group
    has committed all there is and nothing new arrives: then each worker has counted
    exactly the messages its group read (None while that is not so)."""
    ends = input_end_offsets(bootstrap)
    if not all(caught_up(admin, name, ends) for name in groups):
        return None
    counts = {w.url: outcome_counts(w) for workers in groups.values() for w in workers}
    if input_end_offsets(bootstrap) != ends:
        return None
    return ends, counts


def total(
    counts: dict[str, Counter[tuple[str, str]]], workers: list[Worker]
) -> Counter[tuple[str, str]]:
    """The workers' counts summed, negative ones included (Counter's + drops them)."""
    summed: Counter[tuple[str, str]] = Counter()
    for worker in workers:
        summed.update(counts[worker.url])
    return summed


def pushing(env: dict[str, str], webhook: Webhook) -> dict[str, str]:
    return {
        **env,
        "GIGSTREAM_NOTIFY_SENDER": "webhook",
        "GIGSTREAM_NOTIFY_WEBHOOK_URL": webhook.url,
        "GIGSTREAM_NOTIFY_RETRIES": "5",
        "GIGSTREAM_NOTIFY_BACKOFF_S": "0.02",
        "GIGSTREAM_NOTIFY_POLL_S": "0.2",
    }


def duplicates_counted(worker: Worker) -> float:
    return sum(
        worker.metric("gigstream_events_total", topic=topic.name, outcome=Outcome.DUPLICATE.value)
        for topic in INPUT_TOPICS
    )


def kill_in_second_phase(
    fleet: Fleet,
    worker: Worker,
    live: Group,
    city: City,
    feed: Feed,
    admin: KafkaAdminClient,
    letters: Tail,
) -> tuple[list[Message], dict[TopicPartition, int]]:
    """Publishes the second phase in the background and kills the worker (-9) as soon as
    it has written a message of it; checks that the group committed nothing unwritten.
    Returns the phase and the group's committed offsets at the kill."""
    phase = city.changes()
    publishing = feed.in_background(phase)
    wait_for(lambda: begun(live.db, phase, city.originals), "the second phase begun", DEADLINE_S)
    fleet.kill(worker)
    at_kill = committed(admin, live.name)
    publishing.join(timeout=DEADLINE_S)
    assert not publishing.is_alive()
    refused_so_far = {position for position, _ in letters_of(letters, city.run)}
    assert_committed_only_written(at_kill, feed.stored, live.db, refused_so_far)
    return phase, at_kill


def assert_as_the_oracles(
    db: redis.Redis, reference: redis.Redis, feed: Feed, run: str, letters: Tail, split_ms: int
) -> dict[bytes, Any]:
    """The run's state in db equals the reference's and the pure ledger's; the dead
    letters before split_ms (db's) and after it (the reference's) are the ledger's.
    Returns db's dump."""
    expected = expect(feed.stored)
    got = dump(db, run)
    assert not (wrong := differences(got, dump(reference, run))), wrong
    assert states_of(got) == expected.states
    assert waiting_of(got) == expected.waiting
    refused = set(expected.refused.items())
    assert letters_of(letters, run, until_ms=split_ms) == refused
    assert letters_of(letters, run, since_ms=split_ms) == refused
    return got


def test_a_worker_killed_mid_stream_ends_in_the_oracle_state_and_every_push_arrives_once(
    fleet: Fleet,
    webhook: Webhook,
    producer: KafkaProducer,
    admin: KafkaAdminClient,
    worker_env: dict[str, str],
) -> None:
    """(a) A worker, with a matcher and notify (webhook) beside it, is killed (-9) while
    the second phase is being published, after writing events it had not committed,
    and restarted while publishing goes on; after it, gig.jobs gets offset holes.

    The restarted worker counts every event the first one wrote as a duplicate (the
    processors being idempotent, the state alone would not show a replay applied
    again), commits past the holes, and ends in the oracle's state with the oracle's
    dead letters; every push is delivered exactly once (module docstring).
    """
    run, bootstrap = uuid.uuid4().hex[:8], worker_env["GIGSTREAM_KAFKA_BOOTSTRAP"]
    city = City(run, SEED)
    live = group(worker_env, "live", DB_UNDER_TEST, run)
    start = replayed_end_offsets(bootstrap)
    commit_group(bootstrap, live.name, start)
    notify_group = f"{live.name}-notify"
    commit_group(bootstrap, notify_group, end_offsets(bootstrap, [NOTIFICATIONS.name]))
    letters = Tail(bootstrap, DEADLETTER.name)
    pushes = Tail(bootstrap, NOTIFICATIONS.name)
    feed = Feed(producer)
    first = fleet.start("worker", {**live.env, "BROKER_COMMIT_INTERVAL": "600"}, "worker-1")
    fleet.start("matcher", live.env, "matcher")
    fleet.start("notify", pushing(live.env, webhook), "notify")

    feed.publish(city.referents())
    wait_for(lambda: written(live.db, feed.stored), "the referents written", DEADLINE_S)
    second_phase, at_kill = kill_in_second_phase(fleet, first, live, city, feed, admin, letters)
    replayed = [
        s
        for s in feed.stored
        if s.offset >= at_kill[s.tp] and s.message.event_id and written(live.db, [s])
    ]
    assert replayed, "the kill came after writes not yet committed"

    second = fleet.start("worker", live.env, "worker-2")
    wait_for(lambda: written(live.db, second_phase), "the second phase written", DEADLINE_S)
    waiting = feed.publish(city.waiting())
    wait_for(lambda: written(live.db, waiting), "the waiting events written", DEADLINE_S)
    jobs, others = city.arrivals()
    in_transactions = feed.publish_overlapping(jobs, city, bootstrap)
    partners = in_transactions[1::2]
    feed.publish(others + [city.job_on(p) for p in sorted({s.partition for s in partners})])
    holes = [(s.tp, s.offset + 1) for s in partners]
    assert all(next_record(bootstrap, tp, offset) >= offset + 2 for tp, offset in holes)
    ends = input_end_offsets(bootstrap)
    wait_for(lambda: caught_up(admin, live.name, ends), "every message committed", DEADLINE_S)
    assert duplicates_counted(second) >= len(replayed)

    last = live.db.xinfo_stream(keys.MATCH_REQUESTS)["last-generated-id"]
    wait_for(lambda: requests_handled(live.db, last), "every match request handled", DEADLINE_S)
    pushed_end = end_offsets(bootstrap, [NOTIFICATIONS.name])
    wait_for(lambda: caught_up(admin, notify_group, pushed_end), "every push handled", DEADLINE_S)
    replay_from = int(time.time() * 1000)
    got = assert_as_the_oracles(
        live.db, rebuilt(worker_env, run, start), feed, run, letters, replay_from
    )
    pairs = {notification_id(s, j) for s in city.all_seekers() for j in city.all_jobs()}
    posts = [(nid, key) for nid, key in webhook.posts if nid in pairs]
    delivered = Counter(nid for nid, _ in posts)
    on_topic = {v["data"]["notification_id"] for _, v, _ in pushes.all_records()} & pairs
    decided = {
        notification_id(seeker.decode(), job_id)
        for job_id in city.all_jobs()
        for seeker in live.db.smembers(keys.pushed(job_id))
    }
    undispatched = [
        job_id
        for kind, job_id in alive(got)
        if kind == JOB and int(live.db.hget(keys.dispatch(job_id), "tier") or 0) < 1
    ]
    assert len(decided) > 20  # enough pushes for the count to mean something
    assert decided <= set(delivered) <= on_topic
    assert set(delivered.values()) == {1}
    assert all(key == nid for nid, key in posts)
    assert not undispatched
    assert no_changelog(admin, live.name)


def test_the_survivor_of_two_workers_takes_over_the_partitions_of_one_killed(
    fleet: Fleet, producer: KafkaProducer, admin: KafkaAdminClient, worker_env: dict[str, str]
) -> None:
    """(d) Two workers share the group; one is killed (-9) while the second phase is being
    published. The other takes over its partitions from the offsets it committed
    (nothing committed was unwritten), reads again what it had not committed, and the
    group ends in the oracle's state, with the oracle's dead letters."""
    run, bootstrap = uuid.uuid4().hex[:8], worker_env["GIGSTREAM_KAFKA_BOOTSTRAP"]
    city = City(run, SEED + 1)
    live = group(worker_env, "pair", DB_UNDER_TEST, run)
    start = replayed_end_offsets(bootstrap)
    commit_group(bootstrap, live.name, start)
    letters = Tail(bootstrap, DEADLETTER.name)
    feed = Feed(producer)
    doomed = fleet.start("worker", live.env, "worker-1")
    survivor = fleet.start("worker", live.env, "worker-2")
    halves = wait_for(
        lambda: split_in_two(admin, live.name), "both workers holding partitions", DEADLINE_S
    )
    assert not halves[0] & halves[1]

    feed.publish(city.referents())
    wait_for(lambda: written(live.db, feed.stored), "the referents written", DEADLINE_S)
    assert processed(doomed) > 0 and processed(survivor) > 0
    second_phase, _ = kill_in_second_phase(fleet, doomed, live, city, feed, admin, letters)

    wait_for(lambda: written(live.db, second_phase), "the second phase written", DEADLINE_S)
    waiting = feed.publish(city.waiting())
    wait_for(lambda: written(live.db, waiting), "the waiting events written", DEADLINE_S)
    jobs, others = city.arrivals()
    feed.publish(jobs + others)
    ends = input_end_offsets(bootstrap)
    wait_for(lambda: caught_up(admin, live.name, ends), "every message committed", DEADLINE_S)
    assert survivor.alive()
    assert assignments(admin, live.name) == [halves[0] | halves[1]] == [set(ends)]
    replay_from = int(time.time() * 1000)
    assert_as_the_oracles(live.db, rebuilt(worker_env, run, start), feed, run, letters, replay_from)
    assert no_changelog(admin, live.name)


def test_two_workers_reach_the_same_state_and_outputs_as_one(
    fleet: Fleet, producer: KafkaProducer, admin: KafkaAdminClient, worker_env: dict[str, str]
) -> None:
    """(6) Two workers of one group on the 6-partition topics take the city live, phase by
    phase; then one worker of another group reads it all from the same offsets.

    Equal: the dumps (and the ledger's states), the dead letters (the ledger's refused
    messages and reasons), each message's final outcome in the workers' counters summed
    over the group (every message of the period counted once), and a match request for
    every job and seeker alive at the end. Not compared: how many requests an entity got
    or whether one that ended closed or withdrawn got one: that follows how its events
    fell into batches.
    """
    run, bootstrap = uuid.uuid4().hex[:8], worker_env["GIGSTREAM_KAFKA_BOOTSTRAP"]
    city = City(run, SEED + 2)
    two = group(worker_env, "two", DB_UNDER_TEST, run)
    one = group(worker_env, "one", DB_ORACLE, run)
    commit_group(bootstrap, two.name, input_end_offsets(bootstrap))
    letters = Tail(bootstrap, DEADLETTER.name)
    feed = Feed(producer)
    pair = [fleet.start("worker", two.env, f"two-{i}") for i in (1, 2)]
    halves = wait_for(
        lambda: split_in_two(admin, two.name), "both workers holding partitions", DEADLINE_S
    )
    assert not halves[0] & halves[1]
    start, before = wait_for(
        lambda: settled(admin, bootstrap, {two.name: pair}), "the pair idle", DEADLINE_S
    )
    commit_group(bootstrap, one.name, start)

    referents = feed.publish(city.referents())
    wait_for(lambda: written(two.db, referents), "the referents written", DEADLINE_S)
    assert all(processed(w) > before[w.url].total() for w in pair)  # each had partitions
    for phase in (city.changes(), city.waiting()):
        stored = feed.publish(phase)
        wait_for(partial(written, two.db, stored), "a phase written", DEADLINE_S)
    jobs, others = city.arrivals()
    feed.publish(jobs + others)
    ends = input_end_offsets(bootstrap)
    wait_for(lambda: caught_up(admin, two.name, ends), "the pair committed all", DEADLINE_S)
    replay_from = int(time.time() * 1000)
    single = fleet.start("worker", one.env, "one")
    wait_for(lambda: caught_up(admin, one.name, ends), "the single worker caught up", DEADLINE_S)
    final, counts = wait_for(
        lambda: settled(admin, bootstrap, {two.name: pair, one.name: [single]}),
        "both groups idle",
        DEADLINE_S,
    )

    got = assert_as_the_oracles(two.db, one.db, feed, run, letters, replay_from)
    expected = expect(feed.stored)
    by_pair = total(counts, pair)
    by_pair.subtract(total(before, pair))
    by_one = total(counts, [single])
    assert by_pair == by_one
    assert sum(by_one.values()) == sum(final[tp] - start[tp] for tp in start)
    assert all(by_one[outcome] >= n for outcome, n in expected.outcomes.items())
    living = alive(got)
    assert len(living) > 50
    assert living <= requested(two.db, run) and living <= requested(one.db, run)
