"""The benchmark suite, one command: `make bench` (or `python -m bench.run`).

It publishes N events of the simulated city to the input topics, then in the
same run measures
  - the raw limit: aiokafka consuming those N messages and orjson-decoding them;
  - Faust alone: the worker's Faust app taking the same messages in its batches and
    doing nothing with them (bench/bare_faust.py);
  - the pipeline: a real worker process applying the same N messages to an empty
    Redis (validation, state, indexes, dead letters);
  - the rebuild: `gigstream rebuild`'s replay of the same N messages into the
    wiped database;
  - the circle's nearby-jobs query over a loaded city, and the cost of keeping
    its coverage live (bench/circle.py);
  - push latency under background load (bench/matching.py);
and writes the figures to bench/results.json and the README's table.
"""

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import redis
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioPartition
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench import circle, matching
from ops import stack
from ops.offsets import Offsets, commit_group, end_offsets, input_end_offsets, positions
from ops.rebuild import rebuild
from ops.settings import Settings, redis_database
from ops.simulator.feed import Feed
from topics.catalog import MATCHES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
BENCH_REDIS_DB = 13


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--circle-jobs", type=int, default=100_000)
    parser.add_argument("--circle-seekers", type=int, default=200_000)
    parser.add_argument("--circle-queries", type=int, default=1000)
    parser.add_argument("--match-seekers", type=int, default=100_000)
    parser.add_argument("--match-jobs", type=int, default=20_000)
    parser.add_argument("--match-rates", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--match-probes", type=int, default=100)
    args = parser.parse_args()
    cfg = Settings()
    print("\n".join(stack.up(cfg)))
    start, end = publish(cfg, args.events, args.seed)
    raw = asyncio.run(raw_limit(cfg, start, end))
    print(f"raw limit: {raw['events_per_s']:,.0f} events/s")
    bare = faust_limit(cfg, start, args.events)
    print(f"Faust alone: {bare['events_per_s']:,.0f} events/s")
    group = f"gigstream-bench-{uuid.uuid4().hex[:8]}"
    pipeline = run_worker(cfg, group, start, args.events)
    print(f"pipeline: {pipeline['events_per_s']:,.0f} events/s")
    rebuilt = rebuild_speed(cfg, group, start)
    print(f"rebuild: {rebuilt['events_per_s']:,.0f} events/s")
    nearby = circle.main(cfg, args.circle_jobs, args.circle_seekers, args.circle_queries)
    print(f"nearby jobs query: p50 {nearby['query_ms_p50']} ms, p99 {nearby['query_ms_p99']} ms")
    coverage = circle.coverage_main(cfg, args.circle_jobs, args.circle_seekers)
    print(f"coverage: {coverage}")
    pushes = matching.main(
        cfg, args.match_seekers, args.match_jobs, args.match_rates, args.match_probes
    )
    print(f"push latency: {pushes}")
    results = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}",
        "events": args.events,
        "raw_limit": raw,
        "faust_alone": bare,
        "pipeline": pipeline,
        "pipeline_to_raw_ratio": round(pipeline["events_per_s"] / raw["events_per_s"], 3),
        "pipeline_to_faust_ratio": round(pipeline["events_per_s"] / bare["events_per_s"], 3),
        "rebuild": rebuilt,
        "circle_nearby_jobs": nearby,
        "circle_coverage": coverage,
        "push_latency": pushes,
    }
    RESULTS.write_text(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode() + "\n")
    write_readme_table(results)
    print(f"results in {RESULTS.relative_to(ROOT)} and README.md")


def publish(cfg: Settings, count: int, seed: int) -> tuple[Offsets, Offsets]:
    """Publishes the feed; returns the input topics' offsets before and after."""
    start = input_end_offsets(cfg.kafka_bootstrap)
    producer = KafkaProducer(
        bootstrap_servers=cfg.kafka_bootstrap, linger_ms=50, batch_size=512 * 1024, acks=1
    )
    for message in islice(Feed(seed, datetime.now(UTC), 1000.0), count):
        producer.send(message.topic, key=message.key, value=message.value)
    producer.flush()
    producer.close()
    return start, input_end_offsets(cfg.kafka_bootstrap)


