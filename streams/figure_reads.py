"""The figures as the exporter and the HTTP API read them: the windows asked for, the wage row."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from processors.figures import sketch, wage_levels
from processors.figures.counts import Key
from processors.figures.groups import CITY, OCCUPATION
from processors.figures.windows import (
    LIVE,
    NOW,
    PERIODS,
    Window,
    day_of,
    period_window,
    recent_days,
)
from processors.matching import CHINA

WINDOWS = (NOW, *PERIODS)  # what a figure can be asked for: now, day, week, month


def current_window(name: str, now_ms: int) -> Window:
    """now: the live figures; day, week or month: the one now is in (Beijing time)."""
    return LIVE if name == NOW else period_window(name, day_of(now_ms))


def window_start(window: Window) -> str | None:
    """A day's or week's first instant in Beijing time (RFC 3339); None for the live now."""
    if window == LIVE:
        return None
    return datetime.fromtimestamp(window.start_ms / 1000, CHINA).isoformat()


@dataclass(frozen=True)
class Wages:
    """工资价位 over the last 30 days, city-wide (occupation None) or of one occupation."""

    occupation: str | None
    count: int  # jobs with a daily wage first posted in the 30 days
    levels: sketch.Levels | None  # None when count is 0


def wages(counts: Mapping[Key, int], occupation: str | None, now_ms: int) -> Wages:
    """The row from the 30 daily sketches merged (wage_levels.wage_levels' reading), in one
    pass over the counts: a city has thousands of them."""
    recent = set(recent_days(now_ms))
    by, group = (CITY, "") if occupation is None else (OCCUPATION, occupation)
    merged: dict[int, int] = {}
    for key, n in counts.items():
        if (key.figure, key.by, key.group) != (wage_levels.DAILY_WAGE, by, group):
            continue
        if key.window in recent and key.bucket is not None:
            merged[key.bucket] = merged.get(key.bucket, 0) + n
    return Wages(occupation, sum(merged.values()), sketch.levels(merged))
