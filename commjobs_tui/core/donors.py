"""Donor lists and donor details with giving totals, for the screens and the CLI.

Each list is one SQL statement, with no query per donor. It picks the page of
donor ids first and aggregates the gifts of that page alone, unless the sort or
the segment needs the totals of every donor.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from commjobs_tui.core.errors import NotFoundError
from commjobs_tui.db.models import Donation, Donor
from commjobs_tui.db.store import Store

DONOR_SORT_KEYS = (
    "name",
    "email",
    "gifts",
    "total",
    "last_gift_on",
    "last_gift_amount",
    "tags",
)

_GIFT_SORT_KEYS = frozenset({"gifts", "total", "last_gift_on", "last_gift_amount"})
_LIKE_ESCAPE = "\\"
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DonorRow:
    """One donor with the totals of their gifts. Amounts are integer cents.

    `emailable` is true when the email has the form "x@y" and the donor is not
    marked do-not-contact. Totals add up gifts of every currency as they are.
    """

    id: int
    display_name: str
    email: str | None
    emailable: bool
    do_not_contact: bool
    is_organization: bool
    gift_count: int
    total_cents: int
    first_gift_on: dt.date | None
    last_gift_on: dt.date | None
    last_gift_cents: int | None
    largest_gift_cents: int | None
    tags: str | None
    city: str | None
    state: str | None


@dataclass(frozen=True)
class DonorSegment:
    """Conditions on giving and contact data, all optional and combined with AND.

    Months count back from `today` by calendar month, so 3 months before 31 May is
    28 or 29 February. A donor with no gifts never counts as lapsed and never as
    having given recently, because lapsed means "gave once, then stopped".
    """

    # The last gift is more than this many months before today.
    lapsed_months: int | None = None
    # At least one gift on or after the day this many months before today.
    gave_within_months: int | None = None
    # Total of all gifts, in cents, is at least this.
    min_total_cents: int | None = None
    # True keeps donors with an email of the form "x@y", False those without.
    has_email: bool | None = None

    def __post_init__(self) -> None:
        for name in ("lapsed_months", "gave_within_months", "min_total_cents"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")


@dataclass(frozen=True)
class GiftRow:
    """One gift of a donor. Amounts are integer cents."""

    id: int
    amount_cents: int
    currency: str
    donated_on: dt.date
    campaign: str | None
    fund: str | None


@dataclass(frozen=True)
class DonorDetail:
    """All stored fields of one donor, their gifts (newest first) and totals.

    Times are naive UTC. The totals follow the same rules as `DonorRow`.
    """

    id: int
    display_name: str
    salutation: str | None
    first_name: str | None
    last_name: str | None
    organization_name: str | None
    email: str | None
    phone: str | None
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None
    notes: str | None
    tags: str | None
    do_not_contact: bool
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    emailable: bool
    is_organization: bool
    gift_count: int
    total_cents: int
    first_gift_on: dt.date | None
    last_gift_on: dt.date | None
    last_gift_cents: int | None
    largest_gift_cents: int | None
    gifts: tuple[GiftRow, ...]


def _clean(value: str | None) -> str:
    return _WHITESPACE.sub(" ", value or "").strip()


def display_name(
    first_name: str | None,
    last_name: str | None,
    organization_name: str | None,
    *,
    salutation: str | None = None,
    donor_id: int | None = None,
) -> str:
    """Build the name shown for a donor in lists and details.

    A person's first and last name come first ("Nicole and Samuel Chapman"), then
    the organisation name, then the salutation with the last name ("Mr Wang"). A
    record with no name at all shows as "Donor #12", or "(no name)" without an id.
    """
    first = _clean(first_name)
    last = _clean(last_name)
    if first:
        return f"{first} {last}".strip()
    organization = _clean(organization_name)
    if organization:
        return organization
    if last:
        return f"{_clean(salutation)} {last}".strip()
    if donor_id is not None:
        return f"Donor #{donor_id}"
    return "(no name)"


def is_organization(
    first_name: str | None, last_name: str | None, organization_name: str | None
) -> bool:
    """Tell whether the record is an organisation: a name with no person's name.

    A person's record with an employer in `organization_name` is not one.
    """
    return bool(_clean(organization_name)) and not (
        _clean(first_name) or _clean(last_name)
    )


def has_email_address(email: str | None) -> bool:
    """Check that the email has an "@" with text on both sides.

    Spaces around it are ignored, the same test as `_has_email_sql`.
    """
    return "@" in (email or "").strip(" ")[1:-1]


def months_before(day: dt.date, months: int) -> dt.date:
    """Step back whole calendar months, clamping the day to the month's length."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last_day))


