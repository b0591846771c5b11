"""`gigstream report`: which period it reports, its CSV and Markdown, its charts, its errors."""

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from ops import report_charts
from ops.cli import main
from ops.report import chosen_window, csv_rows, folder_name, label, markdown, span, write_report
from processors.figures.counts import Counts, Key
from processors.figures.groups import CITY, OCCUPATION
from processors.figures.positions import ACTIVE_SEEKERS, POSTED_POSITIONS
from processors.figures.report import report
from processors.figures.sketch import bucket_of
from processors.figures.wage_levels import DAILY_WAGE
from processors.figures.windows import MONTH, WEEK, Window, previous_window


def utc_ms(year: int, month: int, day: int, hour: int) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp() * 1000)


NOVEMBER = Window(MONTH, utc_ms(2026, 10, 31, 16))  # 2026-11-01 00:00 Beijing
OCTOBER = previous_window(NOVEMBER)
PNG = b"\x89PNG\r\n\x1a\n"


def small_city() -> Counts:
    """November: 快递员 6 positions for 2 seekers, was 4 for 5; 电工 none before."""
    counts: Counts = {}
    for window, by, group, positions, seekers in [
        (NOVEMBER, CITY, "", 9, 3),
        (NOVEMBER, OCCUPATION, "快递员", 6, 2),
        (NOVEMBER, OCCUPATION, "电工", 3, 1),
        (OCTOBER, CITY, "", 4, 5),
        (OCTOBER, OCCUPATION, "快递员", 4, 5),
    ]:
        counts[Key(POSTED_POSITIONS, by, group, window)] = positions
        counts[Key(ACTIVE_SEEKERS, by, group, window)] = seekers
    for by, group in [(CITY, ""), (OCCUPATION, "快递员")]:
        counts[Key(DAILY_WAGE, by, group, NOVEMBER, bucket_of(200))] = 1
    return counts


def test_the_default_is_the_last_complete_period_and_at_picks_the_one_containing_it() -> None:
    december_1st_beijing = utc_ms(2026, 11, 30, 16)
    assert chosen_window(MONTH, None, december_1st_beijing) == NOVEMBER
    assert chosen_window(MONTH, None, december_1st_beijing - 1) == OCTOBER
    assert chosen_window(MONTH, "2026-11-30", 0) == NOVEMBER
    week = chosen_window(WEEK, None, utc_ms(2026, 11, 27, 8))  # a Friday
    assert span(week) == "2026-11-16 – 2026-11-22"


def test_periods_are_named_as_the_tables_name_them() -> None:
    assert (label(NOVEMBER), folder_name(NOVEMBER), span(NOVEMBER)) == (
        "2026年11月",
        "2026-11",
        "2026-11-01 – 2026-11-30",
    )
    week = chosen_window(WEEK, "2026-12-31", 0)
    assert (label(week), folder_name(week)) == ("2026年第53周", "2026-W53")


def test_the_csv_has_a_row_per_occupation_after_the_city_with_blanks_where_no_change() -> None:
    rows = csv_rows(report(small_city(), NOVEMBER))
    assert rows[0][:3] == ["职业 occupation", "招聘岗位数 positions", "求职人数 seekers"]
    wages = ["199"] * 3  # 200 yuan, read back from the sketch within 0.5%
    assert rows[1] == ["全市 city-wide", "9", "3", "3.00", "0.80", "2.20", "125.0", "-40.0", *wages]
    assert rows[2] == ["快递员", "6", "2", "3.00", "0.80", "2.20", "50.0", "-60.0", *wages]
    assert rows[3] == ["电工", "3", "1", "3.00", "", "", "", "", "", "", ""]


def test_the_markdown_titles_the_periods_signs_the_changes_and_states_the_rules() -> None:
    text = markdown(report(small_city(), NOVEMBER))
    assert text.startswith("# 零工市场求人倍率与工资价位")
    assert "2026年11月 (2026-11-01 – 2026-11-30)" in text
    assert "against 2026年10月 (2026-10-01 – 2026-10-31)" in text
    assert "| 快递员 | 6 | 2 | 3.00 | 0.80 | +2.20 | +50.0 | -60.0 | 199 | 199 | 199 |" in text
    assert "| 电工 | 3 | 1 | 3.00 | — | — | — | — | — | — | — |" in text
    assert "a seeker listing several occupations counts in each" in text
    assert "the headcount of the jobs first posted in the period" in text
    assert "within 0.5%" in text


def test_the_files_are_written_and_the_charts_are_pngs(tmp_path: Path) -> None:
    written = write_report(report(small_city(), NOVEMBER), tmp_path / "out")
    assert [path.name for path in written] == ["report.csv", "report.md", "ratio.png", "wages.png"]
    with written[0].open(encoding="utf-8-sig") as file:
        assert next(csv.reader(file))[0] == "职业 occupation"
    for chart in written[2:]:
        assert chart.read_bytes().startswith(PNG)
        with Image.open(chart) as image:
            assert image.width > 500 and image.height > 200


def test_an_empty_period_still_writes_a_city_row_and_charts(tmp_path: Path) -> None:
    table = report({}, NOVEMBER)
    written = write_report(table, tmp_path)
    assert [row.occupation for row in table.rows] == [None]
    assert all(path.read_bytes() for path in written)


def test_without_a_cjk_font_the_charts_are_drawn_and_one_line_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report_charts, "CJK_FONTS", (tmp_path / "no-such-font.ttc",))
    monkeypatch.setattr("ops.report.read_counts_of", lambda url, window: small_city())
    code = main(["report", "--at", "2026-11-15", "--out", str(tmp_path / "out")])
    errors = capsys.readouterr().err.splitlines()
    assert code == 0
    assert len(errors) == 1 and "no CJK font" in errors[0]
    assert (tmp_path / "out" / "ratio.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    "args, error",
    [
        (["--period", "year"], "--period is week or month, not 'year'"),
        (["--at", "2026-02-30"], "--at is a date as YYYY-MM-DD, not '2026-02-30'"),
        (["--at", "last week"], "--at is a date as YYYY-MM-DD, not 'last week'"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_code_2(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", *args]) == 2
    assert capsys.readouterr().err.splitlines() == [f"gigstream report: {error}"]


def test_an_out_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "report"
    taken.write_text("")
    assert main(["report", "--out", str(taken)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"gigstream report: --out {taken} is a file, not a folder"
    ]
