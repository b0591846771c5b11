"""`gigstream report`: the week's or month's published table as CSV, Markdown and PNG charts.

Reads the figures' counters of the period and the one before from Redis
(streams.figure_counters); the rows are processors.figures.report's; writes
report.csv, report.md, ratio.png and wages.png into one folder.
"""

import asyncio
import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from redis.asyncio import Redis

from ops.report_charts import draw_charts
from processors.figures.counts import Counts
from processors.figures.report import Report, Row
from processors.figures.windows import (
    MONTH,
    WEEK,
    Window,
    date_of,
    day_of,
    day_of_date,
    days_of,
    period_window,
    previous_window,
)
from streams.figure_counters import read_counts
from streams.figure_reads import current_window

PERIODS = (WEEK, MONTH)
CITY_WIDE = "全市 city-wide"
NONE = "—"


class ReportError(Exception):
    """A request the report cannot serve, said in one line."""


def chosen_window(period: str, at: str | None, now_ms: int) -> Window:
    """The period containing --at (a Beijing date), else the last one complete by now."""
    if period not in PERIODS:
        raise ReportError(f"--period is week or month, not {period!r}")
    if at is None:
        return previous_window(current_window(period, now_ms))
    try:
        day = day_of_date(date.fromisoformat(at))
    except ValueError:
        raise ReportError(f"--at is a date as YYYY-MM-DD, not {at!r}") from None
    return period_window(period, day)


def label(window: Window) -> str:
    """The period as the table names it: 2026年11月, or 2026年第48周."""
    year, number = _numbered(window)
    return f"{year}年{number}月" if window.period == MONTH else f"{year}年第{number}周"


def folder_name(window: Window) -> str:
    year, number = _numbered(window)
    return f"{year}-{number:02d}" if window.period == MONTH else f"{year}-W{number:02d}"


def _numbered(window: Window) -> tuple[int, int]:
    """The year and the month, or the ISO year and week."""
    first = date_of(day_of(window.start_ms))
    if window.period == MONTH:
        return first.year, first.month
    year, week, _ = first.isocalendar()
    return year, week


def span(window: Window) -> str:
    days = days_of(window)
    return f"{date_of(days[0]).isoformat()} – {date_of(days[-1]).isoformat()}"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Row], float | str | None]
    places: int = 0  # decimals for a number
    signed: bool = False  # a change, shown with its sign in the Markdown


def _occupation(row: Row) -> str:
    return CITY_WIDE if row.occupation is None else row.occupation


COLUMNS = [
    Column("职业 occupation", _occupation),
    Column("招聘岗位数 positions", lambda r: r.now.positions),
    Column("求职人数 seekers", lambda r: r.now.seekers),
    Column("求人倍率 ratio", lambda r: r.now.ratio, 2),
    Column("上期求人倍率 previous ratio", lambda r: r.before.ratio, 2),
    Column("倍率变化 ratio change", lambda r: r.ratio_change, 2, True),
    Column("岗位数变化% positions change %", lambda r: r.positions_change_pct, 1, True),
    Column("求职人数变化% seekers change %", lambda r: r.seekers_change_pct, 1, True),
    Column("日薪低位数 P10 (元/日)", lambda r: None if r.wages is None else r.wages.p10),
    Column("日薪中位数 P50 (元/日)", lambda r: None if r.wages is None else r.wages.p50),
    Column("日薪高位数 P90 (元/日)", lambda r: None if r.wages is None else r.wages.p90),
]

NOTES = [
    "求人倍率 = 招聘岗位数 ÷ 求职人数 (positions posted ÷ seekers active in the period).",
    "招聘岗位数: the headcount of the jobs first posted in the period (Beijing time).",
    "求职人数: seekers registered, checked in or applying in the period, each counted once;"
    " a seeker listing several occupations counts in each, so the occupations add up to more"
    " than the city.",
    "变化: against the period before; a ratio's change is a difference, the others percent."
    f" {NONE} where the period before had none to compare with.",
    "工资价位: daily wages (hourly × 8, monthly ÷ 21.75; piece rates left out) of the jobs"
    " posted in the period, each job once, read from a quantile sketch within 0.5%.",
]


def cell(column: Column, row: Row, signed: bool) -> str:
    value = column.value(row)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    sign = "+" if signed and column.signed else ""
    return f"{value:{sign}.{column.places}f}"


def csv_rows(table: Report) -> list[list[str]]:
    return [
        [column.header for column in COLUMNS],
        *([cell(column, row, signed=False) for column in COLUMNS] for row in table.rows),
    ]


def markdown(table: Report) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    def shown(column: Column, row: Row) -> str:
        return cell(column, row, signed=True) or NONE

    title = "零工市场求人倍率与工资价位 Gig market positions per seeker and wage levels"
    lines = [
        f"# {title}: {label(table.window)}",
        "",
        f"{label(table.window)} ({span(table.window)}),"
        f" 对比上期 against {label(table.previous)} ({span(table.previous)}).",
        "",
        line([column.header for column in COLUMNS]),
        line(["---" if n == 0 else "---:" for n in range(len(COLUMNS))]),
        *(line([shown(column, row) for column in COLUMNS]) for row in table.rows),
        "",
        "说明 Notes:",
        "",
        *(f"- {note}" for note in NOTES),
        "",
        "![求人倍率 ratio](ratio.png)",
        "",
        "![工资价位 wage levels](wages.png)",
        "",
    ]
    return "\n".join(lines)


def read_counts_of(redis_url: str, window: Window) -> Counts:
    """The counters of the period and of the one before, from Redis."""
    return asyncio.run(read_windows(redis_url, [window, previous_window(window)]))


async def read_windows(redis_url: str, windows: list[Window]) -> Counts:
    """The windows' counters, with a client of its own that it closes."""
    redis = Redis.from_url(redis_url)
    try:
        return await read_counts(redis, windows)
    finally:
        await redis.aclose()


def write_report(table: Report, out: Path) -> list[Path]:
    """Writes report.csv, report.md and the charts into out; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    # Excel, as the bureau opens a CSV, reads UTF-8 only after a byte-order mark.
    with (out / "report.csv").open("w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file).writerows(csv_rows(table))
    (out / "report.md").write_text(markdown(table), encoding="utf-8")
    charts = draw_charts(table, label(table.window), label(table.previous), out)
    return [out / "report.csv", out / "report.md", *charts]