def _gift_stats(
    donor_ids: Select[Any] | None = None, *, with_last_amount: bool = True
) -> Subquery:
    """Aggregate the gifts of the donors in `donor_ids`, or of every donor.

    The last gift is the newest by date, and of two gifts on one day the one with
    the higher id. Finding its amount costs one index lookup per donor, so an
    aggregate over all donors leaves it out unless the caller needs it.
    """
    columns: list[Any] = [
        Donation.donor_id,
        func.count().label("gift_count"),
        func.sum(Donation.amount_cents).label("total_cents"),
        func.min(Donation.donated_on).label("first_gift_on"),
        func.max(Donation.donated_on).label("last_gift_on"),
        func.max(Donation.amount_cents).label("largest_gift_cents"),
    ]
    if with_last_amount:
        newer = aliased(Donation, name="newest_gift")
        last_amount = (
            select(newer.amount_cents)
            .where(newer.donor_id == Donation.donor_id)
            .order_by(newer.donated_on.desc(), newer.id.desc())
            .limit(1)
            .correlate(Donation)
            .scalar_subquery()
        )
        columns.append(last_amount.label("last_gift_cents"))
    statement = select(*columns)
    if donor_ids is not None:
        statement = statement.where(Donation.donor_id.in_(donor_ids))
    # Grouping by an expression keeps SQLite from walking the donor_id index,
    # which reads the table in random order. A scan and a sort took about 250 ms
    # instead of 500 ms for 200,000 gifts (SQLite 3.40 via Python 3.11, 2-core VM).
    return statement.group_by(Donation.donor_id + 0).subquery("gift_stats")


def _blank_to_null(column: Any) -> ColumnElement[Any]:
    return func.nullif(func.trim(column), "")


def _has_email_sql() -> ColumnElement[bool]:
    # "_" matches one character, so this is "an @ with text on both sides".
    return func.coalesce(func.trim(Donor.email), "").like("%_@_%")


