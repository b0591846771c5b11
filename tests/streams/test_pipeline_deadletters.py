"""Dead letters are sent until the broker takes them: the batch is acknowledged only after."""

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from processors.ledger import Origin
from processors.outcome import Outcome, Result
from streams.pipeline import Pipeline, Verdict

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)


class Broker:
    """Takes the dead letters the pipeline sends, after refusing the first ones it is told to."""

    def __init__(self, refusals: list[Exception], refuse_outright: bool = False) -> None:
        self.refusals = refusals
        self.refuse_outright = refuse_outright
        self.taken: list[tuple[bytes | None, dict[str, Any]]] = []

    async def send(self, key: bytes | None, value: bytes) -> Awaitable[None]:
        if self.refusals and self.refuse_outright:
            raise self.refusals.pop(0)
        refusal = self.refusals.pop(0) if self.refusals else None

        async def delivery() -> None:
            if refusal is not None:
                raise refusal
            self.taken.append((key, orjson.loads(value)))

        return delivery()


def rejected(offset: int, outcome: Outcome = Outcome.REJECTED, replayed: bool = False) -> Verdict:
    origin = Origin("gig.jobs", 2, offset, b"J1", b"{", 0, replayed)
    return Verdict(origin, Result(outcome, f"not JSON at {offset}"))


def pipeline(broker: Broker) -> Pipeline:
    return Pipeline(store=None, send_deadletter=broker.send)  # type: ignore[arg-type]


@pytest.mark.parametrize("outright", [False, True])
async def test_refused_dead_letters_are_sent_again_until_taken_each_once(outright: bool) -> None:
    broker = Broker([KafkaTimeoutError(), NotLeaderForPartitionError()], outright)
    verdicts = [rejected(7), rejected(8), rejected(9, Outcome.APPLIED)]
    await pipeline(broker)._account(verdicts, NOW)
    assert sorted(letter["offset"] for _, letter in broker.taken) == [7, 8]
    assert {letter["reason"] for _, letter in broker.taken} == {"not JSON at 7", "not JSON at 8"}


async def test_a_replayed_message_sends_no_dead_letter_again() -> None:
    broker = Broker([])
    await pipeline(broker)._account([rejected(7, replayed=True), rejected(8)], NOW)
    assert [letter["offset"] for _, letter in broker.taken] == [8]


async def test_a_failure_that_is_not_the_broker_is_raised_not_retried() -> None:
    broker = Broker([ValueError("a bug")])
    with pytest.raises(ValueError, match="a bug"):
        await pipeline(broker)._account([rejected(7)], NOW)
