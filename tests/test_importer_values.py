"""Donor import: parsing amounts, dates, names, emails and addresses."""

from __future__ import annotations

import datetime as dt

import pytest

from commjobs_tui.core.importing.contact import (
    MailingAddress,
    clean_email,
    normalize_country,
    normalize_postal_code,
    normalize_state,
    split_mailing_address,
)
from commjobs_tui.core.importing.dates import (
    DateOrder,
    decide_date_order,
    parse_date,
)
from commjobs_tui.core.importing.money import (
    AmountError,
    Money,
    decide_decimal_comma,
    parse_amount,
)
from commjobs_tui.core.importing.names import PersonName, split_full_name
from commjobs_tui.core.importing.source import choose_delimiter

MONTH_FIRST = DateOrder(day_first=False, description="month/day")
DAY_FIRST = DateOrder(day_first=True, description="day/month")


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("$1,234.56", False, Money(123456, None)),
        ("1.234,56", True, Money(123456, None)),
        ("1234", False, Money(123400, None)),
        ("USD 25", False, Money(2500, "USD")),
        ("25 usd", False, Money(2500, "USD")),
        ("€45,50", True, Money(4550, "EUR")),
        ("£10", False, Money(1000, "GBP")),
        ("C$ 20.00", False, Money(2000, "CAD")),
        ("1,000,000", False, Money(100_000_000, None)),
        ("1.000.000,00", True, Money(100_000_000, None)),
        ("1.500", True, Money(150_000, None)),
        ("10.123", True, Money(1_012_300, None)),
        ("1,500", False, Money(150_000, None)),
        ("12,5", False, Money(1250, None)),
        ("0.5", False, Money(50, None)),
        ("1'234.50", False, Money(123450, None)),
        ("1 234,50", True, Money(123450, None)),
        ("25.0000", False, Money(2500, None)),
        ("+30", False, Money(3000, None)),
        ("1,000,000,000.00", False, Money(100_000_000_000, None)),
        ("000000000001000000000", False, Money(100_000_000_000, None)),
    ],
)
def test_parse_amount_valid(text: str, decimal_comma: bool, expected: Money) -> None:
    assert parse_amount(text, decimal_comma=decimal_comma) == expected


@pytest.mark.parametrize(
    ("text", "decimal_comma", "reason"),
    [
        ("(50.00)", False, "negative"),
        ("-25", False, "negative"),
        ("$-25", False, "negative"),
        ("25-", False, "negative"),
        ("0", False, "zero"),
        ("0,00", True, "zero"),
        ("abc", False, "not a number"),
        ("12 apples", False, "not a number"),
        ("", False, "not a number"),
        ("12.345", False, "ambiguous"),
        ("12,345", True, "ambiguous"),
        ("1.2.3,4", False, "not a number"),
        ("1.23456", False, "more than two decimal places"),
        ("99999999999999999999", False, "too large"),
        ("1,000,000,000.01", False, "too large"),
        ("1.000.000.001", True, "too large"),
        pytest.param("9" * 5000, False, "too large", id="5000 digits"),
    ],
)
def test_parse_amount_rejects(text: str, decimal_comma: bool, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        parse_amount(text, decimal_comma=decimal_comma)


def test_decimal_comma_decided_by_votes() -> None:
    assert decide_decimal_comma(["1.234,56", "12,50", "7"]) is True
    assert decide_decimal_comma(["1,234.56", "12.50", "12,50"]) is False
    assert decide_decimal_comma(["1,500", "25", ""]) is False


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2019-03-05", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("2019-03-05T14:30:00Z", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("2024-04-12 18:22:05", DAY_FIRST, dt.date(2024, 4, 12)),
        ("2019/3/5", DAY_FIRST, dt.date(2019, 3, 5)),
        ("3/5/2019", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("3/5/2019", DAY_FIRST, dt.date(2019, 5, 3)),
        ("3/5/2019 10:00 AM", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("12/31/2019", DAY_FIRST, dt.date(2019, 12, 31)),
        ("31/12/2019", MONTH_FIRST, dt.date(2019, 12, 31)),
        ("31.12.2019", DAY_FIRST, dt.date(2019, 12, 31)),
        ("5.3.2019", DAY_FIRST, dt.date(2019, 3, 5)),
        ("3/5/19", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("3/5/69", MONTH_FIRST, dt.date(1969, 3, 5)),
        ("03-05-2019", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("20190305", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("43529", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("43529.75", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("Mar 5, 2019", DAY_FIRST, dt.date(2019, 3, 5)),
        ("March 5th 2019", DAY_FIRST, dt.date(2019, 3, 5)),
        ("5 March 2019", MONTH_FIRST, dt.date(2019, 3, 5)),
        ("05-Mar-19", MONTH_FIRST, dt.date(2019, 3, 5)),
    ],
)
def test_parse_date_valid(text: str, order: DateOrder, expected: dt.date) -> None:
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2019",
        "13/13/2019",
        "2019-02-30",
        "0/1/2019",
        "1/1/1850",
        "12345",
        "soon",
        "99999",
        "99999999999999999999",
        "99999999-99-99",
    ],
)
def test_parse_date_rejects(text: str) -> None:
    assert parse_date(text, MONTH_FIRST) is None


def test_date_order_from_unambiguous_dates() -> None:
    order = decide_date_order(["3/4/2019", "25/12/2019", "13/1/2020", "", "x"])

    assert order.day_first is True
    assert order.description == "day/month (decided from 2 unambiguous dates)"


def test_date_order_reports_contradictions() -> None:
    order = decide_date_order(["12/25/2019", "12/26/2019", "25/12/2019"])

    assert order.day_first is False
    assert order.description == (
        "month/day (decided from 2 unambiguous dates; "
        "1 valid only as day/month were read that way)"
    )


def test_date_order_without_evidence() -> None:
    slashes = decide_date_order(["3/4/2019", "5/6/2019"])
    dots = decide_date_order(["3.4.2019", "5.6.2019"])
    iso = decide_date_order(["2019-03-04", "43529"])

    assert slashes.day_first is False
    assert slashes.description == "month/day (assumed, because every date is ambiguous)"
    assert dots.day_first is True
    assert iso.description == "not needed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Jane Q. Public Jr.", PersonName("Dr.", "Jane", "Public Jr.")),
        ("Public, Jane", PersonName("", "Jane", "Public")),
        ("Public, Dr. Jane Q.", PersonName("Dr.", "Jane", "Public")),
        ("Jane Public, PhD", PersonName("", "Jane", "Public PhD")),
        ("Jane and John Smith", PersonName("", "Jane and John", "Smith")),
        ("Jane & John Smith", PersonName("", "Jane & John", "Smith")),
        ("Jane Doe and John Smith", PersonName("", "Jane and John", "Doe and Smith")),
        ("Mr. and Mrs. John Smith", PersonName("Mr. and Mrs.", "John", "Smith")),
        ("Ludwig van Beethoven", PersonName("", "Ludwig", "van Beethoven")),
        ("Mary Ann Smith", PersonName("", "Mary Ann", "Smith")),
        ("Cher", PersonName("", "Cher", "")),
        ("  ", PersonName()),
    ],
)
def test_split_full_name(text: str, expected: PersonName) -> None:
    assert split_full_name(text) == expected


@pytest.mark.parametrize(
    ("text", "email", "problem"),
    [
        (" Jane.Doe@Example.ORG ", "jane.doe@example.org", None),
        ("mailto:jane@example.org", "jane@example.org", None),
        ("<jane@example.org>", "jane@example.org", None),
        ("", None, None),
        ("jane.example.org", None, "no @"),
        ("jane doe@example.org", None, "contains a space"),
        ("jane@@example.org", None, "more than one @"),
        ("jane@example", None, "the domain has no dot"),
        ("jane@exa_mple.org", None, "invalid domain"),
        ("jane@.example.org", None, "invalid domain"),
        (".jane@example.org", None, "invalid name before the @"),
        ("a@x.org; b@y.org", "a@x.org", "kept the first of 2 emails"),
    ],
)
def test_clean_email(text: str, email: str | None, problem: str | None) -> None:
    check = clean_email(text)

    assert check.email == email
    if problem is None:
        assert check.problem is None
    else:
        assert check.problem is not None
        assert problem in check.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("California", "CA"),
        ("Calif", "CA"),
        ("Calif.", "CA"),
        ("CA", "CA"),
        ("ca", "CA"),
        ("N.Y.", "NY"),
        ("new  york", "NY"),
        ("Wash. D.C.", "DC"),
        ("Ontario", "Ontario"),
    ],
)
def test_normalize_us_state(text: str, expected: str) -> None:
    assert normalize_state(text, "United States") == expected
    assert normalize_state(text, "") == expected


