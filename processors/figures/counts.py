"""Figures as integer counters: a key names what is counted, for which group, in which window.

Every figure is a sum of counters, and every counter a sum of the entities'
contributions, so adding two Counts merges them and a change is counted by
adding the difference between what an entity contributes after and before.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from processors.figures.groups import Group
from processors.figures.windows import Window


class Key(NamedTuple):
    figure: str  # what is counted: open_positions, active_seekers, daily_wage...
    by: str  # the grouping: city, occupation, district, market, session
    group: str  # the occupation, district, market id or session id; "" city-wide
    window: Window
    bucket: int | None = None  # a quantile sketch's bucket; None for a plain counter


Counts = dict[Key, int]
_new = tuple.__new__


def spread(
    figure: str,
    groups: Iterable[Group],
    windows: Iterable[Window],
    n: int,
    bucket: int | None = None,
) -> Counts:
    """n counted once in each group and each window."""
    if n == 0:
        return {}
    windows = list(windows)
    # tuple.__new__ rather than Key(...): the hottest line of the figures, and a NamedTuple's
    # own __new__ is a Python call per key.
    return {
        _new(Key, (figure, by, group, window, bucket)): n
        for by, group in groups
        for window in windows
    }


class Term(NamedTuple):
    """n counted once in each group and each window, not yet expanded into counters: two
    contributions that share a term need not expand it to tell their difference."""

    figure: str
    groups: tuple[Group, ...]
    windows: tuple[Window, ...]
    n: int
    bucket: int | None = None


Terms = list[Term]


def term(
    figure: str,
    groups: Iterable[Group],
    windows: Iterable[Window],
    n: int,
    bucket: int | None = None,
) -> Terms:
    """spread() as a term; groups and windows in order, so that equal terms compare equal."""
    if n == 0:
        return []
    return [Term(figure, tuple(sorted(groups)), tuple(sorted(windows)), n, bucket)]


def expand(terms: Iterable[Term]) -> Counts:
    total: Counts = {}
    for each in terms:
        add(total, spread(each.figure, each.groups, each.windows, each.n, each.bucket))
    return total


def change(before: Iterable[Term], after: Iterable[Term]) -> Counts:
    """delta(expand(before), expand(after)), expanding only the terms not in both."""
    old, new = Counter(before), Counter(after)
    shared = old & new
    return delta(expand((old - shared).elements()), expand((new - shared).elements()))


def combined(*parts: Mapping[Key, int]) -> Counts:
    if not parts:
        return {}
    total = dict(parts[0])
    for part in parts[1:]:
        add(total, part)
    return total


def add(into: Counts, counts: Mapping[Key, int], sign: int = 1) -> None:
    """What HINCRBY does to a hash, in memory (sign -1 takes away); a counter back at zero is
    dropped."""
    get = into.get
    for key, n in counts.items():
        value = get(key, 0) + sign * n
        if value:
            into[key] = value
        else:
            into.pop(key, None)


def delta(before: Mapping[Key, int], after: Mapping[Key, int]) -> Counts:
    """What to add to the counters when an entity's contribution goes from before to after."""
    change = dict(after)
    add(change, before, -1)
    return change


def by_group(counts: Mapping[Key, int], figure: str, by: str, window: Window) -> dict[str, int]:
    """A plain figure's counter for each group."""
    return {
        key.group: n
        for key, n in counts.items()
        if key.figure == figure and key.by == by and key.window == window and key.bucket is None
    }


def buckets(
    counts: Mapping[Key, int], figure: str, by: str, group: str, window: Window
) -> dict[int, int]:
    """A quantile sketch's counts, bucket by bucket."""
    return {
        key.bucket: n
        for key, n in counts.items()
        if key.bucket is not None
        and (key.figure, key.by, key.group, key.window) == (figure, by, group, window)
    }
