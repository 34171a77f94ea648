"""Gift amounts as CRMs and spreadsheets write them, parsed into integer cents."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Currency signs and the ISO 4217 code each one stands for. A bare "$" gives no
# code, so the gift gets the file's currency column or the default currency.
CURRENCY_SIGNS = {
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "$": None,
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
}
# The largest gift imported, in cents: 1,000,000,000.00 in the gift's currency.
# It is far above any real gift, so a larger value is taken to be an id or a
# typing error. It also keeps amounts inside SQLite's 64-bit INTEGER.
MAX_AMOUNT_CENTS = 100_000_000_000
_MAX_WHOLE_DIGITS = len(str(MAX_AMOUNT_CENTS // 100))
_SIGNS_LONGEST_FIRST = sorted(CURRENCY_SIGNS, key=len, reverse=True)
_CODE_PREFIX = re.compile(r"^([A-Za-z]{3})(?![A-Za-z])\s*")
_CODE_SUFFIX = re.compile(r"(?<![A-Za-z])\s*([A-Za-z]{3})$")
_NUMBER = re.compile(r"^[\d.,' ]*\d[\d.,' ]*$")
_DECIMAL_EVIDENCE = re.compile(r"^\d[\d.,]*?([.,])(\d{1,2})$")


class AmountError(ValueError):
    """An amount that is not a positive sum of money. The message is the reason."""


@dataclass(frozen=True)
class Money:
    """A positive amount in cents, and the currency code written in the cell."""

    cents: int
    currency: str | None


def decide_decimal_comma(texts: Iterable[str]) -> bool:
    """Return True when the amounts of a file use a comma as decimal separator.

    Only amounts whose separator is unambiguous count: "1.234,56" and "12,5"
    vote for a comma, "1,234.56" and "12.50" for a point. A tie means a point.
    """
    comma_votes = 0
    point_votes = 0
    for text in texts:
        digits = re.sub(r"[^\d.,]", "", text)
        if "," in digits and "." in digits:
            last = "," if digits.rfind(",") > digits.rfind(".") else "."
        else:
            match = _DECIMAL_EVIDENCE.match(digits)
            if match is None or digits.count(match.group(1)) != 1:
                continue
            last = match.group(1)
        if last == ",":
            comma_votes += 1
        else:
            point_votes += 1
    return comma_votes > point_votes


def parse_amount(text: str, *, decimal_comma: bool) -> Money:
    """Parse "$1,234.56", "1.234,56", "USD 25", "25 €" and the like.

    `decimal_comma` is True when the file writes decimals with a comma. It
    decides amounts such as "1.234", which mean 1234 in a decimal-comma file
    and are rejected as ambiguous in a decimal-point file. Raises AmountError for
    negative, zero and unparseable amounts, including accounting negatives
    such as "(50.00)", and for amounts above MAX_AMOUNT_CENTS.
    """
    rest, currency, negative = _strip_signs(text)
    if not _NUMBER.match(rest):
        raise AmountError("not a number")
    if negative:
        raise AmountError("negative (refunds and adjustments are not imported)")
    cents = _parse_cents(rest.replace(" ", "").replace("'", ""), decimal_comma)
    if cents == 0:
        raise AmountError("zero")
    return Money(cents=cents, currency=currency)


def _strip_signs(text: str) -> tuple[str, str | None, bool]:
    """Remove currency codes, currency signs and minus signs from both ends."""
    rest = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    currency: str | None = None
    negative = False
    if rest.startswith("(") and rest.endswith(")"):
        negative = True
        rest = rest[1:-1].strip()
    while True:
        before = rest
        if rest.startswith(("-", "+")) or rest.endswith(("-", "+")):
            negative = negative or rest.startswith("-") or rest.endswith("-")
            rest = rest.strip("+-").strip()
        for match in (_CODE_PREFIX.match(rest), _CODE_SUFFIX.search(rest)):
            if match is not None:
                currency = match.group(1).upper()
                rest = (rest[: match.start()] + rest[match.end() :]).strip()
                break
        for sign in _SIGNS_LONGEST_FIRST:
            if rest.startswith(sign) or rest.endswith(sign):
                currency = CURRENCY_SIGNS[sign] or currency
                rest = rest.removeprefix(sign).removesuffix(sign).strip()
                break
        if rest == before:
            return rest, currency, negative


def _parse_cents(digits: str, decimal_comma: bool) -> int:
    decimal = _decimal_separator(digits, decimal_comma)
    if decimal is None:
        integer, fraction = digits, ""
    else:
        integer, _, fraction = digits.partition(decimal)
    thousands = "." if decimal == "," else ","
    if decimal is None and "." in integer:
        thousands = "."
    grouped = rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+"
    if not (re.fullmatch(r"\d*", integer) or re.fullmatch(grouped, integer)):
        raise AmountError("not a number")
    if not fraction.isdigit() and fraction:
        raise AmountError("not a number")
    if len(fraction) > 2 and fraction[2:].strip("0"):
        raise AmountError("more than two decimal places")
    whole_digits = integer.replace(thousands, "").lstrip("0")
    # Comparing lengths first keeps int() away from strings of more than 4300
    # digits, which Python 3.11 rejects with a ValueError.
    if len(whole_digits) <= _MAX_WHOLE_DIGITS:
        cents = int(whole_digits or "0") * 100 + int((fraction + "00")[:2])
        if cents <= MAX_AMOUNT_CENTS:
            return cents
    raise AmountError(f"too large (the maximum is {MAX_AMOUNT_CENTS // 100:,})")


def _decimal_separator(digits: str, decimal_comma: bool) -> str | None:
    """Return the decimal separator of the amount, or None for a whole number."""
    commas = digits.count(",")
    points = digits.count(".")
    if commas and points:
        return "," if digits.rfind(",") > digits.rfind(".") else "."
    if commas + points == 0:
        return None
    separator = "," if commas else "."
    if commas + points > 1:
        return None  # repeated separators group thousands: "1,234,567"
    decimals = len(digits) - digits.index(separator) - 1
    if decimals != 3:
        return separator
    # "1,234" or "1.234": a thousands separator, unless it is the file's decimal
    # separator, because amounts are not written with three decimals.
    file_decimal = "," if decimal_comma else "."
    if separator != file_decimal:
        return None
    raise AmountError(
        f"ambiguous: three digits follow the '{separator}'; write a whole amount "
        "without separators, or at most two decimals"
    )