async def raw_limit(cfg: Settings, start: Offsets, end: Offsets) -> dict[str, Any]:
    """aiokafka consume + orjson decode of exactly the published messages."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=cfg.kafka_bootstrap, enable_auto_commit=False, max_poll_records=5000
    )
    await consumer.start()
    try:
        wanted = {
            AioPartition(tp.topic, tp.partition): (start[tp], end[tp] - start[tp])
            for tp in start
            if end[tp] > start[tp]
        }
        consumer.assign(list(wanted))
        for tp, (first, _) in wanted.items():
            consumer.seek(tp, first)
        total, decoded = sum(count for _, count in wanted.values()), 0
        began = time.perf_counter()
        seen = 0
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    seen += 1
                    try:
                        orjson.loads(record.value or b"")
                        decoded += 1
                    except orjson.JSONDecodeError:
                        pass
        elapsed = time.perf_counter() - began
    finally:
        await consumer.stop()
    return rate(total, elapsed)


def faust_limit(cfg: Settings, start: Offsets, count: int) -> dict[str, Any]:
    """bench/bare_faust.py: the worker's Faust app and batches, doing nothing, on the same
    messages: what Faust alone allows one process."""
    group = f"gigstream-bench-bare-{uuid.uuid4().hex[:8]}"
    commit_group(cfg.kafka_bootstrap, group, start)
    result = ROOT / ".stack" / "bench-bare-faust.json"
    result.unlink(missing_ok=True)
    env = {
        "GIGSTREAM_APP_ID": group,
        "GIGSTREAM_LOG_LEVEL": "warn",
        "BENCH_BARE_EVENTS": str(count),
        "BENCH_BARE_RESULT": str(result),
    }
    with launched(["bench.bare_faust", "worker"], env, "bench-bare-faust.log"):
        poll(result.exists, f"{count} events through the bare agent", deadline_s=1800)
    timed = orjson.loads(result.read_bytes())
    return rate(timed["events"], timed["seconds"])


def run_worker(cfg: Settings, group: str, start: Offsets, count: int) -> dict[str, Any]:
    commit_group(cfg.kafka_bootstrap, group, start)
    redis_url = bench_redis_url(cfg)
    db = redis.Redis.from_url(redis_url)
    db.flushdb()
    memory_before = int(db.info("memory")["used_memory"])
    port = 6199
    env = {
        "GIGSTREAM_APP_ID": group,
        "GIGSTREAM_REDIS_URL": redis_url,
        "GIGSTREAM_WEB_PORT": str(port),
        "GIGSTREAM_LOG_LEVEL": "warn",
    }
    with launched(["ops.cli", "worker"], env, "bench-worker.log") as worker:
        url = f"http://127.0.0.1:{port}/metrics"
        poll(lambda: processed(url) > 0, "the first processed event")
        began = time.perf_counter()
        # Rarely: each poll renders /metrics on the worker's event loop, ~90 ms for the
        # ~4,000 series the figures reach here (prometheus-client: 86 ms for 4,000 gauges),
        # so five polls a second took up to 40% of it. The end is seen up to 2 s late.
        poll(
            lambda: processed(url) >= count,
            f"{count} processed events",
            deadline_s=1800,
            every_s=2.0,
        )
        elapsed = time.perf_counter() - began
        rss = worker_rss_bytes(worker.pid)
        latency = batch_latency(url)
    entities = int(db.dbsize())
    memory = int(db.info("memory")["used_memory"]) - memory_before
    return {
        **rate(count, elapsed),
        "batch_seconds_p50": latency[0],
        "batch_seconds_p99": latency[1],
        "worker_rss_mib": round(rss / 2**20, 1),
        "redis_used_memory_mib": round(memory / 2**20, 1),
        "redis_keys": entities,
        "redis_bytes_per_key": round(memory / max(entities, 1)),
    }


def rebuild_speed(cfg: Settings, group: str, start: Offsets) -> dict[str, Any]:
    """`gigstream rebuild` of the pipeline's database, from where the pipeline began."""
    bench_cfg = cfg.model_copy(update={"redis_url": bench_redis_url(cfg), "app_id": group})
    # gig.matches from where it ends now: no matcher ran beside the pipeline's worker.
    matches = end_offsets(cfg.kafka_bootstrap, [MATCHES.name])
    done = rebuild(bench_cfg, start=positions({**start, **matches}), progress=False)
    return rate(done.events, done.seconds)


