"""Gift dates as CRMs and spreadsheets write them.

Numeric dates such as 03/04/2019 are ambiguous. `decide_date_order` chooses
month/day or day/month once per file, from the dates that are valid only one
way (13/04/2019 can only be day/month), and `parse_date` applies that choice to
the ambiguous ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Excel stores dates as days since 1899-12-30 (the 1900 date system). Only
# serials from 20000 (1954-10-03) to 80000 (2119-01-10) count as dates, so that
# a year such as "2019" or a short id is not read as a day in 1905.
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_EXCEL_SERIAL = 20_000
MAX_EXCEL_SERIAL = 80_000
MIN_YEAR = 1900
MAX_YEAR = 2100
# Two-digit years 69-99 are 1969-1999 and 00-68 are 2000-2068, as in POSIX
# strptime.
TWO_DIGIT_YEAR_PIVOT = 69

# A time after the date ("3/5/2019 10:00 AM", "2019-03-05T10:00:00Z") is ignored.
_TIME = r"(?:[ T].*)?"
_NUMERIC = re.compile(rf"^(\d{{1,2}})([/.\-])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_TIME}$")
_YEAR_FIRST = re.compile(rf"^(\d{{4}})([/.\-])(\d{{1,2}})\2(\d{{1,2}}){_TIME}$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_MONTH_NAME_FIRST = re.compile(
    r"^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b"
)
_DAY_FIRST_MONTH_NAME = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-]+([A-Za-z]{3,9})\.?[\s\-,]+(\d{4}|\d{2})\b"
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}


@dataclass(frozen=True)
class DateOrder:
    """The day and month order of numeric dates in a file, and the reason."""

    day_first: bool
    description: str  # e.g. "month/day (decided from 14 unambiguous dates)"


def decide_date_order(texts: Iterable[str]) -> DateOrder:
    """Choose month/day or day/month for the numeric dates of one file.

    The order with more unambiguous dates wins, and month/day wins a tie.
    Without any unambiguous date, dates with dots (31.12.2019, the European
    form) are day/month and all others month/day (the US form).
    """
    month_first = 0
    day_first = 0
    dotted = 0
    numeric = 0
    for text in texts:
        match = _NUMERIC.match(text.strip())
        if match is None:
            continue
        numeric += 1
        first, separator, second = int(match[1]), match[2], int(match[3])
        dotted += separator == "."
        if first > 12 >= second:
            day_first += 1
        elif second > 12 >= first:
            month_first += 1
    if numeric == 0:
        return DateOrder(day_first=False, description="not needed")
    if month_first == 0 and day_first == 0:
        use_day_first = dotted * 2 > numeric
        order = "day/month" if use_day_first else "month/day"
        return DateOrder(
            day_first=use_day_first,
            description=f"{order} (assumed, because every date is ambiguous)",
        )
    use_day_first = day_first > month_first
    if use_day_first:
        order, other, winners, losers = "day/month", "month/day", day_first, month_first
    else:
        order, other, winners, losers = "month/day", "day/month", month_first, day_first
    noun = "date" if winners == 1 else "dates"
    description = f"{order} (decided from {winners} unambiguous {noun}"
    if losers:
        description += f"; {losers} valid only as {other} were read that way"
    return DateOrder(day_first=use_day_first, description=description + ")")


def parse_date(text: str, order: DateOrder) -> dt.date | None:
    """Parse a gift date, or return None when the text is not a valid date.

    Accepts ISO dates (2019-03-05, with or without a time), numeric dates with
    "/", "." or "-" and a two- or four-digit year, YYYYMMDD, Excel serial
    numbers, and English month names ("Mar 5, 2019", "5 March 2019",
    "05-Mar-19"). A numeric date valid only one way is read that way,
    regardless of `order`.
    """
    value = text.strip()
    if match := _YEAR_FIRST.match(value):
        return _make_date(int(match[1]), int(match[3]), int(match[4]))
    if match := _NUMERIC.match(value):
        first, second = int(match[1]), int(match[3])
        year = _full_year(match[4])
        day_first = order.day_first
        if first > 12 >= second:
            day_first = True
        elif second > 12 >= first:
            day_first = False
        if day_first:
            return _make_date(year, second, first)
        return _make_date(year, first, second)
    if match := _COMPACT.match(value):
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _SERIAL.match(value):
        serial = int(match[1])
        if MIN_EXCEL_SERIAL <= serial <= MAX_EXCEL_SERIAL:
            return EXCEL_EPOCH + dt.timedelta(days=serial)
        return None
    if match := _MONTH_NAME_FIRST.match(value):
        month = _MONTHS.get(match[1].casefold())
        return _make_date(int(match[3]), month, int(match[2])) if month else None
    if match := _DAY_FIRST_MONTH_NAME.match(value):
        month = _MONTHS.get(match[2].casefold())
        year = _full_year(match[3])
        return _make_date(year, month, int(match[1])) if month else None
    return None


def _full_year(digits: str) -> int:
    year = int(digits)
    if len(digits) == 2:
        year += 1900 if year >= TWO_DIGIT_YEAR_PIVOT else 2000
    return year


def _make_date(year: int, month: int, day: int) -> dt.date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
