"""Consumer lag per topic: from where each held partition resumes to its end, summed."""

from hypothesis import given
from hypothesis import strategies as st
from kafka import TopicPartition as TP

from streams.lag import lag_by_topic

TOPICS = ("gig.jobs", "gig.seekers")


def test_a_topics_lag_is_its_held_partitions_end_minus_committed_summed() -> None:
    ends = {TP("gig.jobs", 0): 10, TP("gig.jobs", 3): 7, TP("gig.seekers", 1): 5}
    committed = {TP("gig.jobs", 0): 4, TP("gig.jobs", 3): 7, TP("gig.seekers", 1): 2}
    assert lag_by_topic(TOPICS, ends, committed, {}) == {"gig.jobs": 6, "gig.seekers": 3}


def test_a_topic_none_of_whose_partitions_is_held_lags_by_zero() -> None:
    assert lag_by_topic(TOPICS, {TP("gig.jobs", 0): 3}, {TP("gig.jobs", 0): 1}, {}) == {
        "gig.jobs": 2,
        "gig.seekers": 0,
    }


def test_without_a_commit_or_past_a_truncation_a_partition_resumes_at_its_logs_start() -> None:
    ends = {TP("gig.jobs", 0): 10, TP("gig.jobs", 1): 10, TP("gig.jobs", 2): 10}
    committed = {TP("gig.jobs", 0): None, TP("gig.jobs", 1): -1, TP("gig.jobs", 2): 2}
    starts = {TP("gig.jobs", 0): 4, TP("gig.jobs", 1): 0, TP("gig.jobs", 2): 6}
    assert lag_by_topic(["gig.jobs"], ends, committed, starts) == {"gig.jobs": 6 + 10 + 4}


def test_partitions_of_other_topics_are_left_out() -> None:
    ends = {TP("gig.deadletter", 0): 100}
    assert lag_by_topic(TOPICS, ends, {}, {}) == {"gig.jobs": 0, "gig.seekers": 0}


partition = st.tuples(st.sampled_from(TOPICS), st.integers(0, 5))
offsets = st.dictionaries(
    partition, st.tuples(st.integers(0, 10**6), st.integers(-1, 10**6), st.integers(0, 10**6))
)


@given(offsets)
def test_the_lag_is_what_a_partition_by_partition_count_gives(held: dict) -> None:
    ends = {TP(*p): end for p, (end, _, _) in held.items()}
    committed = {TP(*p): done for p, (_, done, _) in held.items()}
    starts = {TP(*p): start for p, (_, _, start) in held.items()}
    unread = {topic: 0 for topic in TOPICS}
    for p, (end, done, start) in held.items():
        unread[p[0]] += len(range(max(done, start), end))
    assert lag_by_topic(TOPICS, ends, committed, starts) == unread
