"""`gigstream simulate`: the seeded city feed, to Kafka at a target rate or to JSONL files."""

import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import IO

from kafka import KafkaProducer
from tqdm import tqdm

from ops.kafka_auth import Principal, client_options
from ops.settings import Settings
from ops.simulator.feed import Message


def limited(feed: Iterable[Message], count: int | None) -> Iterator[Message]:
    return islice(feed, count) if count else iter(feed)


def to_kafka(cfg: Settings, messages: Iterable[Message], rate: float, progress: IO[str]) -> int:
    """Publishes messages, paced to `rate` per second (0: as fast as possible)."""
    producer = KafkaProducer(
        **client_options(cfg, Principal.PUBLISHER), linger_ms=20, batch_size=256 * 1024, acks=1
    )
    started = time.monotonic()
    sent = 0
    try:
        for message in tqdm(messages, unit=" events", file=progress, mininterval=1.0):
            producer.send(message.topic, key=message.key, value=message.value)
            sent += 1
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush()
    finally:
        producer.close()
    return sent


def to_jsonl(directory: Path, messages: Iterable[Message], progress: IO[str]) -> int:
    """One JSONL file per topic, ready for `gigstream publish TOPIC FILE`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    with ExitStack() as files:
        outputs: dict[str, IO[bytes]] = {}
        for message in tqdm(messages, unit=" events", file=progress, mininterval=1.0):
            if message.topic not in outputs:
                path = directory / f"{message.topic}.jsonl"
                outputs[message.topic] = files.enter_context(path.open("wb"))
            outputs[message.topic].write((message.value or b"").replace(b"\n", b" ") + b"\n")
            written += 1
    return written
