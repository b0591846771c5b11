"""End-to-end push latency: from producing job.posted to its first push on gig.notifications.

A city of seekers and open jobs is loaded into a Redis database of its own
through the real write path; then a real worker runs on it while the city
simulator publishes background events at a fixed rate, and probe jobs are
posted one at a time, each timed until its first notification.requested is
read back from Kafka. A probe no seeker fits, or one stuck behind a backlog
for more than PROBE_WAIT_S, is counted apart; `settled` says whether the
pipeline kept up with the rate at all (a few probes in a row pushed within a
second) before the probes were timed.
"""

import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench import circle
from ops.offsets import commit_group, input_end_offsets
from ops.settings import Settings, redis_database
from ops.simulator.city import OCCUPATIONS
from streams import keys
from topics.catalog import NOTIFICATIONS

ROOT = Path(__file__).resolve().parents[1]
MATCHING_REDIS_DB = 11
PORT = 6198
PROBE_WAIT_S = 10.0
# Settled: this many probes in a row each pushed within SETTLED_S.
WARM_PROBES = 3
SETTLED_S = 1.0
WARM_UP_DEADLINE_S = 180.0
UNSETTLED_PROBES = 5


def main(cfg: Settings, seekers: int, jobs: int, rates: list[int], probes: int) -> dict[str, Any]:
    redis_url = redis_database(cfg.redis_url, MATCHING_REDIS_DB)
    db = redis.Redis.from_url(redis_url)
    began = time.perf_counter()
    circle.load_city(redis_url, jobs, seekers, seed=13)
    db.delete(keys.MATCH_REQUESTS)  # the loaded city is the background, not the probes
    figures: dict[str, Any] = {
        "seekers": seekers,
        "open_jobs": jobs,
        "load_seconds": round(time.perf_counter() - began, 1),
    }
    for rate in rates:
        figures[f"at_{rate}_events_per_s"] = _at_rate(cfg, redis_url, rate, probes)
    db.flushdb()
    return figures


def _at_rate(cfg: Settings, redis_url: str, rate: int, probes: int) -> dict[str, Any]:
    group = f"gigstream-bench-match-{uuid.uuid4().hex[:8]}"
    commit_group(cfg.kafka_bootstrap, group, input_end_offsets(cfg.kafka_bootstrap))
    env = {
        "GIGSTREAM_APP_ID": group,
        "GIGSTREAM_REDIS_URL": redis_url,
        "GIGSTREAM_WEB_PORT": str(PORT),
        "GIGSTREAM_MATCHER_METRICS_PORT": str(PORT + 1),
        "GIGSTREAM_LOG_LEVEL": "warn",
        # Every probe is a first tier at any hour, never held back by a limit.
        "GIGSTREAM_PUSH_QUIET_FROM": "00:00",
        "GIGSTREAM_PUSH_QUIET_UNTIL": "00:00",
        "GIGSTREAM_PUSH_PER_HOUR": "1000000",
    }
    log = (ROOT / ".stack" / f"bench-matching-{rate}.log").open("wb")
    me = [sys.executable, "-m", "ops.cli"]
    worker, matcher = (
        subprocess.Popen(
            [*me, command],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for command in ("worker", "matcher")
    )
    feed = subprocess.Popen(
        [*me, "simulate", "--rate", str(rate), "--seed", str(rate)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        latencies, silent, settled = _probe(cfg, probes)
    finally:
        for process in (feed, matcher, worker):
            process.terminate()
        for process in (feed, matcher, worker):
            process.wait(timeout=60)
        log.close()
    return {
        "settled": settled,
        "probes_pushed": len(latencies),
        "probes_without_push_in_10_s": silent,
        "latency_ms_p50": _ms(circle.percentile(latencies, 0.5)) if latencies else None,
        "latency_ms_p99": _ms(circle.percentile(latencies, 0.99)) if latencies else None,
        "latency_ms_max": _ms(max(latencies)) if latencies else None,
    }


def _probe(cfg: Settings, count: int) -> tuple[list[float], int, bool]:
    """Posts probe jobs one at a time; the seconds until each one's first push."""
    rng = random.Random(17)
    producer = KafkaProducer(bootstrap_servers=cfg.kafka_bootstrap, acks=1, linger_ms=0)
    consumer = KafkaConsumer(bootstrap_servers=cfg.kafka_bootstrap, enable_auto_commit=False)
    partitions = [
        TopicPartition(NOTIFICATIONS.name, p)
        for p in consumer.partitions_for_topic(NOTIFICATIONS.name) or ()
    ]
    consumer.assign(partitions)
    consumer.seek_to_end()
    for partition in partitions:
        consumer.position(partition)
    settled = _warm_up(producer, consumer, rng)
    latencies: list[float] = []
    silent = 0
    # Behind a growing backlog every probe waits out PROBE_WAIT_S: a few show it.
    for _ in range(count if settled else UNSETTLED_PROBES):
        waited = _one_probe(producer, consumer, rng)
        if waited is None:
            silent += 1
        else:
            latencies.append(waited)
    producer.close()
    consumer.close()
    return latencies, silent, settled


def _warm_up(producer: KafkaProducer, consumer: KafkaConsumer, rng: random.Random) -> bool:
    """Whether probes came back quickly before the deadline: the worker and the matcher
    joined their groups and worked off what piled up meanwhile. If not, the pipeline
    cannot keep up with the rate, and the probes measure the backlog."""
    deadline = time.monotonic() + WARM_UP_DEADLINE_S
    quick = 0
    while quick < WARM_PROBES:
        if time.monotonic() > deadline:
            return False
        waited = _one_probe(producer, consumer, rng)
        quick = quick + 1 if waited is not None and waited < SETTLED_S else 0
    return True


def _one_probe(
    producer: KafkaProducer, consumer: KafkaConsumer, rng: random.Random
) -> float | None:
    job_id = f"probe-{uuid.uuid4().hex[:12]}"
    value = orjson.dumps(_probe_job(job_id, rng))
    sent = time.perf_counter()
    producer.send("gig.jobs", key=job_id.encode(), value=value)
    producer.flush()
    while time.perf_counter() - sent < PROBE_WAIT_S:
        for records in consumer.poll(timeout_ms=5).values():
            if any(job_id.encode() in (record.value or b"") for record in records):
                return time.perf_counter() - sent
    return None


def _probe_job(job_id: str, rng: random.Random) -> dict[str, Any]:
    event = circle.job_event(rng, 0)
    occupation = rng.choices(OCCUPATIONS, [o.share for o in OCCUPATIONS])[0].name
    now = datetime.now(UTC).replace(microsecond=0)
    event["event_id"] = job_id
    event["data"].update(
        job_id=job_id,
        occupation=occupation,
        title=occupation,
        shift={
            "start": (now + timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=9)).isoformat(),
        },
    )
    return event


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
