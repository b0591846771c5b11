"""`gigstream publish`: JSONL events from a file or stdin onto a topic, keyed by the contract.

Each line is validated as the worker would; a bad line is reported by its
number and reason, and every other line is still published.
"""

import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import IO

import orjson
from kafka import KafkaProducer
from tqdm import tqdm

from ops.kafka_auth import Principal, client_options
from ops.settings import Settings
from topics.catalog import Topic
from topics.envelope import Limits, Rejection, decode


def publish(cfg: Settings, topic: Topic, lines: Iterable[bytes], err: IO[str]) -> tuple[int, int]:
    """Publishes every valid line; returns (published, refused)."""
    limits = Limits(cfg.max_message_bytes, timedelta(seconds=cfg.max_future_skew_s))
    producer = KafkaProducer(
        **client_options(cfg, Principal.PUBLISHER), acks="all", linger_ms=20, retries=5
    )
    published = refused = 0
    deliveries = []
    try:
        for number, line in enumerate(tqdm(lines, unit=" lines", file=err), start=1):
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            key, problem = _checked_key(topic, raw, limits)
            if problem:
                refused += 1
                print(f"line {number}: {problem}", file=err)
                continue
            deliveries.append(producer.send(topic.name, key=key, value=raw))
            published += 1
        producer.flush()
        for delivery in deliveries:
            delivery.get(timeout=30)
    finally:
        producer.close()
    return published, refused


def _checked_key(topic: Topic, raw: bytes, limits: Limits) -> tuple[bytes | None, str | None]:
    try:
        envelope = orjson.loads(raw)
        data = envelope.get("data") if isinstance(envelope, dict) else None
    except orjson.JSONDecodeError as error:
        return None, f"not JSON: {error}"
    entity_id = topic.key_of(data) if isinstance(data, dict) else None
    key = entity_id.encode() if entity_id is not None else None
    decoded = decode(topic, key, raw, datetime.now(UTC), limits)
    if isinstance(decoded, Rejection):
        return None, decoded.reason
    return key, None


def read_lines(path: str) -> Iterable[bytes]:
    if path == "-":
        yield from sys.stdin.buffer
        return
    with open(path, "rb") as source:
        yield from source
