"""Durations and caveats in words, shared by the report and the notice so both say the same."""

from __future__ import annotations


def hours(value: float) -> str:
    """6 -> '6 hours', 1 -> '1 hour', 2.5 -> '2.5 hours'."""
    number = int(value) if float(value).is_integer() else value
    return f"{number} hour{'' if number == 1 else 's'}"


def days(value: int, forever: str = "for ever") -> str:
    """A retention in days; 0 keeps for ever."""
    if value == 0:
        return forever
    return f"{value} day{'' if value == 1 else 's'}"


# With an hourly salt a phone's pseudonym changes on the hour, so its visit is cut
# there: one stay across the hour counts as two visitors, each with a shorter dwell.
HOURLY_EPOCH_INFLATES = (
    "With a key that changes every hour, a phone gets a new code on the hour, so one stay that lasts past "
    "the hour counts as two visitors with shorter visits: visitor counts are overstated and dwell times "
    "understated (a daily key avoids this)."
)
