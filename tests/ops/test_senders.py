"""Senders: which answers are retried, and the webhook against a real HTTP server on 127.0.0.1."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ops.senders import DELIVERED, LogSender, Outcome, Sent, WebhookSender, retry_delays, verdict
from tests import factory
from tests.integration.conftest import free_port

NOTIFICATION = factory.notification()


class Receiver:
    """Answers each POST with the next status of a script (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.hang = False  # the first request never gets an answer
        self.never = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        if self.hang and len(self.requests) == 1:
            await self.never.wait()
        status = self.statuses[min(len(self.requests), len(self.statuses)) - 1]
        return web.Response(status=status)


Serve = Callable[..., Awaitable[tuple[Receiver, WebhookSender]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Starts a receiver and a webhook sender posting to it (3 retries, 1 ms first backoff)."""
    servers: list[TestServer] = []
    senders: list[WebhookSender] = []
    receivers: list[Receiver] = []

    async def start(statuses: list[int], timeout_s: float = 5.0) -> tuple[Receiver, WebhookSender]:
        receiver = Receiver(statuses)
        receivers.append(receiver)
        app = web.Application()
        app.router.add_post("/push", receiver.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        sender = WebhookSender(
            str(server.make_url("/push")), timeout_s=timeout_s, retries=3, backoff_s=0.001
        )
        senders.append(sender)
        return receiver, sender

    yield start
    for receiver in receivers:
        receiver.never.set()
    for sender in senders:
        await sender.close()
    for server in servers:
        await server.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, DELIVERED),
        (202, DELIVERED),
        (204, DELIVERED),
        (429, Sent(Outcome.UNAVAILABLE, "HTTP 429")),
        (500, Sent(Outcome.UNAVAILABLE, "HTTP 500")),
        (503, Sent(Outcome.UNAVAILABLE, "HTTP 503")),
        (301, Sent(Outcome.REFUSED, "HTTP 301")),
        (400, Sent(Outcome.REFUSED, "HTTP 400")),
        (404, Sent(Outcome.REFUSED, "HTTP 404")),
        (410, Sent(Outcome.REFUSED, "HTTP 410")),
    ],
)
def test_only_5xx_and_429_are_worth_another_attempt(status: int, expected: Sent) -> None:
    assert verdict(status) == expected


def test_each_retry_waits_twice_as_long_as_the_one_before() -> None:
    assert retry_delays(0.5, 4) == [0.5, 1.0, 2.0, 4.0]
    assert retry_delays(0.5, 0) == []


async def test_the_webhook_posts_json_with_the_idempotency_key(serve: Serve) -> None:
    receiver, sender = await serve([200])
    assert await sender.send(NOTIFICATION) == DELIVERED
    [(headers, body)] = receiver.requests
    assert headers["Idempotency-Key"] == "n-1"
    assert headers["Content-Type"] == "application/json"
    assert body.decode() == (
        '{"notification_id":"n-1","seeker_id":"seeker-1","job_id":"job-1","channel":"push",'
        '"title":"快递员 2km","body":"明早 8 点开工","not_before":"2026-11-27T00:00:00Z"}'
    )


@pytest.mark.parametrize("statuses", [[500, 503, 200], [429, 200], [502, 502, 502, 200]])
async def test_5xx_and_429_are_retried_until_taken(serve: Serve, statuses: list[int]) -> None:
    receiver, sender = await serve(statuses)
    assert await sender.send(NOTIFICATION) == DELIVERED
    assert len(receiver.requests) == len(statuses)
    assert {headers["Idempotency-Key"] for headers, _ in receiver.requests} == {"n-1"}


async def test_a_4xx_is_refused_at_once(serve: Serve) -> None:
    receiver, sender = await serve([400, 200])
    assert await sender.send(NOTIFICATION) == Sent(Outcome.REFUSED, "HTTP 400")
    assert len(receiver.requests) == 1


async def test_a_receiver_failing_every_attempt_leaves_the_push_unavailable(serve: Serve) -> None:
    receiver, sender = await serve([503])
    assert await sender.send(NOTIFICATION) == Sent(Outcome.UNAVAILABLE, "HTTP 503 (4 attempts)")
    assert len(receiver.requests) == 4


async def test_a_request_timing_out_is_retried(serve: Serve) -> None:
    receiver, sender = await serve([200], timeout_s=1.0)
    receiver.hang = True
    assert await sender.send(NOTIFICATION) == DELIVERED
    assert len(receiver.requests) >= 2


async def test_a_receiver_not_listening_leaves_the_push_unavailable() -> None:
    sender = WebhookSender(
        f"http://127.0.0.1:{free_port()}/push", timeout_s=5, retries=2, backoff_s=0.001
    )
    try:
        sent = await sender.send(NOTIFICATION)
    finally:
        await sender.close()
    assert sent.outcome is Outcome.UNAVAILABLE
    assert sent.reason.startswith("ClientConnectorError")
    assert sent.reason.endswith("(3 attempts)")


async def test_the_log_line_names_the_push_and_nothing_else_of_the_seeker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="ops.senders"):
        assert await LogSender().send(NOTIFICATION) == DELIVERED
    [line] = caplog.messages
    assert line == "push n-1 to seeker seeker-1 for job job-1: 快递员 2km"
