"""Turning one CSV row into cleaned donor fields and at most one gift."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from commjobs_tui.core.importing.contact import (
    clean_email,
    is_organization_flag,
    is_true,
    normalize_country,
    normalize_postal_code,
    normalize_state,
    split_mailing_address,
)
from commjobs_tui.core.importing.dates import DateOrder, parse_date
from commjobs_tui.core.importing.layouts import NPSP, ColumnMap, Field
from commjobs_tui.core.importing.money import AmountError, parse_amount
from commjobs_tui.core.importing.names import looks_like_organization, split_full_name
from commjobs_tui.core.importing.source import Record
from commjobs_tui.core.importing.summary import SkippedRow

DEFAULT_CURRENCY = "USD"
MAX_EXTERNAL_ID_LENGTH = 100  # Donor.external_id is String(100)
# Gift statuses (NPSP stages, payment states) of money that never arrived.
FAILED_GIFT_STATUSES = frozenset(
    {
        "closedlost",
        "lost",
        "failed",
        "declined",
        "refunded",
        "cancelled",
        "canceled",
        "void",
        "voided",
        "disputed",
        "chargeback",
        "writtenoff",
    }
)
# Donor columns the importer fills, in the order of the Donor model.
DONOR_FIELDS = (
    "salutation",
    "first_name",
    "last_name",
    "organization_name",
    "email",
    "phone",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "notes",
    "tags",
)


@dataclass(frozen=True)
class GiftRow:
    """A valid gift read from one row. Amounts are integer cents."""

    line: int
    amount_cents: int
    currency: str
    donated_on: dt.date
    campaign: str | None
    fund: str | None
    gift_id: str | None


@dataclass
class ParsedRow:
    """The cleaned contents of one data row.

    `fields` has only non-empty values, keyed by Donor column name, so that an
    empty cell never replaces a stored value.
    """

    line: int
    external_id: str | None
    fields: dict[str, str]
    do_not_contact: bool
    gift: GiftRow | None
    notes: list[str] = field(default_factory=list)

    @property
    def email(self) -> str | None:
        return self.fields.get("email")

    @property
    def name_key(self) -> tuple[str, str, str] | None:
        """The casefolded first, last and organisation name, if any is set."""
        names = tuple(
            self.fields.get(name, "").casefold()
            for name in ("first_name", "last_name", "organization_name")
        )
        return (names[0], names[1], names[2]) if any(names) else None


@dataclass(frozen=True)
class FileRules:
    """Decisions taken once per file and applied to every row."""

    columns: ColumnMap
    date_order: DateOrder
    decimal_comma: bool


def person_key(name: str) -> str:
    """Return a name casefolded with spaces collapsed and "&" written as "and"."""
    return " ".join(name.casefold().replace("&", " and ").split())


def limit_id(value: str, max_length: int) -> str:
    """Return the id, or a hash of it when it is longer than the column allows."""
    if len(value) <= max_length:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    prefix = value.split(":", 1)[0]
    return f"{prefix}:sha256:{digest}"


class NpspIdentity:
    """External ids for rows of an NPSP household export.

    The id of a person is "npsp:<household number>:<first name>". Household
    members follow their household's first row with an empty household cell,
    so the last household number seen applies to them. The first name, not the
    full name, identifies the person within the household, because last names
    change: household 11 lists "Andrea Torres" and later "Andrea Morales
    Torres", both at the same address and phone, and they are one donor.
    The "Former ID" column cannot be the id, because it differs on every row,
    including those two.

    NOTE: two members of one household with the same first name become one
    donor.

    Organisations (rows with no person name) belong to no household and get
    "npsp:org:<organisation name>". A person row before any household number
    falls back to "npsp:former:<Former ID>".
    """

    def __init__(self) -> None:
        self.household: str | None = None

    def external_id(
        self, row: ParsedRow, columns: ColumnMap, cells: Sequence[str]
    ) -> str | None:
        first = row.fields.get("first_name", "")
        last = row.fields.get("last_name", "")
        organization = row.fields.get("organization_name", "")
        if not first and not last:
            if organization:
                return f"{NPSP.key}:org:{person_key(organization)}"
            return None
        household = columns.value(cells, Field.HOUSEHOLD)
        if household:
            self.household = household
        if self.household is not None:
            return f"{NPSP.key}:{self.household}:{person_key(first or last)}"
        former_id = columns.value(cells, Field.FORMER_ID)
        if former_id:
            return f"{NPSP.key}:former:{former_id}"
        return None


def parse_row(
    record: Record, rules: FileRules, npsp: NpspIdentity | None
) -> ParsedRow | SkippedRow:
    """Clean one row, or return why it was skipped.

    A gift that cannot be imported (bad amount or date, failed payment) leaves
    the donor in and adds a note. `npsp` is given for NPSP files only.
    """
    columns = rules.columns
    cells = record.cells
    width = len(columns.header)
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return SkippedRow(
            record.line,
            f"{len(cells)} cells but the header has {width} columns; a value with "
            "a comma may be missing its quotes",
        )

    row = ParsedRow(
        line=record.line, external_id=None, fields={}, do_not_contact=False, gift=None
    )
    _read_names(row, columns, cells)
    email_problem = _read_email(row, columns, cells)
    _read_address(row, columns, cells)
    _store_non_empty(
        row,
        phone=columns.value(cells, Field.PHONE),
        notes=columns.value(cells, Field.NOTES),
        tags=_clean_tags(columns.value(cells, Field.TAGS)),
    )
    _read_opt_out(row, columns, cells)

    if row.name_key is None and row.email is None:
        reason = "no name, organisation or email"
        if email_problem is not None:
            reason = f"no name or organisation, and {email_problem}"
        return SkippedRow(record.line, reason)

    if npsp is not None:
        row.external_id = npsp.external_id(row, columns, cells)
    else:
        donor_id = columns.value(cells, Field.DONOR_ID)
        if donor_id:
            row.external_id = f"{columns.layout.key}:{donor_id}"
    if row.external_id is not None:
        row.external_id = limit_id(row.external_id, MAX_EXTERNAL_ID_LENGTH)
    row.gift = _read_gift(row, rules, cells)
    return row


def _clean(text: str) -> str:
    return " ".join(text.split())


def _store_non_empty(row: ParsedRow, **values: str) -> None:
    row.fields.update({name: value for name, value in values.items() if value})


def _read_names(row: ParsedRow, columns: ColumnMap, cells: Sequence[str]) -> None:
    first = _clean(columns.value(cells, Field.FIRST_NAME))
    last = _clean(columns.value(cells, Field.LAST_NAME))
    salutation = _clean(columns.value(cells, Field.SALUTATION))
    organization = _clean(columns.value(cells, Field.ORGANIZATION))
    full_name = _clean(columns.value(cells, Field.FULL_NAME))
    if is_organization_flag(columns.value(cells, Field.IS_ORGANIZATION)):
        # NOTE: a contact person on an organisation record is not imported.
        organization = organization or full_name or _clean(f"{first} {last}")
        first = last = salutation = ""
    elif not first and not last and full_name:
        if not organization and looks_like_organization(full_name):
            organization = full_name
        else:
            split = split_full_name(full_name)
            first, last = split.first_name, split.last_name
            salutation = salutation or split.salutation
    suffix = _clean(columns.value(cells, Field.SUFFIX))
    if suffix and last:
        last = f"{last} {suffix}"
    _store_non_empty(
        row,
        salutation=salutation,
        first_name=first,
        last_name=last,
        organization_name=organization,
    )


def _read_email(row: ParsedRow, columns: ColumnMap, cells: Sequence[str]) -> str | None:
    """Store the first valid email of the row's email columns.

    Return the problem with the first non-empty email cell when none is valid,
    after adding it to the row's notes.
    """
    problem: str | None = None
    for index in columns.indexes.get(Field.EMAIL, ()):
        if index >= len(cells) or not cells[index].strip():
            continue
        check = clean_email(cells[index])
        if check.email is not None:
            row.fields["email"] = check.email
            if check.problem is not None:
                row.notes.append(check.problem)
            return None
        problem = problem or check.problem
    if problem is not None:
        row.notes.append(f"{problem}; the email was not stored")
    return problem


def _read_address(row: ParsedRow, columns: ColumnMap, cells: Sequence[str]) -> None:
    mailing = split_mailing_address(columns.value(cells, Field.MAILING_ADDRESS))
    street = ", ".join(
        part
        for part in (
            _clean(columns.value(cells, Field.STREET)),
            _clean(columns.value(cells, Field.STREET2)),
        )
        if part
    )
    city = _clean(columns.value(cells, Field.CITY))
    state = _clean(columns.value(cells, Field.STATE))
    postal_code = columns.value(cells, Field.POSTAL_CODE)
    country = _clean(columns.value(cells, Field.COUNTRY))
    if not (street or city or state or postal_code or country):
        street, city, state = mailing.street, mailing.city, mailing.state
        postal_code, country = mailing.postal_code, mailing.country
    country = normalize_country(country) if country else ""
    state = normalize_state(state, country) if state else ""
    postal_code = normalize_postal_code(postal_code, country=country, state=state)
    _store_non_empty(
        row,
        street=street,
        city=city,
        state=state,
        postal_code=postal_code,
        country=country,
    )


def _clean_tags(text: str) -> str:
    """Return tags as "a, b, c". Mailchimp quotes each tag: "Donor","Board"."""
    tags = [tag.strip().strip('"').strip() for tag in text.split(",")]
    return ", ".join(tag for tag in tags if tag)


def _read_opt_out(row: ParsedRow, columns: ColumnMap, cells: Sequence[str]) -> None:
    for index in columns.indexes.get(Field.OPTED_OUT, ()):
        value = cells[index].strip() if index < len(cells) else ""
        if is_true(value):
            row.do_not_contact = True
            row.notes.append(
                f"marked do not contact ({columns.header[index]} is '{value}')"
            )
            return
    unsubscribed = columns.cell(cells, Field.UNSUBSCRIBED_AT)
    if unsubscribed is not None:
        row.do_not_contact = True
        row.notes.append(f"marked do not contact (unsubscribed {unsubscribed[1]})")


def _read_gift(
    row: ParsedRow, rules: FileRules, cells: Sequence[str]
) -> GiftRow | None:
    columns = rules.columns
    amount_text = columns.value(cells, Field.AMOUNT)
    date_text = columns.value(cells, Field.DATE)
    if not amount_text and not date_text:
        return None

    status = columns.value(cells, Field.GIFT_STATUS)
    status_key = "".join(char for char in status.casefold() if char.isalnum())
    if status_key in FAILED_GIFT_STATUSES:
        row.notes.append(f"gift not imported: its status is '{status}'")
        return None

    if not amount_text:
        row.notes.append(f"gift dated '{date_text}' has no amount; gift not imported")
        return None
    try:
        money = parse_amount(amount_text, decimal_comma=rules.decimal_comma)
    except AmountError as exc:
        row.notes.append(f"invalid amount '{amount_text}': {exc}; gift not imported")
        return None
    if not date_text:
        row.notes.append(f"gift of '{amount_text}' has no date; gift not imported")
        return None
    donated_on = parse_date(date_text, rules.date_order)
    if donated_on is None:
        row.notes.append(f"invalid date '{date_text}'; gift not imported")
        return None

    currency_cell = columns.value(cells, Field.CURRENCY).upper()
    if len(currency_cell) == 3 and currency_cell.isalpha():
        currency = currency_cell
    else:
        currency = money.currency or DEFAULT_CURRENCY
    return GiftRow(
        line=row.line,
        amount_cents=money.cents,
        currency=currency,
        donated_on=donated_on,
        campaign=_clean(columns.value(cells, Field.CAMPAIGN)) or None,
        fund=_clean(columns.value(cells, Field.FUND)) or None,
        gift_id=columns.value(cells, Field.GIFT_ID) or None,
    )
