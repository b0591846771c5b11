"""The figures as the exporter and the HTTP API read them: the windows asked for, the wage row."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from processors.figures import sketch, wage_levels
from processors.figures.counts import Key
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
    """The row from the 30 daily sketches merged."""
    merged = wage_levels.wage_sketch(counts, occupation, recent_days(now_ms))
    return Wages(occupation, sum(merged.values()), sketch.levels(merged))
