"""The table cities publish for a week or a month: 求人倍率 and 工资价位 by occupation, with change.

One row city-wide, then one per occupation with positions or seekers in the
period or the one before, most positions first. The rules are those of the
figures it reads (positions.py, wage_levels.py): positions are the headcount
of the jobs first posted in the period, seekers those active in it (a seeker
listing several occupations counts in each), wages the daily wages of the jobs
posted in it, read from the sketch within its relative accuracy.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from processors.figures.counts import Key
from processors.figures.groups import CITY, OCCUPATION
from processors.figures.positions import Ratio, positions_per_seeker
from processors.figures.sketch import Levels
from processors.figures.wage_levels import wage_levels
from processors.figures.windows import Window, previous_window


@dataclass(frozen=True)
class Row:
    occupation: str | None  # None for the city as a whole
    now: Ratio  # positions, seekers and 求人倍率 in the period
    before: Ratio  # the same in the period before
    ratio_change: float | None  # the ratio's change; None where either ratio is
    positions_change_pct: float | None  # percent; None when there were no positions before
    seekers_change_pct: float | None  # percent; None when there were no seekers before
    wages: Levels | None  # daily wage levels (yuan) of the jobs posted; None without any


@dataclass(frozen=True)
class Report:
    window: Window
    previous: Window
    rows: list[Row]  # the city first, then the occupations, most positions first


def report(counts: Mapping[Key, int], window: Window) -> Report:
    """The report of a week or month from its counters and those of the period before it."""
    previous = previous_window(window)
    now, before = _ratios(counts, window), _ratios(counts, previous)
    rows = [
        _row(counts, window, occupation, now, before)
        for occupation in (now.keys() | before.keys()) - {None}
    ]
    rows.sort(key=lambda row: (-row.now.positions, -row.now.seekers, row.occupation or ""))
    return Report(window, previous, [_row(counts, window, None, now, before), *rows])


def _ratios(counts: Mapping[Key, int], window: Window) -> dict[str | None, Ratio]:
    """The window's 求人倍率 by occupation, and city-wide under None."""
    ratios: dict[str | None, Ratio] = {
        ratio.group: ratio for ratio in positions_per_seeker(counts, OCCUPATION, window)
    }
    for city in positions_per_seeker(counts, CITY, window):
        ratios[None] = city
    return ratios


def _row(
    counts: Mapping[Key, int],
    window: Window,
    occupation: str | None,
    now: Mapping[str | None, Ratio],
    before: Mapping[str | None, Ratio],
) -> Row:
    nothing = Ratio(occupation or "", 0, 0, None)
    this, last = now.get(occupation, nothing), before.get(occupation, nothing)
    changed = None
    if this.ratio is not None and last.ratio is not None:
        changed = this.ratio - last.ratio
    return Row(
        occupation,
        this,
        last,
        changed,
        percent_change(last.positions, this.positions),
        percent_change(last.seekers, this.seekers),
        wage_levels(counts, occupation, [window]),
    )


def percent_change(before: int, now: int) -> float | None:
    """How much now is up (or down) on before, in percent; None from nothing."""
    return (now - before) / before * 100 if before else None
