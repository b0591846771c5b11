"""`gigstream report` against a real Redis holding a simulated city's figures' counters.

The counters come from the wiring's in-memory model (tests/processors/figures/
wiring.py) fed with the simulator's events over two and a half months, written
to Redis as the worker writes them (HINCRBY per streams.figure_counters). The
report's CSV and Markdown must be positions_per_seeker's and wage_levels' of
those same counters, and its charts valid PNG files.
"""

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from itertools import islice
from pathlib import Path

import pytest
import redis
from PIL import Image

from ops.settings import Settings, redis_database
from ops.simulator.feed import Feed
from processors.figures.counts import Counts
from processors.figures.groups import CITY, OCCUPATION
from processors.figures.positions import Ratio, positions_per_seeker
from processors.figures.sketch import Levels
from processors.figures.wage_levels import wage_levels
from processors.figures.windows import MONTH, WEEK, Window, day_of_date, period_window
from streams.figure_counters import counters_key, increments
from tests.integration.conftest import ROOT
from tests.processors.figures.wiring import Figures
from topics.catalog import BY_NAME
from topics.envelope import Event, Limits, decode

pytestmark = pytest.mark.integration

REPORT_DB = 2
BEIJING = timezone(timedelta(hours=8))
CITY_START = datetime(2026, 10, 1, tzinfo=BEIJING)
CITY_DAYS = 75
EVENTS = 6000
BATCH = 40


def simulated_city() -> Counts:
    """The counters the wiring keeps for the simulator's city from October to mid-December."""
    figures = Figures()
    feed = Feed(20261127, CITY_START, EVENTS / (CITY_DAYS * 86_400))
    limits = Limits(64 * 1024, timedelta(days=1))
    after_all = CITY_START + timedelta(days=CITY_DAYS + 1)
    batch: list[Event] = []
    for message in islice(feed, EVENTS):
        assert message.value is not None
        decoded = decode(BY_NAME[message.topic], message.key, message.value, after_all, limits)
        if isinstance(decoded, Event):  # the feed's malformed copies are dead letters
            batch.append(decoded)
        if len(batch) == BATCH:
            now_ms = max(event.occurred_ms for event in batch)
            figures.sweep(now_ms)
            figures.apply(batch, now_ms)
            batch = []
    return figures.counters


@pytest.fixture(scope="module")
def counters(live_stack: Settings) -> Iterator[tuple[Counts, str]]:
    """The city's counters, and the URL of the Redis database holding them."""
    counts = simulated_city()
    url = redis_database(live_stack.redis_url, REPORT_DB)
    db = redis.Redis.from_url(url)
    db.flushdb()
    with db.pipeline(transaction=False) as pipe:
        for window, fields in increments(counts).items():
            for field, n in fields.items():
                pipe.hincrby(counters_key(window), field, n)
        pipe.execute()
    yield counts, url
    db.flushdb()
    db.close()


def gigstream_report(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "report", *args],
        cwd=ROOT,
        env={**os.environ, "GIGSTREAM_REDIS_URL": url},
        capture_output=True,
        text=True,
    )


def number(value: float | None, places: int) -> str:
    return "" if value is None else f"{value:.{places}f}"


def expected_rows(counts: Counts, window: Window, previous: Window) -> dict[str, list[str]]:
    """The table's rows by occupation, straight from the figures' readers."""
    rows = {}
    for by, name in [(CITY, "全市 city-wide"), (OCCUPATION, None)]:
        now = {ratio.group: ratio for ratio in positions_per_seeker(counts, by, window)}
        before = {ratio.group: ratio for ratio in positions_per_seeker(counts, by, previous)}
        for group in now.keys() | before.keys() | ({""} if by == CITY else set()):
            nothing = Ratio(group, 0, 0, None)
            this, last = now.get(group, nothing), before.get(group, nothing)
            change = None
            if this.ratio is not None and last.ratio is not None:
                change = this.ratio - last.ratio
            wages = wage_levels(counts, group if by == OCCUPATION else None, [window])
            rows[name or group] = [
                name or group,
                str(this.positions),
                str(this.seekers),
                number(this.ratio, 2),
                number(last.ratio, 2),
                number(change, 2),
                number(percent(last.positions, this.positions), 1),
                number(percent(last.seekers, this.seekers), 1),
                *levels(wages),
            ]
    return rows


def percent(before: int, now: int) -> float | None:
    return 100 * (now - before) / before if before else None


def levels(wages: Levels | None) -> list[str]:
    if wages is None:
        return ["", "", ""]
    return [number(wages.p10, 0), number(wages.p50, 0), number(wages.p90, 0)]


def markdown_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def same(shown: str, value: str) -> bool:
    """A Markdown cell shows the CSV's value, signed where a change, — where blank."""
    if not value:
        return shown == "—"
    return shown == value or shown == f"+{value}"


@pytest.mark.parametrize(
    "period, at, previous_at",
    [(MONTH, "2026-11-15", "2026-10-31"), (WEEK, "2026-12-01", "2026-11-29")],
)
def test_the_report_is_the_figures_of_the_counters_in_redis(
    counters: tuple[Counts, str], tmp_path: Path, period: str, at: str, previous_at: str
) -> None:
    counts, url = counters
    window = period_window(period, day_of_date(date.fromisoformat(at)))
    previous = period_window(period, day_of_date(date.fromisoformat(previous_at)))

    result = gigstream_report(url, "--period", period, "--at", at, "--out", str(tmp_path))

    assert result.returncode == 0, result.stderr
    with (tmp_path / "report.csv").open(encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file))
    expected = expected_rows(counts, window, previous)
    assert len(expected) > 8  # the simulator's occupations, and the city
    assert {row[0]: row for row in rows} == expected
    assert len(rows) == len(expected)
    assert rows[0][0] == "全市 city-wide"
    positions = [int(row[1]) for row in rows[1:]]
    assert positions == sorted(positions, reverse=True)

    shown = markdown_rows((tmp_path / "report.md").read_text(encoding="utf-8"))
    assert shown[0] == header
    assert len(shown) == len(rows) + 2  # the header, its rule and a line per row
    for line, row in zip(shown[2:], rows, strict=True):
        assert all(same(cell, value) for cell, value in zip(line, row, strict=True)), (line, row)

    for chart in ("ratio.png", "wages.png"):
        with Image.open(tmp_path / chart) as image:
            assert image.format == "PNG"
            image.verify()


def test_a_period_with_nothing_counted_is_still_reported_and_said_so(
    counters: tuple[Counts, str], tmp_path: Path
) -> None:
    _, url = counters
    result = gigstream_report(
        url, "--period", "month", "--at", "2020-01-15", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "nothing was counted in 2020年1月" in result.stderr
    assert (tmp_path / "report.csv").read_text(encoding="utf-8-sig").count("\n") == 2
