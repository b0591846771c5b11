"""GET /circle/jobs and GET /circle/markets on the worker: what lies within N minutes of a point.

Both answer {"items": [...], "total": n, "offset": o, "limit": l}, nearest
first; a bad parameter gets 400 and {"error": "<what to change>"}. Only jobs
and places are served, which carry no personal information.
"""

import time
from typing import Any

import faust
import msgspec
from faust.web import Request, Response, View
from redis.asyncio import Redis

from processors.nearby import Found
from processors.travel import TravelModel
from streams.circle_params import BadParameter, job_query, place_query
from streams.circle_queries import jobs_near, places_near

JOBS_PATH = "/circle/jobs"
MARKETS_PATH = "/circle/markets"


def register(app: faust.App, redis: Redis, model: TravelModel) -> None:
    """Adds the circle's views to the worker's web server."""

    async def circle_jobs(view: View, request: Request) -> Response:
        query = job_query(request.query.items(), model.circle_minutes)
        if isinstance(query, BadParameter):
            return view.error(400, query.reason)
        found = await jobs_near(redis, model, query, time.time_ns() // 1_000_000)
        return _page(view, found, query.offset, query.limit)

    async def circle_markets(view: View, request: Request) -> Response:
        query = place_query(request.query.items(), model.circle_minutes)
        if isinstance(query, BadParameter):
            return view.error(400, query.reason)
        found = await places_near(redis, model, query)
        return _page(view, found, query.offset, query.limit)

    app.page(JOBS_PATH)(circle_jobs)
    app.page(MARKETS_PATH)(circle_markets)


def _page(view: View, found: Found[Any], offset: int, limit: int) -> Response:
    items = msgspec.to_builtins(found.items)
    return view.json({"items": items, "total": found.total, "offset": offset, "limit": limit})
