"""Beijing hours, days and Monday weeks, and the last 30 days."""

from datetime import UTC, datetime

from processors.figures.windows import (
    DAY,
    HOUR,
    RECENT_DAYS,
    WEEK,
    Window,
    day_of,
    day_start_ms,
    hour_window,
    is_recent,
    periods_of,
    recent_days,
)


def utc_ms(*when: int) -> int:
    return int(datetime(*when, tzinfo=UTC).timestamp() * 1000)


def test_a_beijing_day_runs_from_16_00_utc_the_evening_before() -> None:
    last_second_of_27th = utc_ms(2026, 11, 27, 15, 59, 59)
    assert day_of(last_second_of_27th) + 1 == day_of(utc_ms(2026, 11, 27, 16))
    assert day_start_ms(day_of(last_second_of_27th)) == utc_ms(2026, 11, 26, 16)


def test_a_week_starts_on_monday_at_midnight_beijing_time() -> None:
    friday = day_of(utc_ms(2026, 11, 27, 8))
    sunday_night = day_of(utc_ms(2026, 11, 29, 15, 59))  # Sunday 23:59 in Beijing
    monday = day_of(utc_ms(2026, 11, 29, 16))
    monday_start = Window(WEEK, utc_ms(2026, 11, 22, 16))  # Monday 2026-11-23 00:00 Beijing
    assert periods_of(friday) == (Window(DAY, utc_ms(2026, 11, 26, 16)), monday_start)
    assert periods_of(sunday_night)[1] == monday_start
    assert periods_of(monday)[1] == Window(WEEK, utc_ms(2026, 11, 29, 16))


def test_an_hour_is_a_beijing_clock_hour() -> None:
    assert hour_window(utc_ms(2026, 11, 27, 8, 59, 59)) == Window(HOUR, utc_ms(2026, 11, 27, 8))


def test_the_last_30_days_end_today_and_include_it() -> None:
    now = utc_ms(2026, 11, 27, 8)
    today = day_of(now)
    windows = recent_days(now)
    assert len(windows) == RECENT_DAYS
    assert windows[-1] == periods_of(today)[0]
    assert windows[0] == periods_of(today - 29)[0]
    assert is_recent(today - 29, today) and not is_recent(today - 30, today)
    assert is_recent(today + 1, today)  # a clock running ahead upstream
