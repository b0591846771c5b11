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
