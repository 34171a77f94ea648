"""The donors service against real SQLite files: totals, filters, sorts, segments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from commjobs_tui.core.donors import (
    DONOR_SORT_KEYS,
    DonorRow,
    DonorSegment,
    count_donors,
    display_name,
    get_donor,
    has_email_address,
    is_organization,
    list_donors,
    months_before,
)
from commjobs_tui.core.errors import NotFoundError
from commjobs_tui.db.models import Donation, Donor
from commjobs_tui.db.store import Store

TODAY = dt.date(2025, 6, 15)


def gift(amount_cents: int, donated_on: str, **fields: Any) -> Donation:
    return Donation(
        amount_cents=amount_cents,
        donated_on=dt.date.fromisoformat(donated_on),
        **fields,
    )


async def add_donors(store: Store, *donors: Donor) -> list[int]:
    async with store.session() as session:
        session.add_all(donors)
        await session.commit()
        return [donor.id for donor in donors]


@pytest.fixture
async def people(store: Store) -> dict[str, int]:
    """Five donors with known gifts, named by their role in the tests."""
    ids = await add_donors(
        store,
        Donor(
            first_name="Julia",
            last_name="Morrison",
            email="julia@example.org",
            city="San Francisco",
            tags="major, board",
            donations=[
                gift(10_000, "2025-05-01"),
                gift(2_500, "2023-01-10"),
                gift(50_000, "2024-02-02", campaign="Gala"),
            ],
        ),
        Donor(
            organization_name="Acme Foundation",
            email="grants@acme.example",
            tags="grant",
            donations=[gift(100_000, "2022-03-01")],
        ),
        Donor(
            first_name="José",
            last_name="Núñez",
            email=None,
            city="Oakland",
            donations=[gift(700, "2024-09-09"), gift(300, "2024-09-09")],
        ),
        Donor(
            salutation="Mr",
            last_name="Wang",
            email="not-an-email",
            do_not_contact=True,
        ),
        Donor(first_name="Ada", last_name="Zed", email="ada_50%@example.org"),
    )
    return dict(zip(("julia", "acme", "jose", "wang", "ada"), ids, strict=True))


def by_id(rows: list[DonorRow]) -> dict[int, DonorRow]:
    return {row.id: row for row in rows}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (("Julia", "Morrison", None), "Julia Morrison"),
        (("Nicole and Samuel", "Chapman", None), "Nicole and Samuel Chapman"),
        (("  Ana  ", "  Silva ", "Employer Inc"), "Ana Silva"),
        ((None, None, "Acme Foundation"), "Acme Foundation"),
        ((None, "Wang", None), "Mr Wang"),
        ((None, None, None), "Donor #7"),
        (("", " ", ""), "Donor #7"),
    ],
)
def test_display_name_cases(fields: tuple[str | None, ...], expected: str) -> None:
    first, last, organization = fields
    name = display_name(first, last, organization, salutation="Mr", donor_id=7)
    assert name == expected


def test_display_name_without_id() -> None:
    assert display_name(None, None, None) == "(no name)"


def test_is_organization_rules() -> None:
    assert is_organization(None, None, "Acme")
    assert not is_organization("Ana", None, "Acme")
    assert not is_organization(None, None, "  ")


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("a@b.org", True),
        (" a@b ", True),
        ("@b.org", False),
        ("a@", False),
        ("plain", False),
        ("", False),
        (None, False),
    ],
)
def test_has_email_address(email: str | None, expected: bool) -> None:
    assert has_email_address(email) is expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2025-06-15", 0, "2025-06-15"),
        ("2025-06-15", 12, "2024-06-15"),
        ("2025-03-31", 1, "2025-02-28"),
        ("2024-03-31", 1, "2024-02-29"),
        ("2025-01-10", 2, "2024-11-10"),
        ("2025-05-31", 15, "2024-02-29"),
    ],
)
def test_months_before_clamps_day(day: str, months: int, expected: str) -> None:
    result = months_before(dt.date.fromisoformat(day), months)
    assert result == dt.date.fromisoformat(expected)


async def test_list_totals_per_donor(store: Store, people: dict[str, int]) -> None:
    rows = by_id(await list_donors(store, today=TODAY))
    julia = rows[people["julia"]]
    assert julia.display_name == "Julia Morrison"
    assert julia.gift_count == 3
    assert julia.total_cents == 62_500
    assert julia.first_gift_on == dt.date(2023, 1, 10)
    assert julia.last_gift_on == dt.date(2025, 5, 1)
    assert julia.last_gift_cents == 10_000
    assert julia.largest_gift_cents == 50_000
    assert julia.emailable
    assert julia.city == "San Francisco"
    assert julia.tags == "major, board"


async def test_list_last_gift_tie_takes_newer_id(
    store: Store, people: dict[str, int]
) -> None:
    jose = by_id(await list_donors(store, today=TODAY))[people["jose"]]
    # Both gifts fall on one day, and the one inserted second has the higher id.
    assert jose.last_gift_cents == 300
    assert jose.total_cents == 1_000


async def test_list_donor_without_gifts(store: Store, people: dict[str, int]) -> None:
    wang = by_id(await list_donors(store, today=TODAY))[people["wang"]]
    assert wang.display_name == "Mr Wang"
    assert wang.gift_count == 0
    assert wang.total_cents == 0
    assert wang.first_gift_on is None
    assert wang.last_gift_on is None
    assert wang.last_gift_cents is None
    assert wang.largest_gift_cents is None


async def test_list_contact_flags(store: Store, people: dict[str, int]) -> None:
    rows = by_id(await list_donors(store, today=TODAY))
    assert rows[people["acme"]].is_organization
    assert not rows[people["julia"]].is_organization
    assert not rows[people["jose"]].emailable
    assert rows[people["wang"]].do_not_contact
    assert not rows[people["wang"]].emailable


async def test_list_empty_database(store: Store) -> None:
    assert await list_donors(store, today=TODAY) == []
    assert await count_donors(store, today=TODAY) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("julia morrison", {"julia"}),
        ("MORRISON", {"julia"}),
        ("acme", {"acme"}),
        ("example", {"julia", "acme", "ada"}),
        ("board", {"julia"}),
        ("oakland", {"jose"}),
        ("núñez", {"jose"}),
        ("NÚÑEZ", {"jose"}),
        ("%", {"ada"}),
        ("_50", {"ada"}),
        ("julia oakland", set()),
        ("   ", {"julia", "acme", "jose", "wang", "ada"}),
    ],
)
async def test_list_text_filter(
    store: Store, people: dict[str, int], text: str, expected: set[str]
) -> None:
    rows = await list_donors(store, text=text, today=TODAY)
    names = {name for name, donor_id in people.items() if donor_id in by_id(rows)}
    assert names == expected
    assert await count_donors(store, text=text, today=TODAY) == len(expected)


@pytest.mark.parametrize(
    ("sort", "ascending_names"),
    [
        ("name", ["acme", "julia", "jose", "wang", "ada"]),
        ("email", ["ada", "acme", "julia", "wang", "jose"]),
        ("gifts", ["wang", "ada", "acme", "jose", "julia"]),
        ("total", ["wang", "ada", "jose", "julia", "acme"]),
        ("last_gift_on", ["acme", "jose", "julia", "wang", "ada"]),
        ("last_gift_amount", ["jose", "julia", "acme", "wang", "ada"]),
        ("tags", ["acme", "julia", "jose", "wang", "ada"]),
    ],
)
async def test_list_sort_keys_ascending(
    store: Store, people: dict[str, int], sort: str, ascending_names: list[str]
) -> None:
    rows = await list_donors(store, today=TODAY, sort=sort)
    names = {donor_id: name for name, donor_id in people.items()}
    assert [names[row.id] for row in rows] == ascending_names


async def test_list_sort_descending_empty_last(
    store: Store, people: dict[str, int]
) -> None:
    names = {donor_id: name for name, donor_id in people.items()}
    rows = await list_donors(store, today=TODAY, sort="last_gift_on", descending=True)
    # Wang and Ada have no gifts, so they stay last, ordered by name.
    assert [names[row.id] for row in rows] == ["julia", "jose", "acme", "wang", "ada"]
    rows = await list_donors(store, today=TODAY, sort="email", descending=True)
    assert [names[row.id] for row in rows][-1] == "jose"


async def test_list_pages_do_not_overlap(store: Store) -> None:
    # Twelve donors share one last name, so only the tie-breakers order them.
    await add_donors(
        store,
        *(
            Donor(
                first_name=None, last_name="Same", donations=[gift(100, "2024-01-01")]
            )
            for _ in range(12)
        ),
    )
    for sort in DONOR_SORT_KEYS:
        full = [row.id for row in await list_donors(store, today=TODAY, sort=sort)]
        pages: list[int] = []
        for offset in range(0, 12, 5):
            page = await list_donors(
                store, today=TODAY, sort=sort, limit=5, offset=offset
            )
            pages.extend(row.id for row in page)
        assert pages == full, sort


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        # Julia last gave in May 2025, José in September 2024, Acme in March 2022.
        (DonorSegment(lapsed_months=12), {"acme"}),
        (DonorSegment(lapsed_months=6), {"acme", "jose"}),
        (DonorSegment(gave_within_months=12), {"julia", "jose"}),
        (DonorSegment(gave_within_months=1), set()),
        (DonorSegment(min_total_cents=62_500), {"julia", "acme"}),
        (DonorSegment(min_total_cents=0), {"julia", "acme", "jose", "wang", "ada"}),
        (DonorSegment(has_email=True), {"julia", "acme", "ada"}),
        (DonorSegment(has_email=False), {"jose", "wang"}),
        (DonorSegment(lapsed_months=6, has_email=True), {"acme"}),
        (DonorSegment(lapsed_months=6, gave_within_months=12), {"jose"}),
    ],
)
async def test_list_segments(
    store: Store, people: dict[str, int], segment: DonorSegment, expected: set[str]
) -> None:
    rows = await list_donors(store, segment=segment, today=TODAY)
    names = {name for name, donor_id in people.items() if donor_id in by_id(rows)}
    assert names == expected
    assert await count_donors(store, segment=segment, today=TODAY) == len(expected)


async def test_segment_lapsed_boundary(store: Store) -> None:
    (donor_id,) = await add_donors(
        store, Donor(last_name="Edge", donations=[gift(100, "2024-06-15")])
    )
    exactly_twelve = DonorSegment(lapsed_months=12)
    within_twelve = DonorSegment(gave_within_months=12)
    # A gift exactly 12 months ago counts as recent, not lapsed.
    assert await list_donors(store, segment=exactly_twelve, today=TODAY) == []
    recent = await list_donors(store, segment=within_twelve, today=TODAY)
    assert [row.id for row in recent] == [donor_id]


async def test_segment_with_text_and_sort(store: Store, people: dict[str, int]) -> None:
    rows = await list_donors(
        store,
        text="example",
        segment=DonorSegment(min_total_cents=1),
        today=TODAY,
        sort="total",
        descending=True,
    )
    assert [row.id for row in rows] == [people["acme"], people["julia"]]


def test_segment_rejects_negative() -> None:
    with pytest.raises(ValueError, match="lapsed_months"):
        DonorSegment(lapsed_months=-1)


async def test_list_rejects_bad_arguments(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown sort key 'city'"):
        await list_donors(store, today=TODAY, sort="city")
    with pytest.raises(ValueError, match="limit"):
        await list_donors(store, today=TODAY, limit=-1)
    with pytest.raises(ValueError, match="offset"):
        await list_donors(store, today=TODAY, offset=-5)


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    """Collect every SQL statement the store's engine runs."""
    executed: list[str] = []

    def record(*args: Any) -> None:
        executed.append(args[2])

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield executed
    event.remove(engine, "before_cursor_execute", record)


