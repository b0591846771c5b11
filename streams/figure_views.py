"""GET /figures/positions-per-seeker and GET /figures/wages on the worker: the city's figures.

Read from the counters in Redis at each request (streams.figure_counters), so
every worker answers alike. A bad parameter gets 400 and {"error": "<what to
change>"}. No token: the counters hold counts by occupation, district, market
and session, nothing about a person.

- positions-per-seeker?by=occupation|district|market|city[&window=now|day|week|month]:
  求人倍率 rows {group, positions, seekers, ratio}, by group; now (the default)
  is open positions ÷ active seekers, a day, week or month (the one now is in,
  Beijing time) positions posted ÷ seekers active in it. ratio is null while
  no seeker counts in the group; city-wide the group is "".
- wages[?occupation=]: 工资价位 of the daily wages posted over the last 30 days,
  city-wide without an occupation: p10 低位数, p25, p50 中位数, p75, p90 高位数
  (CNY a day, within 0.5%; null while count, the jobs counted, is 0).
"""

import dataclasses
import time

import faust
from faust.web import Request, Response, View
from redis.asyncio import Redis

from processors.figures.positions import positions_per_seeker
from processors.figures.windows import RECENT_DAYS, recent_days
from streams.circle_params import BadParameter, ratio_query, wage_query
from streams.figure_counters import read_counts
from streams.figure_reads import current_window, wages, window_start

POSITIONS_PER_SEEKER_PATH = "/figures/positions-per-seeker"
WAGES_PATH = "/figures/wages"
LEVEL_NAMES = ("p10", "p25", "p50", "p75", "p90")


def register(app: faust.App, redis: Redis) -> None:
    """Adds the figures' views to the worker's web server."""

    async def positions_per_seeker_view(view: View, request: Request) -> Response:
        query = ratio_query(request.query.items())
        if isinstance(query, BadParameter):
            return view.error(400, query.reason)
        window = current_window(query.window, time.time_ns() // 1_000_000)
        rows = positions_per_seeker(await read_counts(redis, [window]), query.by, window)
        return view.json(
            {
                "by": query.by,
                "window": query.window,
                "start": window_start(window),
                "items": [dataclasses.asdict(row) for row in rows],
            }
        )

    async def wages_view(view: View, request: Request) -> Response:
        query = wage_query(request.query.items())
        if isinstance(query, BadParameter):
            return view.error(400, query.reason)
        now_ms = time.time_ns() // 1_000_000
        row = wages(await read_counts(redis, recent_days(now_ms)), query.occupation, now_ms)
        levels = row.levels or (None,) * len(LEVEL_NAMES)
        return view.json(
            {
                "occupation": row.occupation,
                "days": RECENT_DAYS,
                "count": row.count,
                **dict(zip(LEVEL_NAMES, levels, strict=True)),
            }
        )

    app.page(POSITIONS_PER_SEEKER_PATH)(positions_per_seeker_view)
    app.page(WAGES_PATH)(wages_view)