def test_state_of_other_country_is_kept() -> None:
    assert normalize_state("Wash.", "Canada") == "Wash."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("US", "United States"),
        ("USA", "United States"),
        ("U.S.", "United States"),
        ("U.S.A.", "United States"),
        ("united states of america", "United States"),
        ("UK", "United Kingdom"),
        ("Deutschland", "Germany"),
        ("  Narnia ", "Narnia"),
    ],
)
def test_normalize_country(text: str, expected: str) -> None:
    assert normalize_country(text) == expected


@pytest.mark.parametrize(
    ("text", "country", "state", "expected"),
    [
        ("7076", "United States", "NJ", "07076"),
        ("7076", "", "NJ", "07076"),
        ("501", "United States", "NY", "00501"),
        ("7076-1234", "United States", "NJ", "07076-1234"),
        ("70761234", "United States", "NJ", "07076-1234"),
        ("94110", "United States", "CA", "94110"),
        ("7076", "Germany", "", "7076"),
        ("7076", "", "", "7076"),
        ("k1a0b1", "Canada", "ON", "K1A 0B1"),
        ("SW1A 1AA", "United Kingdom", "", "SW1A 1AA"),
    ],
)
def test_normalize_postal_code(
    text: str, country: str, state: str, expected: str
) -> None:
    assert normalize_postal_code(text, country=country, state=state) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "123 Main St  Springfield  IL  62701  US",
            MailingAddress("123 Main St", "Springfield", "IL", "62701", "US"),
        ),
        (
            "19 Harbor Rd  Apt 2  Gloucester  MA  01930  US",
            MailingAddress("19 Harbor Rd, Apt 2", "Gloucester", "MA", "01930", "US"),
        ),
        (
            "12 High St  London  SW1A 1AA  UK",
            MailingAddress("12 High St", "London", "", "SW1A 1AA", "UK"),
        ),
        ("PO Box 5, Springfield", MailingAddress(street="PO Box 5, Springfield")),
        ("", MailingAddress()),
    ],
)
def test_split_mailing_address(text: str, expected: MailingAddress) -> None:
    assert split_mailing_address(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name,Email\nAda,ada@example.org\n", ","),
        ("Name;Amount\nAda;12,50\nAlan;1.234,00\n", ";"),
        ("Name\tNotes\nAda\tlikes commas, semicolons; and tabs\n", "\t"),
        ('"Last, First";Email\n"Byron, Ada";ada@example.org\n', ";"),
        ("Email\nada@example.org\n", ","),
    ],
)
def test_choose_delimiter(text: str, expected: str) -> None:
    assert choose_delimiter(text) == expected