async def test_list_runs_one_statement(
    store: Store, people: dict[str, int], statements: list[str]
) -> None:
    for sort in ("name", "total"):
        statements.clear()
        rows = await list_donors(store, today=TODAY, sort=sort)
        assert len(rows) == len(people)
        selects = [
            sql
            for sql in statements
            if sql.lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        assert len(selects) == 1, sort


async def test_get_donor_fields_and_gifts(store: Store, people: dict[str, int]) -> None:
    detail = await get_donor(store, people["julia"])
    assert detail.display_name == "Julia Morrison"
    assert detail.email == "julia@example.org"
    assert detail.tags == "major, board"
    assert [g.donated_on.isoformat() for g in detail.gifts] == [
        "2025-05-01",
        "2024-02-02",
        "2023-01-10",
    ]
    assert detail.gifts[1].campaign == "Gala"
    assert detail.gifts[0].currency == "USD"
    assert detail.gift_count == 3
    assert detail.total_cents == 62_500
    assert detail.last_gift_cents == 10_000
    assert detail.largest_gift_cents == 50_000
    assert detail.first_gift_on == dt.date(2023, 1, 10)
    assert isinstance(detail.created_at, dt.datetime)


async def test_get_donor_matches_list_row(store: Store, people: dict[str, int]) -> None:
    rows = by_id(await list_donors(store, today=TODAY))
    for donor_id in people.values():
        detail = await get_donor(store, donor_id)
        row = rows[donor_id]
        assert detail.display_name == row.display_name
        assert detail.gift_count == row.gift_count
        assert detail.total_cents == row.total_cents
        assert detail.last_gift_on == row.last_gift_on
        assert detail.last_gift_cents == row.last_gift_cents
        assert detail.largest_gift_cents == row.largest_gift_cents
        assert detail.emailable == row.emailable


async def test_get_donor_missing(store: Store) -> None:
    with pytest.raises(NotFoundError, match="donor 999 not found"):
        await get_donor(store, 999)
