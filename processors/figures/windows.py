"""When a figure counts: Beijing hours, days, weeks and months, the live now and all time.

Beijing keeps UTC+8 all year, so a Beijing day is a fixed stretch of UTC. Days
are numbered from 1970-01-01 (Beijing); weeks run Monday to Sunday; months are
calendar months of Beijing days.
"""

import calendar
import functools
from datetime import date, timedelta
from typing import NamedTuple

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
BEIJING_OFFSET_MS = 8 * HOUR_MS
# "The last 30 days" are the 30 Beijing days ending today, today included.
RECENT_DAYS = 30
_THURSDAY = 3  # 1970-01-01, day 0, with Monday as 0
_EPOCH = date(1970, 1, 1)

NOW, ALL, HOUR, DAY, WEEK, MONTH = "now", "all", "hour", "day", "week", "month"


class Window(NamedTuple):
    period: str  # NOW, ALL, HOUR, DAY, WEEK or MONTH
    start_ms: int  # its first instant (UTC ms); 0 for the live now and all time


LIVE = Window(NOW, 0)  # the stock as it stands now
EVER = Window(ALL, 0)  # everything since the start


def day_of(ms: int) -> int:
    """The Beijing day an instant falls on."""
    return (ms + BEIJING_OFFSET_MS) // DAY_MS


def day_start_ms(day: int) -> int:
    return day * DAY_MS - BEIJING_OFFSET_MS


def date_of(day: int) -> date:
    """The Beijing calendar date of a day."""
    return _EPOCH + timedelta(days=day)


def day_of_date(when: date) -> int:
    return (when - _EPOCH).days


def hour_window(ms: int) -> Window:
    beijing = ms + BEIJING_OFFSET_MS
    return Window(HOUR, beijing - beijing % HOUR_MS - BEIJING_OFFSET_MS)


def day_window(day: int) -> Window:
    return Window(DAY, day_start_ms(day))


def week_window(day: int) -> Window:
    monday = day - (day + _THURSDAY) % 7
    return Window(WEEK, day_start_ms(monday))


def month_window(day: int) -> Window:
    return Window(MONTH, day_start_ms(day_of_date(date_of(day).replace(day=1))))


PERIODS = {DAY: day_window, WEEK: week_window, MONTH: month_window}


# A figure asks for the same few days' periods again and again, per group and per entity.
@functools.lru_cache(maxsize=4096)
def periods_of(day: int) -> tuple[Window, Window, Window]:
    """The day, the week and the month a Beijing day belongs to.

    Each is counted on its own: seekers active in a week or a month are distinct
    seekers, so neither is the sum of its days.
    """
    return day_window(day), week_window(day), month_window(day)


def period_window(period: str, day: int) -> Window:
    """The day, week or month (by its name) that a Beijing day belongs to."""
    return PERIODS[period](day)


def previous_window(window: Window) -> Window:
    """The day, week or month just before one."""
    return period_window(window.period, day_of(window.start_ms) - 1)


def days_of(window: Window) -> range:
    """The Beijing days a day, week or month spans."""
    first = day_of(window.start_ms)
    if window.period == MONTH:
        month = date_of(first)
        return range(first, first + calendar.monthrange(month.year, month.month)[1])
    return range(first, first + (7 if window.period == WEEK else 1))


def is_recent(day: int, today: int) -> bool:
    """Whether the day is one of the last 30 (a day ahead of today, by a clock's skew, is too)."""
    return day > today - RECENT_DAYS


def recent_days(now_ms: int) -> list[Window]:
    """The day windows of the last 30 days, oldest first."""
    today = day_of(now_ms)
    return [day_window(day) for day in range(today - RECENT_DAYS + 1, today + 1)]
