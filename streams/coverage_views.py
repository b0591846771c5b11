"""GET /circle/coverage and GET /circle/gaps on the worker, and the circle's gauges.

Both answer from the worker's live coverage (streams.coverage), brought up to
the end of the change feed first, so an answer reflects every write before it.
"""

import logging
import time
from typing import Any

import faust
import msgspec
from faust.web import Request, Response, View

from processors.circle import Share
from streams.circle_params import BadParameter, gaps_query
from streams.coverage import LiveCoverage, export

COVERAGE_PATH = "/circle/coverage"
GAPS_PATH = "/circle/gaps"
GAUGE_INTERVAL_S = 0.5

log = logging.getLogger(__name__)


def register(app: faust.App, live: LiveCoverage) -> None:
    """Adds the coverage views and the timer keeping the coverage and its gauges up to date."""
    exported: set[str] = set()

    async def circle_coverage(view: View, request: Request) -> Response:
        if request.query:
            return view.error(400, "GET /circle/coverage takes no parameters")
        shares = await live.shares(_now_ms())
        return view.json(
            {
                "city": _shown(shares.city),
                "districts": {name: _shown(s) for name, s in sorted(shares.districts.items())},
                "cells": {cell: _shown(s) for cell, s in sorted(shares.cells.items())},
            }
        )

    async def circle_gaps(view: View, request: Request) -> Response:
        query = gaps_query(request.query.items())
        if isinstance(query, BadParameter):
            return view.error(400, query.reason)
        gaps = await live.gaps(_now_ms(), query.k, query.box)
        return view.json({"items": msgspec.to_builtins(gaps)})

    async def follow_changes() -> None:
        nonlocal exported
        try:
            exported = export(await live.shares(_now_ms()), exported)
        except Exception:
            log.exception("the circle's coverage did not catch up; the next tick retries")

    app.page(COVERAGE_PATH)(circle_coverage)
    app.page(GAPS_PATH)(circle_gaps)
    app.timer(GAUGE_INTERVAL_S)(follow_changes)


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
