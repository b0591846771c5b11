"""Wages on one scale: what a posted wage comes to for a day's work, so offers compare.

An hour is an eighth of the standard working day and a month is 21.75 working
days, the monthly average China's labour rules use to turn a monthly wage into
a daily one (劳社部发〔2008〕3号). A piece rate has no daily figure: what a piece
earns in a day depends on how many pieces a worker makes, which no posting says.
"""

from typing import NamedTuple

from topics.fields import Wage

HOURS_PER_DAY = 8
WORKDAYS_PER_MONTH = 21.75


def daily_wage(wage: Wage) -> float | None:
    """The wage per working day in CNY, or None for a piece rate, which cannot be compared."""
    if wage.unit == "hour":
        return wage.amount * HOURS_PER_DAY
    if wage.unit == "day":
        return wage.amount
    if wage.unit == "month":
        return wage.amount / WORKDAYS_PER_MONTH
    return None


class WageFit(NamedTuple):
    """How an offer meets a floor: the margin over it (None without a floor) and why, in Chinese."""

    margin: float | None
    reason: str


UNIT_WORDS = {"hour": "时薪", "day": "日薪", "month": "月薪"}


def wage_fit(offer: Wage, floor: Wage | None) -> WageFit | None:
    """Whether the offer meets the floor, and by how much; None when it does not.

    Time wages compare per day. A piece rate compares only with a floor set per
    piece, amount to amount: against a daily floor (or the reverse) nobody can
    say it meets it, so the pair does not qualify.
    """
    offered = _offer_words(offer)
    if floor is None:
        return WageFit(None, offered)
    offer_daily, floor_daily = daily_wage(offer), daily_wage(floor)
    if offer_daily is None and floor_daily is None:
        offer_value, floor_value, unit = offer.amount, floor.amount, "元/件"
    elif offer_daily is not None and floor_daily is not None:
        offer_value, floor_value, unit = offer_daily, floor_daily, "元"
    else:
        return None
    if offer_value < floor_value:
        return None
    margin = (offer_value - floor_value) / floor_value
    verb = "高于" if margin > 0 else "达到"
    return WageFit(margin, f"{offered}，{verb}期望{_yuan(floor_value)}{unit}")


def _offer_words(offer: Wage) -> str:
    if offer.unit == "piece":
        return f"计件{_yuan(offer.amount)}元/件"
    words = f"{UNIT_WORDS[offer.unit]}{_yuan(offer.amount)}元"
    daily = daily_wage(offer)
    if offer.unit != "day" and daily is not None:
        words += f"（折合日薪{_yuan(daily)}元）"
    return words


def _yuan(amount: float) -> str:
    """Whole yuan as integers, else to the jiao (0.1 yuan)."""
    return f"{amount:.0f}" if abs(amount - round(amount)) < 0.05 else f"{amount:.1f}"
