"""Every reason the code writes falls in its kind; the pipeline counts dead letters by kind
and each message's latency from its record's timestamp."""

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from processors import checkins
from processors.ledger import JOB, Incoming, Origin, Ref
from processors.markets import MarketState
from streams.pipeline import Pipeline, _observe_latency
from streams.rejections import Reason, reason_of
from tests import factory
from tests.processors.figures.build import event
from topics.catalog import JOBS
from topics.envelope import Limits, Rejection, decode

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)
LIMITS = Limits(max_message_bytes=10_000, max_future_skew=timedelta(hours=1))


def rejected(raw: bytes, key: bytes | None = b"J1") -> str:
    decoded = decode(JOBS, key, raw, NOW, LIMITS)
    assert isinstance(decoded, Rejection), decoded
    return decoded.reason


def posted(**changes: Any) -> bytes:
    envelope = factory.job_posted("J1")
    data = {**envelope["data"], **changes.pop("data", {})}
    return orjson.dumps({**envelope, "data": data, **changes})


@pytest.mark.parametrize(
    ("raw", "key", "kind"),
    [
        (b"", b"J1", Reason.EMPTY),
        (b"{" * 20_000, b"J1", Reason.TOO_LARGE),
        (b'{"event_id": "\xff"}', b"J1", Reason.NOT_UTF8),
        (b"{not json", b"J1", Reason.NOT_JSON),
        (posted()[:-2] + b',"nest":' + b"[" * 4_000 + b"]" * 4_000 + b"}}", b"J1", Reason.TOO_DEEP),
        (posted(type="seeker.registered"), b"J1", Reason.UNKNOWN_TYPE),
        (posted(source="fax"), b"J1", Reason.UNKNOWN_SOURCE),
        (posted(occurred_at="1999-12-31T00:00:00+08:00"), b"J1", Reason.BAD_TIME),
        (posted(occurred_at="2026-11-28T08:00:00+08:00"), b"J1", Reason.BAD_TIME),
        (posted(), None, Reason.BAD_KEY),
        (posted(), b"J2", Reason.BAD_KEY),
        (b"[]", b"J1", Reason.SCHEMA),
        (posted(event_id=""), b"J1", Reason.SCHEMA),
        (posted(data={"location": {"lat": 95.2, "lon": 119.4}}), b"J1", Reason.SCHEMA),
        (posted(data={"headcount": "two"}), b"J1", Reason.SCHEMA),
        (posted(data={"skills": [1]}), b"J1", Reason.SCHEMA),
        (posted(data={"phone": None, "job_id": None}), b"J1", Reason.SCHEMA),
    ],
)
def test_each_rejection_of_the_decoder_is_of_its_kind(
    raw: bytes, key: bytes | None, kind: Reason
) -> None:
    reason = rejected(raw, key)
    assert reason_of(reason) is kind, reason


def test_a_checkin_at_a_removed_market_is_of_its_kind() -> None:
    market = event(factory.market_upserted("M1")).data
    removed = MarketState(market, {}, 0, removed_ms=1)
    checkin = event(factory.checkin("S1", market_id="M1")).data
    result, _ = checkins.apply(None, checkin, 10, 0, removed, 3_600_000)
    assert reason_of(result.reason) is Reason.MARKET_REMOVED, result.reason


class Letters:
    """Takes what a pipeline dead-letters."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def send(self, key: bytes | None, value: bytes) -> Awaitable[None]:
        self.reasons.append(orjson.loads(value)["reason"])

        async def delivered() -> None:
            return None

        return delivered()


class Store:
    """Just enough of streams.store.Store for the pipeline's own reasons."""

    pending_ttl_ms = 3_600_000

    def __init__(self, waiting: Origin) -> None:
        self.waiting = waiting

    @property
    def limits(self) -> Limits:
        raise RuntimeError("a bug in decoding")

    async def apply(self, batch: list[Incoming], now_ms: int) -> list[Any]:
        raise ValueError("a bug in applying")

    async def expired_pending(self, now_ms: int) -> list[tuple[Ref, dict[str, Origin]]]:
        return [(Ref(JOB, "J9"), {"e1": self.waiting})]

    async def forget_pending(self, ref: Ref, event_ids: list[str], now_ms: int) -> None:
        return None


def origin(offset: int) -> Origin:
    return Origin(JOBS.name, 0, offset, b"J1", posted(), 0)


async def test_the_pipelines_own_reasons_are_of_their_kinds() -> None:
    letters = Letters()
    pipeline = Pipeline(Store(origin(1)), letters.send)  # type: ignore[arg-type]
    await pipeline.expire_pending(NOW)
    assert pipeline._decode(origin(2), NOW) == Rejection(
        "internal error while decoding: RuntimeError"
    )
    applied = await pipeline._apply([Incoming(event(factory.job_posted("J1")), origin(3))], 0)
    reasons = [*letters.reasons, applied[0].result.reason]
    kinds = [reason_of(reason) for reason in reasons]
    assert kinds == [Reason.REFERENT_TIMEOUT, Reason.INTERNAL], reasons


def test_a_reason_of_no_known_wording_is_other() -> None:
    assert reason_of("the moon is in the wrong phase") is Reason.OTHER
    assert reason_of("") is Reason.OTHER


def deadletters(reason: Reason) -> float:
    labels = {"topic": JOBS.name, "reason": reason.value}
    return REGISTRY.get_sample_value("gigstream_deadletters_total", labels) or 0.0


async def test_dead_letters_sent_are_counted_by_topic_and_kind_of_reason() -> None:
    letters = Letters()
    pipeline = Pipeline(Store(origin(1)), letters.send)  # type: ignore[arg-type]
    before = deadletters(Reason.REFERENT_TIMEOUT)
    await pipeline.expire_pending(NOW)
    await pipeline.expire_pending(NOW)
    assert deadletters(Reason.REFERENT_TIMEOUT) - before == 2


def latency_samples() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("gigstream_event_latency_seconds_count") or 0.0
    total = REGISTRY.get_sample_value("gigstream_event_latency_seconds_sum") or 0.0
    return count, total


def test_latency_runs_from_the_records_timestamp_in_faust_seconds_or_aiokafka_ms() -> None:
    count, total = latency_samples()
    faust = SimpleNamespace(timestamp=100.0)  # seconds
    aiokafka = SimpleNamespace(timestamp=100_000)  # ms
    future = SimpleNamespace(timestamp=200.0)  # a producer's clock ahead: no negative latency
    none = SimpleNamespace(timestamp=None)
    _observe_latency([faust, aiokafka, future, none], written_s=102.5)
    after_count, after_total = latency_samples()
    assert after_count - count == 3
    assert after_total - total == pytest.approx(2.5 + 2.5 + 0)
