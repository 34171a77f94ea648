"""Donor import: one synthetic export per CRM layout, and layout recognition."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from commjobs_tui.core.importer import ImportSummary, import_donors
from commjobs_tui.core.importing.layouts import (
    BLOOMERANG,
    DONORBOX,
    DONORPERFECT,
    GIVEBUTTER,
    LITTLE_GREEN_LIGHT,
    MAILCHIMP,
    NPSP,
    PLAIN,
    Field,
    Layout,
    map_columns,
    normalize_header,
    recognize_layout,
)
from commjobs_tui.db.models import Donor
from commjobs_tui.db.store import Store

IMPORTS_DIR = Path(__file__).parent / "data" / "imports"


async def import_sample(store: Store, tmp_path: Path, name: str) -> ImportSummary:
    path = tmp_path / name
    shutil.copyfile(IMPORTS_DIR / name, path)
    return await import_donors(store, path)


async def donors_by_name(store: Store) -> dict[str, Donor]:
    """Return the donors keyed by "First Last", or by organisation name."""
    async with store.session() as session:
        donors = await session.scalars(
            select(Donor).options(selectinload(Donor.donations))
        )
        keyed: dict[str, Donor] = {}
        for donor in donors:
            if donor.first_name or donor.last_name:
                key = f"{donor.first_name or ''} {donor.last_name or ''}".strip()
            else:
                key = donor.organization_name or ""
            keyed[key] = donor
        return keyed


def gift_list(donor: Donor) -> list[tuple[int, str, dt.date]]:
    gifts = sorted(donor.donations, key=lambda g: (g.donated_on, g.amount_cents))
    return [(g.amount_cents, g.currency, g.donated_on) for g in gifts]


async def test_donorperfect_export(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "donorperfect_gifts.csv")

    assert summary.layout == "DonorPerfect"
    assert summary.donors_created == 4
    assert summary.donations_created == 5
    donors = await donors_by_name(store)
    eleanor = donors["Eleanor Vance"]
    assert eleanor.external_id == "donorperfect:1001"
    assert eleanor.salutation == "Mrs."
    assert eleanor.state == "OR"
    assert eleanor.country == "United States"
    assert gift_list(eleanor) == [
        (25000, "USD", dt.date(2023, 1, 15)),
        (100000, "USD", dt.date(2023, 6, 30)),
    ]
    assert {g.source_ref for g in eleanor.donations} == {"gift:50001", "gift:50017"}
    assert {g.fund for g in eleanor.donations} == {"UNRESTRICTED", "BUILDING"}
    theodore = donors["Theodore Okafor Jr."]
    assert theodore.street == "88 Alder St, Apt 3"
    assert theodore.email is None
    rotary = donors["Riverside Rotary Club"]
    assert rotary.first_name is None
    assert rotary.email == "treasurer@riverside-rotary.example.org"
    priya = donors["Priya Raman"]
    assert priya.do_not_contact is True
    assert priya.state == "OR"


async def test_little_green_light_export(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "lgl_constituents.csv")

    assert summary.layout == "Little Green Light"
    assert summary.donors_created == 3
    assert summary.donations_created == 4
    donors = await donors_by_name(store)
    harriet = donors["Harriet Lindqvist"]
    assert harriet.external_id == "lgl:884201"
    assert harriet.salutation == "Ms."
    assert harriet.tags == "Board, Monthly donor"
    assert harriet.postal_code == "05401"
    assert harriet.state == "VT"
    assert len(harriet.donations) == 2
    coop = donors["Green Valley Food Co-op"]
    assert coop.external_id == "lgl:884202"
    assert gift_list(coop) == [(250000, "USD", dt.date(2023, 10, 5))]
    samuel = donors["Samuel Achebe"]
    assert samuel.email is None
    assert summary.not_emailable == 1
    assert "sam.achebe@example" in summary.notes[0].message


async def test_bloomerang_export(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "bloomerang_transactions.csv")

    assert summary.layout == "Bloomerang"
    assert summary.date_order == "month/day (decided from 2 unambiguous dates)"
    assert summary.donors_created == 3
    assert summary.donations_created == 3
    donors = await donors_by_name(store)
    marisol = donors["Marisol Ortega"]
    assert marisol.email == "mortega@example.com"
    assert marisol.external_id == "bloomerang:3001"
    assert gift_list(marisol) == [
        (6000, "USD", dt.date(2024, 3, 14)),
        (6000, "USD", dt.date(2024, 4, 2)),
    ]
    bank = donors["Lakeshore Community Bank"]
    assert bank.state == "IL"
    assert gift_list(bank) == [(500000, "USD", dt.date(2024, 3, 20))]
    dmitri = donors["Dmitri Volkov"]
    assert dmitri.donations == []
    assert summary.notes[0].line == 5
    assert "negative" in summary.notes[0].message


async def test_givebutter_export(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "givebutter_transactions.csv")

    assert summary.layout == "Givebutter"
    assert summary.donors_created == 2
    assert summary.donations_created == 2
    donors = await donors_by_name(store)
    aisha = donors["Aisha Bello"]
    assert aisha.external_id == "givebutter:5501"
    assert gift_list(aisha) == [
        (10000, "USD", dt.date(2024, 4, 12)),
        (5000, "CAD", dt.date(2024, 12, 3)),
    ]
    kenji = donors["Kenji Watanabe"]
    assert kenji.organization_name == "Watanabe Design LLC"
    assert kenji.street == "12 Cedar Ave, Suite 4"
    assert kenji.donations == []
    assert summary.notes[0].message == "gift not imported: its status is 'Refunded'"


async def test_donorbox_export(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "donorbox_donations.csv")

    assert summary.layout == "Donorbox"
    assert summary.donors_created == 3
    assert summary.donations_created == 4
    donors = await donors_by_name(store)
    lucia = donors["Lucía Fernández"]
    assert lucia.country == "Spain"
    assert lucia.state == "Madrid"
    assert gift_list(lucia) == [(4500, "EUR", dt.date(2024, 5, 2))]
    assert lucia.donations[0].fund == "Wells"
    grace = donors["Grace Kim"]
    # Two equal gifts on one day stay two gifts.
    assert gift_list(grace) == [(2500, "USD", dt.date(2024, 5, 4))] * 2
    assert len({g.source_ref for g in grace.donations}) == 2
    again = await import_donors(store, tmp_path / "donorbox_donations.csv")
    assert again.donations_created == 0


async def test_mailchimp_audience(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "mailchimp_audience.csv")

    assert summary.layout == "Mailchimp audience"
    assert summary.donors_created == 2
    assert summary.donations_created == 0
    donors = await donors_by_name(store)
    nora = donors["Nora Quinn"]
    assert nora.external_id is None
    assert nora.street == "19 Harbor Rd, Apt 2"
    assert nora.city == "Gloucester"
    assert nora.state == "MA"
    assert nora.postal_code == "01930"
    assert nora.country == "United States"
    assert nora.tags == "Donor, Volunteer"
    assert nora.notes == "Met at the spring gala"
    assert donors["Theo Brandt"].email == "theo.brandt@example.com"


async def test_mailchimp_unsubscribe_is_kept(store: Store, tmp_path: Path) -> None:
    await import_sample(store, tmp_path, "mailchimp_audience.csv")

    unsubscribed = await import_sample(store, tmp_path, "mailchimp_unsubscribed.csv")
    again = await import_donors(store, tmp_path / "mailchimp_audience.csv")

    assert unsubscribed.donors_updated == 1
    assert unsubscribed.not_emailable == 1
    nora = (await donors_by_name(store))["Nora Quinn"]
    assert nora.do_not_contact is True
    assert nora.street == "19 Harbor Rd, Apt 2"
    assert again.donors_updated == 0


async def test_plain_file_splits_names(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "plain_donors.csv")

    assert summary.layout == "plain CSV"
    assert summary.rows_read == 7
    assert summary.donors_created == 6
    assert [(row.line, row.reason) for row in summary.skipped] == [
        (8, "no name, organisation or email")
    ]
    donors = await donors_by_name(store)
    jane = donors["Jane Public Jr."]
    assert jane.salutation == "Dr."
    assert gift_list(jane) == [(123456, "USD", dt.date(2024, 1, 5))]
    assert donors["John Public"].email == "john.public@example.org"
    smiths = donors["Jane and John Smith"]
    assert (smiths.first_name, smiths.last_name) == ("Jane and John", "Smith")
    acme = donors["Acme Foundation"]
    assert acme.first_name is None
    assert gift_list(acme) == [(1_000_000, "USD", dt.date(2024, 2, 15))]
    assert donors["Pat Lee"].email is None
    assert donors["Chris Doe"].email is None
    assert summary.not_emailable == 2


async def test_day_first_file(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "dayfirst_gifts.csv")

    assert summary.date_order == "day/month (decided from 2 unambiguous dates)"
    donors = await donors_by_name(store)
    assert gift_list(donors["Amelia Hart"])[0][2] == dt.date(2023, 12, 25)
    assert gift_list(donors["Ben Cole"])[0][2] == dt.date(2024, 4, 3)
    assert gift_list(donors["Cara Diaz"])[0][2] == dt.date(2024, 1, 13)
    assert gift_list(donors["Dan Eze"])[0][2] == dt.date(2024, 2, 1)


async def test_excel_serial_dates(store: Store, tmp_path: Path) -> None:
    summary = await import_sample(store, tmp_path, "excel_serials.csv")

    assert summary.date_order == "not needed"
    donors = await donors_by_name(store)
    assert gift_list(donors["Ivy North"]) == [(1500, "USD", dt.date(2024, 1, 1))]
    assert gift_list(donors["Jon South"]) == [(2500, "USD", dt.date(2024, 2, 15))]


@pytest.mark.parametrize(
    ("file_name", "layout"),
    [
        ("donorperfect_gifts.csv", DONORPERFECT),
        ("lgl_constituents.csv", LITTLE_GREEN_LIGHT),
        ("bloomerang_transactions.csv", BLOOMERANG),
        ("givebutter_transactions.csv", GIVEBUTTER),
        ("donorbox_donations.csv", DONORBOX),
        ("mailchimp_audience.csv", MAILCHIMP),
        ("mailchimp_unsubscribed.csv", MAILCHIMP),
        ("plain_donors.csv", PLAIN),
    ],
)
def test_layout_recognized_from_file(file_name: str, layout: Layout) -> None:
    header = (IMPORTS_DIR / file_name).read_text(encoding="utf-8").splitlines()[0]

    assert recognize_layout(header.split(",")) is layout


def test_npsp_sample_header_recognized() -> None:
    sample = Path(__file__).parent / "data" / "npsp_household_sample.csv"
    header = sample.read_text(encoding="cp1252").splitlines()[0].split(",")

    columns = map_columns(header)

    assert columns.layout is NPSP
    assert columns.indexes[Field.HOUSEHOLD] == (0,)
    assert columns.indexes[Field.PHONE] == (header.index("phone"),)
    assert columns.indexes[Field.AMOUNT] == (header.index("donation amount"),)
    assert columns.indexes[Field.FUND] == (header.index("GAU allocation"),)
    assert Field.GIFT_ID not in columns.indexes


def test_header_names_ignore_case_and_punctuation() -> None:
    assert normalize_header("Zip/Postal Code") == "zippostalcode"
    assert normalize_header("ZIP_POSTAL_CODE") == "zippostalcode"
    assert normalize_header(" zip postal code ") == "zippostalcode"
    assert recognize_layout(["lgl constituent id", "NAME"]) is LITTLE_GREEN_LIGHT
    assert recognize_layout(["DONOR_ID", "Gift Date"]) is DONORPERFECT


def test_greeting_column_is_not_salutation() -> None:
    columns = map_columns(["DONOR_ID", "GIFT_DATE", "LAST_NAME", "SALUTATION"])

    assert columns.layout is DONORPERFECT
    assert Field.SALUTATION not in columns.indexes
    assert columns.indexes[Field.LAST_NAME] == (2,)


def test_layout_columns_win_over_generic() -> None:
    # Mailchimp's Address cell is a whole postal address, not a street.
    columns = map_columns(["Email Address", "Address", "MEMBER_RATING"])

    assert columns.indexes[Field.MAILING_ADDRESS] == (1,)
    assert Field.STREET not in columns.indexes
