"""Where `gigstream notify` sends a push: one log line (the demo) or a webhook POST."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import aiohttp
import msgspec

from topics.outputs import NotificationRequested

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    REFUSED = "refused"  # the receiver will never take it (4xx other than 429)
    UNAVAILABLE = "unavailable"  # still not taken when the retries ran out


@dataclass(frozen=True, slots=True)
class Sent:
    outcome: Outcome
    reason: str = ""


DELIVERED = Sent(Outcome.DELIVERED)


class Sender(Protocol):
    async def send(self, notification: NotificationRequested) -> Sent: ...

    async def close(self) -> None: ...


class LogSender:
    """Logs the push; the texts carry no personal information by contract, and nothing else
    of the seeker is logged."""

    async def send(self, notification: NotificationRequested) -> Sent:
        log.info(
            "push %s to seeker %s for job %s: %s",
            notification.notification_id,
            notification.seeker_id,
            notification.job_id,
            notification.title,
        )
        return DELIVERED

    async def close(self) -> None:
        return None


def verdict(status: int) -> Sent:
    """What an HTTP status says about a push; UNAVAILABLE ones are worth another attempt."""
    if 200 <= status < 300:
        return DELIVERED
    if status == 429 or status >= 500:
        return Sent(Outcome.UNAVAILABLE, f"HTTP {status}")
    return Sent(Outcome.REFUSED, f"HTTP {status}")


def retry_delays(backoff_s: float, retries: int) -> list[float]:
    return [backoff_s * 2**attempt for attempt in range(retries)]


class WebhookSender:
    """POSTs the notification as JSON with `Idempotency-Key: <notification_id>`, so a
    receiver can drop the rare repeat (see ops.notify)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.delays = retry_delays(backoff_s, retries)
        self.sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def send(self, notification: NotificationRequested) -> Sent:
        body = msgspec.json.encode(notification)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": notification.notification_id,
        }
        sent = await self._post(body, headers)
        for delay in self.delays:
            if sent.outcome is not Outcome.UNAVAILABLE:
                return sent
            await self.sleep(delay)
            sent = await self._post(body, headers)
        if sent.outcome is Outcome.UNAVAILABLE:
            return Sent(sent.outcome, f"{sent.reason} ({len(self.delays) + 1} attempts)")
        return sent

    async def _post(self, body: bytes, headers: dict[str, str]) -> Sent:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(
                self.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return verdict(response.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            return Sent(Outcome.UNAVAILABLE, one_line(f"{type(error).__name__}: {error}"))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]
