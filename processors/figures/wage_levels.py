"""工资价位 (wage levels): P10 低位数 to P90 高位数 of posted wages, per occupation and city-wide.

Each job counts once, at its daily wage (processors.wages), in the day, the
week and the month of its first posting, whatever became of it since; a piece rate has no
daily wage and is left out. Once per job rather than per position, so that one
posting of five hundred places does not set an occupation's wage on its own.
"The last 30 days" merges the 30 daily sketches, which is exact: merging
sketches adds their counts.
"""

from collections.abc import Mapping

from processors.figures import sketch
from processors.figures.counts import Counts, Key, Terms, expand, term
from processors.figures.groups import CITY, CITY_WIDE, OCCUPATION
from processors.figures.history import JobHistory
from processors.figures.windows import Window, day_of, periods_of
from processors.jobs import JobState
from processors.wages import daily_wage

DAILY_WAGE = "daily_wage"


def job_counts(state: JobState, history: JobHistory) -> Counts:
    return expand(job_terms(state, history))


def job_terms(state: JobState, history: JobHistory) -> Terms:
    daily = daily_wage(state.job.wage)
    if history.posted_ms is None or daily is None:
        return []
    groups = [CITY_WIDE, (OCCUPATION, state.job.occupation)]
    windows = periods_of(day_of(history.posted_ms))
    return term(DAILY_WAGE, groups, windows, 1, sketch.bucket_of(daily))


def wage_levels(
    counts: Mapping[Key, int], occupation: str | None, windows: list[Window]
) -> sketch.Levels | None:
    """The levels over the windows (recent_days() for the last 30 days); city-wide for None."""
    return sketch.levels(wage_sketch(counts, occupation, windows))


def wage_sketch(
    counts: Mapping[Key, int], occupation: str | None, windows: list[Window]
) -> dict[int, int]:
    """The windows' daily-wage sketches merged, in one pass over the counts (a city has
    thousands of them; the last 30 days are 30 windows)."""
    by, group = (CITY, "") if occupation is None else (OCCUPATION, occupation)
    wanted = set(windows)
    of_window: dict[Window, dict[int, int]] = {}
    for key, n in counts.items():
        if key.figure != DAILY_WAGE or (key.by, key.group) != (by, group):
            continue
        if key.window in wanted and key.bucket is not None:
            of_window.setdefault(key.window, {})[key.bucket] = n
    return sketch.merged(of_window.values())
