"""Wages on one scale: what a posted wage comes to for a day's work, so offers compare.

An hour is an eighth of the standard working day and a month is 21.75 working
days, the monthly average China's labour rules use to turn a monthly wage into
a daily one (劳社部发〔2008〕3号). A piece rate has no daily figure: what a piece
earns in a day depends on how many pieces a worker makes, which no posting says.
"""

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


UNIT_WORDS = {"hour": "时薪", "day": "日薪", "month": "月薪"}


def wage_margin(offer: Wage, floor: Wage | None) -> tuple[bool, float | None]:
    """Whether the offer meets the floor, and by what share of it (None without a floor).

    Time wages compare per day. A piece rate compares only with a floor set per
    piece, amount to amount: against a daily floor (or the reverse) nobody can
    say it meets it, so it does not.
    """
    if floor is None:
        return True, None
    values = _comparable(offer, floor)
    if values is None or values[0] < values[1]:
        return False, None
    return True, (values[0] - values[1]) / values[1]


def wage_reason(offer: Wage, floor: Wage | None) -> str:
    """The offer as a seeker reads it, against their floor when they set one."""
    offered = _offer_words(offer)
    values = None if floor is None else _comparable(offer, floor)
    if values is None:
        return offered
    unit = "元/件" if offer.unit == "piece" else "元"
    verb = "高于" if values[0] > values[1] else "达到"
    return f"{offered}，{verb}期望{_yuan(values[1])}{unit}"


def _comparable(offer: Wage, floor: Wage) -> tuple[float, float] | None:
    offer_daily, floor_daily = daily_wage(offer), daily_wage(floor)
    if offer_daily is None and floor_daily is None:
        return offer.amount, floor.amount
    if offer_daily is not None and floor_daily is not None:
        return offer_daily, floor_daily
    return None


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
