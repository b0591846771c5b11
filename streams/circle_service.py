"""`gigstream circle`: the circle's live coverage in a process of its own, with its HTTP views.

GET /circle/coverage and GET /circle/gaps answer from the coverage kept from
the change feed (streams.coverage), brought up to the feed's end first, so an
answer reflects every write before it; /metrics serves the circle's gauges,
refreshed twice a second, and the best station sites, every minute. It runs
beside the Faust workers rather than in them: applying a change costs
0.1–0.2 ms in a dense city and building the coverage of 100,000 seekers takes
a minute, which on a worker's event loop halved ingest and stalled it at every
start (measured). Every circle process keeps the whole city, so any number can
serve.
"""

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from ops.process import log_to_stderr, stop_on_signals
from ops.settings import Settings
from processors.circle import Share
from streams.circle_params import BadParameter, gaps_query
from streams.coverage import LiveCoverage, export
from streams.metrics import CIRCLE_GAP_LAT, CIRCLE_GAP_LON, CIRCLE_GAP_SEEKERS

COVERAGE_PATH = "/circle/coverage"
GAPS_PATH = "/circle/gaps"
GAUGE_INTERVAL_S = 0.5

log = logging.getLogger(__name__)


def routes(live: LiveCoverage) -> web.Application:
    async def circle_coverage(request: web.Request) -> web.Response:
        if request.query:
            return _error(400, "GET /circle/coverage takes no parameters")
        shares = await live.shares(_now_ms())
        return web.json_response(
            {
                "city": _shown(shares.city),
                "districts": {name: _shown(s) for name, s in sorted(shares.districts.items())},
                "cells": {cell: _shown(s) for cell, s in sorted(shares.cells.items())},
            }
        )

    async def circle_gaps(request: web.Request) -> web.Response:
        query = gaps_query(request.query.items())
        if isinstance(query, BadParameter):
            return _error(400, query.reason)
        gaps = await live.gaps(_now_ms(), query.k, query.box)
        return web.json_response({"items": msgspec.to_builtins(gaps)})

    async def metrics(request: web.Request) -> web.Response:
        # aiohttp refuses a charset inside content_type, so the header is set whole.
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get(COVERAGE_PATH, circle_coverage)
    app.router.add_get(GAPS_PATH, circle_gaps)
    app.router.add_get("/metrics", metrics)
    return app


async def follow_changes(live: LiveCoverage, stop: asyncio.Event) -> None:
    """Keeps the coverage and its gauges up to date until stopped."""
    exported: set[str] = set()
    while not stop.is_set():
        try:
            exported = export(await live.shares(_now_ms()), exported)
        except Exception:
            log.exception("the circle's coverage did not catch up; the next tick retries")
        try:
            await asyncio.wait_for(stop.wait(), GAUGE_INTERVAL_S)
        except TimeoutError:
            continue


async def export_gaps(live: LiveCoverage, k: int, every_s: float, stop: asyncio.Event) -> None:
    """The best k station sites as gauges, every every_s: the siting takes seconds in a big
    city, so it runs far less often than the coverage's own gauges."""
    while not stop.is_set():
        try:
            gaps = await live.gaps(_now_ms(), k)
            for rank in range(1, k + 1):
                gap = gaps[rank - 1] if rank <= len(gaps) else None
                CIRCLE_GAP_SEEKERS.labels(str(rank)).set(gap.seekers_brought_in if gap else 0)
                CIRCLE_GAP_LAT.labels(str(rank)).set(gap.lat if gap else math.nan)
                CIRCLE_GAP_LON.labels(str(rank)).set(gap.lon if gap else math.nan)
        except Exception:
            log.exception("siting the next stations failed; the next round retries")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def run(cfg: Settings) -> None:
    stop = stop_on_signals()
    redis = Redis.from_url(cfg.redis_url)
    live = LiveCoverage(redis, cfg.travel_model())
    runner = web.AppRunner(routes(live))
    await runner.setup()
    await web.TCPSite(runner, cfg.web_host, cfg.circle_port).start()
    gaps = asyncio.create_task(export_gaps(live, cfg.circle_gaps_k, cfg.circle_gaps_every_s, stop))
    try:
        await follow_changes(live, stop)
    finally:
        await gaps
        await runner.cleanup()
        await redis.aclose()


def serve(cfg: Settings) -> None:
    log_to_stderr(cfg.log_level)
    asyncio.run(run(cfg))


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def _shown(share: Share) -> dict[str, Any]:
    """A share's counts and the fractions of its seekers covered (None without seekers)."""

    def of(count: int) -> float | None:
        return count / share.seekers if share.seekers else None

    return {
        "seekers": share.seekers,
        "covered_for_work": share.covered_for_work,
        "covered_for_place": share.covered_for_place,
        "covered": share.covered,
        "share_for_work": of(share.covered_for_work),
        "share_for_place": of(share.covered_for_place),
        "share": of(share.covered),
    }


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