@contextmanager
def launched(
    args: list[str], env: dict[str, str], log_name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m *args` with env added, its output in .stack/log_name; stopped at the end."""
    with (ROOT / ".stack" / log_name).open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=60)


def rate(events: int, seconds: float) -> dict[str, Any]:
    return {"events": events, "seconds": round(seconds, 3), "events_per_s": round(events / seconds)}


def bench_redis_url(cfg: Settings) -> str:
    return redis_database(cfg.redis_url, BENCH_REDIS_DB)


def metrics(url: str) -> list[Any]:
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return []
    return list(text_string_to_metric_families(text))


def processed(url: str) -> float:
    """Messages that reached their first outcome (waiting ones included)."""
    return sum(
        sample.value
        for family in metrics(url)
        if family.name == "gigstream_events"
        for sample in family.samples
        if sample.name == "gigstream_events_total"
    )


def batch_latency(url: str) -> tuple[float, float]:
    """p50 and p99 of batch processing time, from the histogram's buckets."""
    buckets: dict[float, float] = {}
    for family in metrics(url):
        if family.name != "gigstream_batch_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0) + sample.value
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0
    return quantile(ordered, total, 0.5), quantile(ordered, total, 0.99)


def quantile(ordered: list[tuple[float, float]], total: float, q: float) -> float:
    for bound, count in ordered:
        if count >= q * total:
            return bound
    return float("inf")


def worker_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def poll(
    check: Callable[[], bool], what: str, deadline_s: float = 120, every_s: float = 0.2
) -> bool:
    end = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(every_s)
    return True


def _push_rows(pushes: dict[str, Any]) -> list[str]:
    city = f"{pushes['seekers']:,} seekers, {pushes['open_jobs']:,} open jobs"
    rows = []
    for name, at in pushes.items():
        if not name.startswith("at_"):
            continue
        rate = name.removeprefix("at_").removesuffix("_events_per_s")
        what = f"| job.posted → first push, {city}, {int(rate):,} background events/s: p50 / p99 |"
        if at["latency_ms_p50"] is None:
            rows.append(
                f"{what} not measured: the matcher fell behind the rate"
                f" ({at['probes_without_push_in_10_s']} probes, none pushed within 10 s) |"
            )
            continue
        behind = "" if at["settled"] else "; did not keep up with the rate"
        rows.append(
            f"{what} {at['latency_ms_p50']} ms / {at['latency_ms_p99']} ms"
            f" ({at['probes_pushed']} probes pushed,"
            f" {at['probes_without_push_in_10_s']} not within 10 s{behind}) |"
        )
    return rows


def _coverage_rows(coverage: dict[str, Any]) -> list[str]:
    def cost(kind: str) -> str:
        return f"{coverage[f'{kind}_us_mean']:,} µs / {coverage[f'{kind}_us_p99']:,} µs"

    return [
        f"| coverage: build for the same city | {coverage['build_seconds']} s |",
        "| coverage update per change, mean / p99: job posted; job gone |"
        f" {cost('job_posted')}; {cost('job_gone')} |",
        "| coverage update per change, mean / p99: seeker registered; seeker gone |"
        f" {cost('seeker_registered')}; {cost('seeker_gone')} |",
    ]


def write_readme_table(results: dict[str, Any]) -> None:
    raw, pipe, near = results["raw_limit"], results["pipeline"], results["circle_nearby_jobs"]
    per_key = f"{pipe['redis_bytes_per_key']} B per key"
    rows = [
        "| figure | value |",
        "|---|---|",
        f"| events (mixed city stream, 2% bad, 1% duplicate) | {results['events']:,} |",
        f"| raw limit: aiokafka consume + orjson decode | {raw['events_per_s']:,} events/s |",
        "| Faust alone: the worker's app and batches, doing nothing |"
        f" {results['faust_alone']['events_per_s']:,} events/s |",
        "| pipeline: one worker, validation + state + indexes + figures |"
        f" {pipe['events_per_s']:,} events/s |",
        f"| pipeline ÷ raw limit | {results['pipeline_to_raw_ratio']} |",
        f"| pipeline ÷ Faust alone | {results['pipeline_to_faust_ratio']} |",
        "| batch processing time p50 / p99 (≤ 500 events a batch) |"
        f" {pipe['batch_seconds_p50']} s / {pipe['batch_seconds_p99']} s |",
        "| rebuild: the same events replayed into the wiped database |"
        f" {results['rebuild']['events_per_s']:,} events/s |",
        f"| worker RSS | {pipe['worker_rss_mib']} MiB |",
        f"| Redis used_memory / keys | {pipe['redis_used_memory_mib']} MiB /"
        f" {pipe['redis_keys']:,} keys ({per_key}) |",
        f"| nearby jobs query ({near['open_jobs']:,} open jobs, {near['seekers']:,} seekers):"
        f" p50 / p99 | {near['query_ms_p50']} ms / {near['query_ms_p99']} ms |",
        "| nearby jobs queries/s, one process: one at a time /"
        f" {near['queries_in_flight']} in flight |"
        f" {near['queries_per_s']:,} / {near['queries_per_s_in_flight']:,} |",
        f"| Redis time per nearby query (its script) | {near['redis_us_per_query']} µs |",
        f"| Redis geo index, bytes per member | {near['geo_bytes_per_member']} |",
        *_coverage_rows(results["circle_coverage"]),
        *_push_rows(results["push_latency"]),
        f"| machine | {results['machine']}, {results['at']} |",
    ]
    text = README.read_text()
    begin, finish = "<!-- bench:start -->", "<!-- bench:end -->"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(finish)
    README.write_text(head + begin + "\n" + "\n".join(rows) + "\n" + finish + tail)


if __name__ == "__main__":
    main()
