"""The report's PNG charts: 求人倍率 by occupation beside the period before, and wage levels.

Drawn by matplotlib's Agg renderer through Figure, not pyplot: no display and
no global figures. Occupations are Chinese, so the charts use a CJK font found
by file path (Debian's fonts-wqy-microhei or fonts-noto-cjk, which
ops/install.sh installs); without one they are still drawn, with boxes for the
Chinese characters.
"""

import warnings
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

from processors.figures.report import Report, Row

CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
CITY_WIDE = "全市"
_BAR = 0.4


def cjk_font() -> Path | None:
    """The first CJK font installed, or None."""
    return next((path for path in CJK_FONTS if path.is_file()), None)


def draw_charts(table: Report, now: str, before: str, out: Path) -> list[Path]:
    """ratio.png and wages.png in out, with now and before naming the two periods."""
    font = cjk_font()
    families = ["DejaVu Sans"]
    if font is not None:
        font_manager.fontManager.addfont(str(font))
        families.insert(0, font_manager.FontProperties(fname=font).get_name())
    fonts = matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": families})
    with fonts, warnings.catch_warnings():
        # Without a CJK font every Chinese character would warn: the caller says it once.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        return [
            _ratio_chart(table.rows, now, before, out / "ratio.png"),
            _wage_chart(table.rows, now, out / "wages.png"),
        ]


def _name(row: Row) -> str:
    return CITY_WIDE if row.occupation is None else row.occupation


def _height(rows: int) -> float:
    return 1.5 + 0.4 * max(rows, 1)


def _ratio_chart(rows: list[Row], now: str, before: str, path: Path) -> Path:
    # Top to bottom as in the table: barh counts up from the bottom.
    rows = rows[::-1]
    figure = Figure(figsize=(8, _height(len(rows))), layout="constrained")
    axes = figure.subplots()
    at = range(len(rows))
    axes.barh([y + _BAR / 2 for y in at], [r.now.ratio or 0 for r in rows], _BAR, label=now)
    axes.barh([y - _BAR / 2 for y in at], [r.before.ratio or 0 for r in rows], _BAR, label=before)
    axes.set_yticks(list(at), [_name(r) for r in rows])
    axes.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel("求人倍率 positions per seeker")
    axes.set_title(f"求人倍率 by occupation: {now} vs {before}")
    axes.legend(loc="lower right")
    figure.savefig(path, dpi=120)
    return path


def _wage_chart(rows: list[Row], now: str, path: Path) -> Path:
    named = [(_name(row), row.wages) for row in rows[::-1] if row.wages is not None]
    levels = [wages for _, wages in named]
    figure = Figure(figsize=(8, _height(len(named))), layout="constrained")
    axes = figure.subplots()
    at = list(range(len(named)))
    axes.hlines(at, [w.p10 for w in levels], [w.p90 for w in levels], linewidth=6, alpha=0.35)
    axes.plot([w.p10 for w in levels], at, "|", markersize=14, label="P10 低位数")
    axes.plot([w.p50 for w in levels], at, "o", label="P50 中位数")
    axes.plot([w.p90 for w in levels], at, "|", markersize=14, label="P90 高位数")
    axes.set_yticks(at, [name for name, _ in named])
    axes.set_xlabel("日薪 daily wage (元)")
    axes.set_title(f"工资价位 wage levels: {now}")
    if named:
        axes.legend(loc="lower right")
    figure.savefig(path, dpi=120)
    return path
