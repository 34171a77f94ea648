"""Donor import: the NPSP sample, re-imports, dry runs, updates and atomicity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import selectinload

from commjobs_tui.core.importer import ImportFileError, format_summary, import_donors
from commjobs_tui.core.importing.summary import line_ranges
from commjobs_tui.db.models import Donation, Donor
from commjobs_tui.db.store import Store

NPSP_ROWS = 116
NPSP_DONORS = 115  # 100 households (one listed twice), 6 more members, 9 orgs
NPSP_GIFTS = 91  # rows with a donation amount
NPSP_DONORS_WITH_EMAIL = 38


async def load_donors(store: Store) -> list[Donor]:
    async with store.session() as session:
        result = await session.scalars(
            select(Donor).options(selectinload(Donor.donations)).order_by(Donor.id)
        )
        return list(result)


async def donor_by_external_id(store: Store, external_id: str) -> Donor:
    donors = [d for d in await load_donors(store) if d.external_id == external_id]
    assert len(donors) == 1, f"expected one donor {external_id}, found {len(donors)}"
    return donors[0]


async def count_rows(store: Store) -> tuple[int, int]:
    async with store.session() as session:
        donors = await session.scalar(select(func.count()).select_from(Donor))
        gifts = await session.scalar(select(func.count()).select_from(Donation))
    return donors or 0, gifts or 0


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def test_npsp_sample_counts(store: Store, npsp_sample: Path) -> None:
    summary = await import_donors(store, npsp_sample)

    assert summary.layout == "Salesforce NPSP"
    assert summary.encoding == "cp1252"
    assert summary.delimiter == ","
    assert summary.date_order.startswith("month/day (decided from ")
    assert summary.rows_read == NPSP_ROWS
    assert summary.donors_created == NPSP_DONORS
    assert summary.donors_updated == 0
    assert summary.donations_created == NPSP_GIFTS
    assert summary.not_emailable == NPSP_DONORS - NPSP_DONORS_WITH_EMAIL
    assert summary.skipped == ()
    assert len(summary.created_lines) == NPSP_DONORS
    # Line 100 repeats household 11 (Andrea Morales Torres) with a second gift.
    assert summary.updated_lines == (100,)
    assert await count_rows(store) == (NPSP_DONORS, NPSP_GIFTS)


async def test_npsp_household_members_are_separate(
    store: Store, npsp_sample: Path
) -> None:
    await import_donors(store, npsp_sample)

    julia = await donor_by_external_id(store, "npsp:2:julia")
    frank = await donor_by_external_id(store, "npsp:2:frank")
    assert julia.id != frank.id
    assert (julia.first_name, julia.last_name) == ("Julia", "Morrison")
    assert (frank.first_name, frank.last_name) == ("Frank", "Morrison")
    assert frank.phone == "(415) 555-2987"
    assert [(g.amount_cents, g.donated_on) for g in frank.donations] == [
        (25000, dt.date(2019, 12, 8))
    ]
    assert frank.donations[0].fund == "Scholarship Fund"
    billy = await donor_by_external_id(store, "npsp:4:billy")
    assert billy.first_name == "Billy"
    assert billy.donations == []


async def test_npsp_organisation_with_grant(store: Store, npsp_sample: Path) -> None:
    await import_donors(store, npsp_sample)

    wells = await donor_by_external_id(store, "npsp:org:wells fargo")
    assert wells.organization_name == "Wells Fargo"
    assert wells.first_name is None
    assert wells.last_name is None
    assert wells.phone == "(415) 396-7152"
    assert wells.street == "1 Montgomery St"
    assert len(wells.donations) == 1
    grant = wells.donations[0]
    assert grant.amount_cents == 500_000
    assert grant.currency == "USD"
    assert grant.donated_on == dt.date(2019, 7, 1)
    assert grant.campaign == "Scholarship Appeal 2019-2020"
    assert grant.fund == "Scholarship Fund"
    foundation = await donor_by_external_id(store, "npsp:org:wang family foundation")
    joseph = await donor_by_external_id(store, "npsp:3:joseph")
    assert foundation.id != joseph.id


async def test_npsp_donor_without_email(store: Store, npsp_sample: Path) -> None:
    await import_donors(store, npsp_sample)

    julia = await donor_by_external_id(store, "npsp:2:julia")
    assert julia.email is None
    assert julia.do_not_contact is False


async def test_npsp_couple_keeps_both_names(store: Store, npsp_sample: Path) -> None:
    await import_donors(store, npsp_sample)

    couple = await donor_by_external_id(store, "npsp:1:nicole and samuel")
    assert couple.salutation == "Ms"
    assert couple.first_name == "Nicole and Samuel"
    assert couple.last_name == "Chapman"
    assert couple.email == "nchapman0@gmail.com.fakeemail"
    assert [(g.amount_cents, g.donated_on) for g in couple.donations] == [
        (10000, dt.date(2019, 3, 5))
    ]


async def test_npsp_addresses_are_normalised(store: Store, npsp_sample: Path) -> None:
    await import_donors(store, npsp_sample)

    expected_states = {
        "npsp:25:jeffrey": "CA",  # California
        "npsp:28:billy": "CA",  # Calif
        "npsp:32:mildred": "CA",  # Calif.
        "npsp:5:cheryl": "NJ",
    }
    for external_id, state in expected_states.items():
        donor = await donor_by_external_id(store, external_id)
        assert donor.state == state, external_id
    cheryl = await donor_by_external_id(store, "npsp:5:cheryl")
    assert cheryl.postal_code == "07076"
    expected_countries = {
        "npsp:40:dorothy": "United States",  # US
        "npsp:45:melissa": "United States",  # USA
        "npsp:52:kanesha": "United States",  # U.S.
        "npsp:59:jerry": "United States",  # U.S.A.
        "npsp:65:janice": None,  # empty
    }
    for external_id, country in expected_countries.items():
        donor = await donor_by_external_id(store, external_id)
        assert donor.country == country, external_id
    gerald = await donor_by_external_id(store, "npsp:53:gerald")
    assert gerald.city == "Campbell"


async def test_npsp_renamed_person_is_one_donor(
    store: Store, npsp_sample: Path
) -> None:
    await import_donors(store, npsp_sample)

    donors = await load_donors(store)
    andreas = [d for d in donors if d.first_name == "Andrea"]
    assert len(andreas) == 1
    andrea = andreas[0]
    assert andrea.external_id == "npsp:11:andrea"
    # The later row of the file wins.
    assert andrea.last_name == "Morales Torres"
    assert andrea.street == "535 Susan Tr."
    gifts = sorted(andrea.donations, key=lambda g: g.donated_on)
    assert [(g.amount_cents, g.donated_on, g.campaign) for g in gifts] == [
        (10000, dt.date(2018, 11, 16), "Winter Fundraising Appeal 2018-2019"),
        (25000, dt.date(2019, 12, 14), "Winter Fundraising Appeal 2019-2020"),
    ]
    assert len({g.source_ref for g in gifts}) == 2


async def test_npsp_invalid_email_is_noted(store: Store, npsp_sample: Path) -> None:
    summary = await import_donors(store, npsp_sample)

    helen = await donor_by_external_id(store, "npsp:6:helen")
    assert helen.email is None
    notes = {note.line: note.message for note in summary.notes}
    assert "hfrazier5.time.com.fakeemail" in notes[10]
    assert "no @" in notes[10]


async def test_npsp_reimport_changes_nothing(store: Store, npsp_sample: Path) -> None:
    await import_donors(store, npsp_sample)
    second = await import_donors(store, npsp_sample)

    assert second.donors_created == 0
    assert second.donors_updated == 0
    assert second.donations_created == 0
    assert second.created_lines == ()
    assert second.updated_lines == ()
    assert len(second.unchanged_lines) == NPSP_ROWS
    assert await count_rows(store) == (NPSP_DONORS, NPSP_GIFTS)


async def test_dry_run_writes_nothing(store: Store, npsp_sample: Path) -> None:
    dry = await import_donors(store, npsp_sample, dry_run=True)

    assert dry.dry_run is True
    assert await count_rows(store) == (0, 0)
    real = await import_donors(store, npsp_sample)
    assert dataclasses.replace(dry, dry_run=False) == real
    assert "Dry run" in format_summary(dry)
    assert "nothing was written" in format_summary(dry)


async def test_dry_run_reports_updates(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "gifts.csv",
        "Name,Email,City,Amount,Date\nAda Byron,ada@example.org,Leeds,10,2024-01-02\n",
    )
    await import_donors(store, path)
    write_csv(
        path,
        "Name,Email,City,Amount,Date\n"
        "Ada Byron,ada@example.org,London,10,2024-01-02\n"
        "Ada Byron,ada@example.org,London,20,2024-02-03\n",
    )

    dry = await import_donors(store, path, dry_run=True)

    assert dry.donors_updated == 1
    assert dry.donations_created == 1
    assert dry.updated_lines == (2, 3)
    donors = await load_donors(store)
    assert donors[0].city == "Leeds"
    assert len(donors[0].donations) == 1


async def test_update_never_blanks_values(store: Store, tmp_path: Path) -> None:
    first = write_csv(
        tmp_path / "first.csv",
        "First Name,Last Name,Email,Phone,City,State\n"
        "Grace,Hopper,grace@example.org,555-0100,Arlington,VA\n",
    )
    await import_donors(store, first)
    second = write_csv(
        tmp_path / "second.csv",
        "First Name,Last Name,Email,Phone,City,State\n"
        "Grace,Hopper,grace@example.org,,Alexandria,\n",
    )

    summary = await import_donors(store, second)

    assert summary.donors_updated == 1
    assert summary.updated_lines == (2,)
    donor = (await load_donors(store))[0]
    assert donor.city == "Alexandria"
    assert donor.phone == "555-0100"
    assert donor.state == "VA"


async def test_invalid_email_keeps_stored_email(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ids.csv", "Donor ID,Name,Email\n7,Alan Turing,alan@example.org\n"
    )
    await import_donors(store, path)
    write_csv(path, "Donor ID,Name,Email\n7,Alan Turing,alan at example\n")

    summary = await import_donors(store, path)

    donor = (await load_donors(store))[0]
    assert donor.email == "alan@example.org"
    assert summary.unchanged_lines == (2,)
    assert summary.not_emailable == 0
    assert "invalid email 'alan at example'" in summary.notes[0].message


async def test_update_keeps_do_not_contact(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "donors.csv",
        "Name,Email,Do Not Contact\nMary Shelley,mary@example.org,No\n",
    )
    await import_donors(store, path)
    async with store.session() as session, session.begin():
        donor = await session.scalar(select(Donor))
        assert donor is not None
        donor.do_not_contact = True

    summary = await import_donors(store, path)

    assert (await load_donors(store))[0].do_not_contact is True
    assert summary.donors_updated == 0
    assert summary.not_emailable == 1


async def test_opt_out_column_sets_do_not_contact(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "donors.csv",
        "Name,Email,Email Opt Out\nMary Shelley,mary@example.org,Yes\n",
    )

    summary = await import_donors(store, path)

    assert (await load_donors(store))[0].do_not_contact is True
    assert summary.notes[0].message == "marked do not contact (Email Opt Out is 'Yes')"


async def test_email_match_across_crms(store: Store, tmp_path: Path) -> None:
    plain = write_csv(
        tmp_path / "plain.csv", "Name,Email\nKatherine Johnson,KJ@Example.org\n"
    )
    await import_donors(store, plain)
    bloomerang = write_csv(
        tmp_path / "bloomerang.csv",
        "Account Number,Account Type,First Name,Last Name,Primary Email Address,"
        "Transaction Number,Date,Amount\n"
        "55,Individual,Katherine,Johnson, kj@example.org ,9001,2024-05-06,30\n",
    )

    summary = await import_donors(store, bloomerang)
    again = await import_donors(store, bloomerang)

    donors = await load_donors(store)
    assert len(donors) == 1
    assert donors[0].external_id == "bloomerang:55"
    assert donors[0].email == "kj@example.org"
    assert summary.donors_updated == 1
    assert summary.donations_created == 1
    assert again.unchanged_lines == (2,)


async def test_duplicate_email_keeps_fuller_name(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "donors.csv",
        "First Name,Last Name,Organization,Email\n"
        "Mary,Major,Major Family Foundation,mary@example.org\n"
        "M.,Major-Smith,Major Fdn.,MARY@example.org\n"
        "Jon,Doe,,jon@example.org\n"
        "Joe,Doe,,jon@example.org\n",
    )

    summary = await import_donors(store, path)

    donors = await load_donors(store)
    assert len(donors) == 2
    assert donors[0].first_name == "Mary"
    assert donors[0].last_name == "Major-Smith"
    assert donors[0].organization_name == "Major Family Foundation"
    # Names of equal length: the later row wins.
    assert donors[1].first_name == "Joe"
    assert summary.created_lines == (2, 4)
    assert summary.updated_lines == (3, 5)


async def test_same_crm_id_takes_later_name(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "donors.csv",
        "Donor ID,First Name,Last Name,Email\n"
        "7,Katherine,Johnson,kj@example.org\n"
        "7,Kate,Johnson,kj@example.org\n",
    )

    await import_donors(store, path)

    donors = await load_donors(store)
    assert len(donors) == 1
    assert donors[0].first_name == "Kate"


async def test_shared_email_stays_two_donors(store: Store, tmp_path: Path) -> None:
    header = ",first name,last name,email,donation amount,donation date,Former ID\n"
    path = write_csv(
        tmp_path / "household.csv",
        header
        + "7,Lena,Park,parks@example.org,40,1/2/2024,1\n"
        + ",Minho,Park,parks@example.org,60,1/3/2024,2\n",
    )

    await import_donors(store, path)
    again = await import_donors(store, path)

    donors = await load_donors(store)
    assert [d.external_id for d in donors] == ["npsp:7:lena", "npsp:7:minho"]
    assert [d.email for d in donors] == ["parks@example.org"] * 2
    assert again.donors_created == 0
    assert again.donors_updated == 0


async def test_shared_email_not_matched_to_other_id(
    store: Store, tmp_path: Path
) -> None:
    header = ",first name,last name,email,donation amount,donation date,Former ID\n"
    lena = write_csv(
        tmp_path / "lena.csv", header + "7,Lena,Park,parks@example.org,40,1/2/2024,1\n"
    )
    minho = write_csv(
        tmp_path / "minho.csv",
        header + "7,Minho,Park,parks@example.org,60,1/3/2024,2\n",
    )
    await import_donors(store, lena)

    summary = await import_donors(store, minho)

    assert summary.created_lines == (2,)
    donors = await load_donors(store)
    assert [d.external_id for d in donors] == ["npsp:7:lena", "npsp:7:minho"]
    assert [len(d.donations) for d in donors] == [1, 1]


async def test_name_match_without_id_or_email(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "gifts.csv",
        "First Name,Last Name,Zip,Amount,Date\n"
        "Pat,Lee,02139,40,2024-03-01\n"
        "Pat,Lee,02139,15,2024-04-01\n"
        "Pat,Lee,94110,25,2024-03-01\n",
    )

    first = await import_donors(store, path)
    second = await import_donors(store, path)

    assert first.donors_created == 2
    assert first.donations_created == 3
    assert second.donors_created == 0
    assert second.donations_created == 0
    assert await count_rows(store) == (2, 3)


async def test_failed_write_imports_nothing(
    store: Store, db_path: Path, npsp_sample: Path
) -> None:
    connection = sqlite3.connect(db_path)
    connection.execute(
        "CREATE TRIGGER reject_grant BEFORE INSERT ON donations "
        "WHEN NEW.amount_cents = 500000 BEGIN SELECT RAISE(ABORT, 'rejected'); END"
    )
    connection.commit()
    connection.close()

    with pytest.raises(ImportFileError, match="nothing was imported"):
        await import_donors(store, npsp_sample)

    assert await count_rows(store) == (0, 0)


async def test_lines_count_physical_lines(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "notes.csv",
        "Name,Email,Notes\n"
        'Ada Byron,ada@example.org,"first line\nsecond line"\n'
        "\n"
        ",,\n"
        "Alan Turing,alan@example.org,\n"
        ",,only a note\n",
    )

    summary = await import_donors(store, path)

    assert summary.created_lines == (2, 6)
    assert [row.line for row in summary.skipped] == [7]
    assert summary.rows_read == 3
    donors = await load_donors(store)
    assert donors[0].notes == "first line\nsecond line"


async def test_ten_thousand_gifts_batched(store: Store, tmp_path: Path) -> None:
    donors = 2500
    lines = ["Donor ID,First Name,Last Name,Email,Gift ID,Amount,Date,Fund"]
    for gift in range(10_000):
        donor = gift % donors
        lines.append(
            f"{donor},Given{donor},Family{donor},d{donor}@example.org,"
            f"{gift},{10 + gift % 90}.50,2024-{1 + gift % 12:02d}-15,General"
        )
    path = write_csv(tmp_path / "big.csv", "\n".join(lines) + "\n")
    statements: list[str] = []

    def count_statement(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine.sync_engine, "before_cursor_execute", count_statement)
    started = time.perf_counter()
    summary = await import_donors(store, path)
    elapsed = time.perf_counter() - started
    event.remove(store.engine.sync_engine, "before_cursor_execute", count_statement)

    assert summary.donors_created == donors
    assert summary.donations_created == 10_000
    # One SELECT per 500 keys, and bulk INSERTs: far fewer than one per row.
    assert len(statements) < 100
    # One import of these rows took about 1 s on a 2-core Xeon VM. The bound
    # only catches a per-row query creeping back in.
    assert elapsed < 30
    again = await import_donors(store, path)
    assert again.donations_created == 0
    assert await count_rows(store) == (donors, 10_000)


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ([5], "5"),
        ([2, 3, 4, 9], "2-4, 9"),
        ([9, 2, 3, 3, 4], "2-4, 9"),
        ([1, 3, 5], "1, 3, 5"),
    ],
)
def test_line_ranges_compress(numbers: list[int], expected: str) -> None:
    assert line_ranges(numbers) == expected


def test_line_ranges_count_the_rest() -> None:
    text = line_ranges(list(range(1, 40, 2)), max_ranges=3)
    assert text == "1, 3, 5 and 17 more ranges"
