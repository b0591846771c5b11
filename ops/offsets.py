"""Where a consumer group starts: topics' end offsets, and committing a group there.

A worker of a fresh group then sees exactly the events published after that
point (the test harness and the benchmark each start one so).
"""

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from topics.catalog import INPUT_TOPICS, MATCHES

Offsets = dict[TopicPartition, int]


def positions(offsets: Offsets) -> dict[tuple[str, int], int]:
    """Offsets by (topic, partition), as the rebuild's replay takes them."""
    return {(tp.topic, tp.partition): offset for tp, offset in offsets.items()}


def input_end_offsets(bootstrap: str) -> Offsets:
    return end_offsets(bootstrap, [topic.name for topic in INPUT_TOPICS])


# What a rebuild replays: the inputs, and gig.matches for the figures' matched pairs.
REPLAYED = [*(topic.name for topic in INPUT_TOPICS), MATCHES.name]


def replayed_end_offsets(bootstrap: str) -> Offsets:
    return end_offsets(bootstrap, REPLAYED)


def end_offsets(bootstrap: str, topics: list[str]) -> Offsets:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return dict(consumer.end_offsets(partitions_of(consumer, topics)))
    finally:
        consumer.close()


def partitions_of(consumer: KafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in consumer.partitions_for_topic(topic) or ()
    ]


def commit_group(bootstrap: str, group: str, offsets: Offsets) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    finally:
        consumer.close()
