"""Consumer lag: how many messages of each topic a consumer group has not committed yet.

The worker measures it on a timer from the broker's end offsets and the
offsets Faust committed; notify after each batch from its fetches' high
watermarks and its position. Per topic, over the partitions the process
holds, so summing by topic across processes gives the group's lag.
"""

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer

from streams.metrics import CONSUMER_LAG

if TYPE_CHECKING:  # notify uses this module too, without importing Faust
    from faust.transport.consumer import Consumer


class Partition(Protocol):
    @property
    def topic(self) -> str: ...


P = TypeVar("P", bound=Partition)


def lag_by_topic(
    topics: Collection[str],
    ends: Mapping[P, int],
    done: Mapping[P, int | None],
    starts: Mapping[P, int],
) -> dict[str, int]:
    """Messages from where each partition resumes to its end, summed per topic (0 for a topic
    none of whose partitions is held). A partition resumes at its committed offset, or its
    log's start when nothing is committed or the log was truncated past it."""
    lag = dict.fromkeys(topics, 0)
    for partition, end in ends.items():
        if partition.topic not in lag:
            continue
        resume = max(done.get(partition) or 0, starts.get(partition, 0))
        lag[partition.topic] += max(end - resume, 0)
    return lag


async def faust_lag(consumer: "Consumer", topics: Collection[str]) -> dict[str, int]:
    """A Faust worker's lag over its input topics: two offset requests to the broker at most."""
    held = [tp for tp in consumer.assignment() if tp.topic in topics]
    if not held:
        return lag_by_topic(topics, {}, {}, {})
    ends = await consumer.highwaters(*held)
    # Faust has no public reader of its committed offsets: these are read from the broker
    # when partitions are assigned and advanced at every commit (None or -1: none yet).
    committed = {tp: consumer._committed_offset[tp] for tp in held}
    unknown = [tp for tp, offset in committed.items() if offset is None or offset < 0]
    starts = await consumer.earliest_offsets(*unknown) if unknown else {}
    return lag_by_topic(topics, ends, committed, starts)


async def aiokafka_lag(consumer: AIOKafkaConsumer, topics: Collection[str]) -> dict[str, int]:
    """A plain consumer's lag from what it knows already, without a request: the high watermark
    of each held partition's last fetch and its position (committed right after handling)."""
    ends = {tp: end for tp in consumer.assignment() if (end := consumer.highwater(tp)) is not None}
    done = {tp: await consumer.position(tp) for tp in ends}
    return lag_by_topic(topics, ends, done, {})


def export(lag: Mapping[str, int]) -> None:
    for topic, messages in lag.items():
        CONSUMER_LAG.labels(topic).set(messages)