def _like_patterns(word: str) -> list[str]:
    """Build patterns that find `word` anywhere in a text, ignoring case.

    SQLite's LIKE folds ASCII letters only, so the word is also searched in lower
    and upper case, which finds "José" for "JOSÉ" and the reverse.
    """
    escaped = (
        word.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return sorted({f"%{escaped}%", f"%{escaped.lower()}%", f"%{escaped.upper()}%"})


def _text_condition(text: str) -> ColumnElement[bool] | None:
    """Match every word of `text` in at least one searched field.

    The searched fields are first, last and organisation name, email, tags and
    city. "julia morrison" finds Julia Morrison although the two words sit in
    different columns.
    """
    words = _clean(text).split(" ")
    fields = (
        Donor.first_name,
        Donor.last_name,
        Donor.organization_name,
        Donor.email,
        Donor.tags,
        Donor.city,
    )
    conditions = []
    for word in words:
        if not word:
            continue
        patterns = _like_patterns(word)
        conditions.append(
            or_(
                *(
                    field.like(pattern, escape=_LIKE_ESCAPE)
                    for field in fields
                    for pattern in patterns
                )
            )
        )
    if not conditions:
        return None
    return and_(*conditions)


def _donor_conditions(
    text: str | None, segment: DonorSegment | None
) -> list[ColumnElement[bool]]:
    """Build the conditions on the donors table alone."""
    conditions: list[ColumnElement[bool]] = []
    if text:
        condition = _text_condition(text)
        if condition is not None:
            conditions.append(condition)
    if segment is not None and segment.has_email is not None:
        has_email = _has_email_sql()
        conditions.append(has_email if segment.has_email else ~has_email)
    return conditions


def _needs_gift_stats(sort: str, segment: DonorSegment | None) -> bool:
    """Tell whether sorting or filtering needs the totals of every donor."""
    if sort in _GIFT_SORT_KEYS:
        return True
    if segment is None:
        return False
    return (
        segment.lapsed_months is not None
        or segment.gave_within_months is not None
        or segment.min_total_cents is not None
    )


def _gift_conditions(
    segment: DonorSegment | None, stats: Subquery, today: dt.date
) -> list[ColumnElement[bool]]:
    """Build the segment conditions on the gift totals in `stats`."""
    conditions: list[ColumnElement[bool]] = []
    if segment is None:
        return conditions
    if segment.lapsed_months is not None:
        cutoff = months_before(today, segment.lapsed_months)
        conditions.append(stats.c.last_gift_on < cutoff)
    if segment.gave_within_months is not None:
        cutoff = months_before(today, segment.gave_within_months)
        conditions.append(stats.c.last_gift_on >= cutoff)
    if segment.min_total_cents is not None:
        total = func.coalesce(stats.c.total_cents, 0)
        conditions.append(total >= segment.min_total_cents)
    return conditions


def _matching_donors(
    *,
    text: str | None,
    segment: DonorSegment | None,
    today: dt.date,
    sort: str,
) -> tuple[Select[Any], Subquery | None]:
    """Select the ids of the matching donors, joined to their totals when needed.

    The totals of every donor are computed only when the sort or the segment needs
    them. A text filter restricts that aggregate to the donors it matches.
    """
    donor_conditions = _donor_conditions(text, segment)
    statement = select(Donor.id).where(*donor_conditions)
    if not _needs_gift_stats(sort, segment):
        return statement, None
    scope = select(Donor.id).where(*donor_conditions) if text else None
    stats = _gift_stats(scope, with_last_amount=sort == "last_gift_amount")
    statement = statement.outerjoin(stats, stats.c.donor_id == Donor.id).where(
        *_gift_conditions(segment, stats, today)
    )
    return statement, stats


def _name_sort_key() -> ColumnElement[Any]:
    # People sort by last name, organisations by their name, as CRMs list them.
    return func.lower(
        func.coalesce(
            _blank_to_null(Donor.last_name),
            _blank_to_null(Donor.organization_name),
            _blank_to_null(Donor.first_name),
        )
    )


def _sort_column(sort: str, stats: Subquery | None) -> ColumnElement[Any]:
    """Return the expression to sort by. `list_donors` has checked the key."""
    if sort == "name":
        return _name_sort_key()
    if sort == "email":
        return func.lower(_blank_to_null(Donor.email))
    if sort == "tags":
        return func.lower(_blank_to_null(Donor.tags))
    assert stats is not None, f"sorting by {sort!r} needs the gift totals"
    if sort == "gifts":
        return func.coalesce(stats.c.gift_count, 0)
    if sort == "total":
        return func.coalesce(stats.c.total_cents, 0)
    if sort == "last_gift_on":
        return stats.c.last_gift_on
    assert sort == "last_gift_amount", f"unknown sort key {sort!r}"
    return stats.c.last_gift_cents


def _order_by(
    sort: str, descending: bool, stats: Subquery | None
) -> list[ColumnElement[Any]]:
    """Order by the sort column with empty values last in both directions.

    Name, first name and id break ties, so the pages of one listing never overlap.
    """
    column = _sort_column(sort, stats)
    direction = column.desc() if descending else column.asc()
    return [
        column.is_(None).asc(),
        direction,
        _name_sort_key().asc(),
        func.lower(_blank_to_null(Donor.first_name)).asc(),
        Donor.id.asc(),
    ]


def _derived_fields(donor: Any) -> dict[str, Any]:
    """Compute the name and contact flags of a Donor or of a row with its columns."""
    return {
        "display_name": display_name(
            donor.first_name,
            donor.last_name,
            donor.organization_name,
            salutation=donor.salutation,
            donor_id=donor.id,
        ),
        "emailable": has_email_address(donor.email) and not donor.do_not_contact,
        "is_organization": is_organization(
            donor.first_name, donor.last_name, donor.organization_name
        ),
    }


def _row_from(record: Any) -> DonorRow:
    return DonorRow(
        id=record.id,
        email=record.email,
        do_not_contact=bool(record.do_not_contact),
        gift_count=record.gift_count or 0,
        total_cents=record.total_cents or 0,
        first_gift_on=record.first_gift_on,
        last_gift_on=record.last_gift_on,
        last_gift_cents=record.last_gift_cents,
        largest_gift_cents=record.largest_gift_cents,
        tags=record.tags,
        city=record.city,
        state=record.state,
        **_derived_fields(record),
    )


async def list_donors(
    store: Store,
    *,
    text: str | None = None,
    segment: DonorSegment | None = None,
    today: dt.date,
    sort: str = "name",
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[DonorRow]:
    """List donors with their giving totals, filtered, sorted and paged.

    `text` keeps donors whose name, organisation, email, tags or city contain
    every word of it, ignoring case. `sort` is one of DONOR_SORT_KEYS, and empty
    values sort last whichever the direction. Raises ValueError for an unknown
    sort key or a negative limit or offset.

    The statement first picks the page of donor ids, then aggregates the gifts of
    that page alone, so a page sorted by name costs little at any size.
    """
    if sort not in DONOR_SORT_KEYS:
        raise ValueError(
            f"unknown sort key {sort!r}. Use one of: {', '.join(DONOR_SORT_KEYS)}"
        )
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")
    matching, all_stats = _matching_donors(
        text=text, segment=segment, today=today, sort=sort
    )
    matching = matching.order_by(*_order_by(sort, descending, all_stats))
    if limit is not None:
        matching = matching.limit(limit)
    if offset:
        matching = matching.offset(offset)
    page = matching.cte("page")
    stats = _gift_stats(select(page.c.id))
    statement = (
        select(
            Donor.id,
            Donor.salutation,
            Donor.first_name,
            Donor.last_name,
            Donor.organization_name,
            Donor.email,
            Donor.do_not_contact,
            Donor.tags,
            Donor.city,
            Donor.state,
            stats.c.gift_count,
            stats.c.total_cents,
            stats.c.first_gift_on,
            stats.c.last_gift_on,
            stats.c.last_gift_cents,
            stats.c.largest_gift_cents,
        )
        .join(page, page.c.id == Donor.id)
        .outerjoin(stats, stats.c.donor_id == Donor.id)
        .order_by(*_order_by(sort, descending, stats))
    )
    async with store.session() as session:
        records = (await session.execute(statement)).all()
    return [_row_from(record) for record in records]


async def count_donors(
    store: Store,
    *,
    text: str | None = None,
    segment: DonorSegment | None = None,
    today: dt.date,
) -> int:
    """Count the donors that `list_donors` returns for the same filters."""
    matching, _stats = _matching_donors(
        text=text, segment=segment, today=today, sort="name"
    )
    statement = select(func.count()).select_from(matching.subquery("matching"))
    async with store.session() as session:
        return int((await session.execute(statement)).scalar_one())


def _gift_totals(gifts: Sequence[GiftRow]) -> dict[str, Any]:
    """Compute the DonorRow totals from gifts sorted newest first."""
    if not gifts:
        return {
            "gift_count": 0,
            "total_cents": 0,
            "first_gift_on": None,
            "last_gift_on": None,
            "last_gift_cents": None,
            "largest_gift_cents": None,
        }
    return {
        "gift_count": len(gifts),
        "total_cents": sum(gift.amount_cents for gift in gifts),
        "first_gift_on": min(gift.donated_on for gift in gifts),
        "last_gift_on": gifts[0].donated_on,
        "last_gift_cents": gifts[0].amount_cents,
        "largest_gift_cents": max(gift.amount_cents for gift in gifts),
    }


async def get_donor(store: Store, donor_id: int) -> DonorDetail:
    """Load one donor with all their gifts. Raises NotFoundError if it is missing."""
    gifts_statement = (
        select(Donation)
        .where(Donation.donor_id == donor_id)
        .order_by(Donation.donated_on.desc(), Donation.id.desc())
    )
    async with store.session() as session:
        donor = await session.get(Donor, donor_id)
        if donor is None:
            raise NotFoundError(
                f"donor {donor_id} not found. It may have been deleted, "
                "so reload the donor list."
            )
        donations = (await session.scalars(gifts_statement)).all()
    gifts = tuple(
        GiftRow(
            id=gift.id,
            amount_cents=gift.amount_cents,
            currency=gift.currency,
            donated_on=gift.donated_on,
            campaign=gift.campaign,
            fund=gift.fund,
        )
        for gift in donations
    )
    return DonorDetail(
        id=donor.id,
        salutation=donor.salutation,
        first_name=donor.first_name,
        last_name=donor.last_name,
        organization_name=donor.organization_name,
        email=donor.email,
        phone=donor.phone,
        street=donor.street,
        city=donor.city,
        state=donor.state,
        postal_code=donor.postal_code,
        country=donor.country,
        notes=donor.notes,
        tags=donor.tags,
        do_not_contact=donor.do_not_contact,
        external_id=donor.external_id,
        created_at=donor.created_at,
        updated_at=donor.updated_at,
        gifts=gifts,
        **_derived_fields(donor),
        **_gift_totals(gifts),
    )
