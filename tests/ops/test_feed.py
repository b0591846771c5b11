"""The simulated city: seeded, valid where it means to be, bad and duplicated in measure."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice

from ops.simulator.city import DISTRICTS, STATIONS_PER_DISTRICT
from ops.simulator.feed import Feed, Message
from topics.applications import ApplicationSubmitted, HireConfirmed
from topics.catalog import BY_NAME
from topics.checkins import Checkin
from topics.envelope import Event, Limits, decode
from topics.jobs import JobPosted
from topics.markets import MarketUpserted

START = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
COUNT = 20_000
LIMITS = Limits(64 * 1024, timedelta(days=1))


def feed(seed: int = 1, count: int = COUNT) -> list[Message]:
    return list(islice(Feed(seed, START, 1000.0), count))


def test_the_same_seed_gives_the_same_stream() -> None:
    assert feed(7, 3000) == feed(7, 3000)
    assert feed(7, 3000) != feed(8, 3000)


def test_bad_and_duplicate_messages_come_in_their_stated_shares() -> None:
    messages = feed()
    now = START + timedelta(seconds=COUNT / 1000)
    verdicts = [decode(BY_NAME[m.topic], m.key, m.value or b"", now, LIMITS) for m in messages]
    refused = sum(not isinstance(v, Event) for v in verdicts)
    ids = Counter(v.event_id for v in verdicts if isinstance(v, Event))
    repeats = sum(n - 1 for n in ids.values())
    assert 0.015 * COUNT < refused < 0.025 * COUNT
    assert 0.007 * COUNT < repeats < 0.013 * COUNT


def valid_events(messages: list[Message]) -> list[Event]:
    now = START + timedelta(seconds=len(messages) / 1000)
    verdicts = (decode(BY_NAME[m.topic], m.key, m.value or b"", now, LIMITS) for m in messages)
    return [v for v in verdicts if isinstance(v, Event)]


def test_events_refer_to_markets_and_jobs_the_stream_created_before() -> None:
    markets: set[str] = set()
    jobs: set[str] = set()
    for event in valid_events(feed()):
        data = event.data
        if isinstance(data, MarketUpserted):
            markets.add(data.market_id)
        elif isinstance(data, JobPosted):
            jobs.add(data.job_id)
        elif isinstance(data, Checkin) and data.market_id is not None:
            assert data.market_id in markets
        elif isinstance(data, ApplicationSubmitted | HireConfirmed):
            assert data.job_id in jobs
    assert len(markets) == len(DISTRICTS) * (1 + STATIONS_PER_DISTRICT)


def test_jobs_are_a_few_percent_of_the_stream_as_in_a_real_city() -> None:
    kinds = Counter(type(event.data) for event in valid_events(feed(4, 50_000)))
    share = kinds[JobPosted] / sum(kinds.values())
    assert 0.02 < share < 0.12, share
    assert kinds[Checkin] > 3 * kinds[JobPosted]


def test_live_stream_sessions_post_bursts_of_jobs() -> None:
    sources = Counter(
        event.source.partition(":")[0]
        for event in valid_events(feed(3, 50_000))
        if isinstance(event.data, JobPosted)
    )
    assert sources["livestream"] >= 200
