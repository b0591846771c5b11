"""Beijing hours, days, Monday weeks and calendar months, and the last 30 days."""

from datetime import UTC, date, datetime

from processors.figures.windows import (
    DAY,
    HOUR,
    MONTH,
    RECENT_DAYS,
    WEEK,
    Window,
    date_of,
    day_of,
    day_of_date,
    day_start_ms,
    days_of,
    hour_window,
    is_recent,
    period_window,
    periods_of,
    previous_window,
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
    assert periods_of(friday)[:2] == (Window(DAY, utc_ms(2026, 11, 26, 16)), monday_start)
    assert periods_of(sunday_night)[1] == monday_start
    assert periods_of(monday)[1] == Window(WEEK, utc_ms(2026, 11, 29, 16))


def test_a_month_is_a_beijing_calendar_month() -> None:
    november = Window(MONTH, utc_ms(2026, 10, 31, 16))  # 2026-11-01 00:00 Beijing
    december = Window(MONTH, utc_ms(2026, 11, 30, 16))
    assert periods_of(day_of(utc_ms(2026, 10, 31, 16)))[2] == november
    assert periods_of(day_of(utc_ms(2026, 11, 30, 15, 59, 59)))[2] == november
    assert periods_of(day_of(utc_ms(2026, 11, 30, 16)))[2] == december  # December 1st in Beijing
    assert periods_of(day_of(utc_ms(2026, 12, 31, 15, 59)))[2] == december
    assert periods_of(day_of(utc_ms(2024, 2, 28, 16)))[2] == Window(MONTH, utc_ms(2024, 1, 31, 16))


def test_the_previous_period_is_the_day_week_or_month_just_before() -> None:
    december = period_window(MONTH, day_of(utc_ms(2026, 12, 15)))
    assert previous_window(december) == Window(MONTH, utc_ms(2026, 10, 31, 16))
    january = period_window(MONTH, day_of(utc_ms(2027, 1, 1)))
    assert previous_window(january) == december
    week = period_window(WEEK, day_of(utc_ms(2026, 12, 1)))
    assert previous_window(week) == Window(WEEK, utc_ms(2026, 11, 22, 16))
    day = period_window(DAY, day_of(utc_ms(2026, 3, 1)))
    assert previous_window(day) == Window(DAY, utc_ms(2026, 2, 27, 16))


def test_a_period_spans_its_days_from_the_first() -> None:
    february = period_window(MONTH, day_of_date(date(2028, 2, 10)))
    assert [date_of(day) for day in days_of(february)][::28] == [
        date(2028, 2, 1),
        date(2028, 2, 29),
    ]
    week = period_window(WEEK, day_of_date(date(2026, 12, 3)))
    assert [date_of(day).isoformat() for day in days_of(week)[::6]] == ["2026-11-30", "2026-12-06"]
    assert len(days_of(period_window(DAY, 0))) == 1


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
