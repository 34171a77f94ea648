"""Donor import: encodings, delimiters, unreadable files and the summary text."""

from __future__ import annotations

import codecs
import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from commjobs_tui.core.importer import (
    ImportFileError,
    ImportSummary,
    RowNote,
    SkippedRow,
    format_summary,
    import_donors,
)
from commjobs_tui.db.models import Donation, Donor
from commjobs_tui.db.store import Store

ACCENTED_ROWS = [
    ("Name", "Email", "Amount", "Date"),
    ("José Müller", "jose@example.org", "12.50", "2024-03-01"),
    ("Zoë Ångström", "zoe@example.org", "40", "2024-03-02"),
]


async def donor_count(store: Store) -> int:
    async with store.session() as session:
        return await session.scalar(select(func.count()).select_from(Donor)) or 0


async def load_donors(store: Store) -> list[Donor]:
    async with store.session() as session:
        result = await session.scalars(
            select(Donor).options(selectinload(Donor.donations)).order_by(Donor.id)
        )
        return list(result)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
async def test_encoding_and_delimiter(
    store: Store, tmp_path: Path, encoding: str, delimiter: str
) -> None:
    text = "\r\n".join(delimiter.join(row) for row in ACCENTED_ROWS) + "\r\n"
    path = tmp_path / "donors.csv"
    path.write_bytes(text.encode(encoding))

    summary = await import_donors(store, path)

    assert summary.encoding == encoding
    assert summary.delimiter == delimiter
    assert summary.donors_created == 2
    donors = await load_donors(store)
    assert [(d.first_name, d.last_name) for d in donors] == [
        ("José", "Müller"),
        ("Zoë", "Ångström"),
    ]
    assert donors[0].donations[0].amount_cents == 1250


async def test_utf16_excel_unicode_text(store: Store, tmp_path: Path) -> None:
    text = "\r\n".join("\t".join(row) for row in ACCENTED_ROWS) + "\r\n"
    path = tmp_path / "donors.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))

    summary = await import_donors(store, path)

    assert summary.encoding == "utf-16"
    assert summary.delimiter == "\t"
    assert summary.donors_created == 2


async def test_semicolon_decimal_comma_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "gifts.csv"
    path.write_bytes(
        "First Name;Last Name;E-Mail;Amount;Date\n"
        "Anna;Becker;anna@example.de;1.234,56;03.04.2024\n"
        "Jonas;Weber;jonas@example.de;25,00;04.05.2024\n"
        "Lea;Schmidt;lea@example.de;1.500;05.06.2024\n"
        "Ben;Fischer;ben@example.de;EUR 7,5;31.12.2023\n".encode("cp1252")
    )

    summary = await import_donors(store, path)

    assert summary.delimiter == ";"
    assert summary.date_order == "day/month (decided from 1 unambiguous date)"
    gifts = {
        donor.email: (donor.donations[0].amount_cents, donor.donations[0].donated_on)
        for donor in await load_donors(store)
    }
    assert gifts == {
        "anna@example.de": (123456, dt.date(2024, 4, 3)),
        "jonas@example.de": (2500, dt.date(2024, 5, 4)),
        "lea@example.de": (150000, dt.date(2024, 6, 5)),
        "ben@example.de": (750, dt.date(2023, 12, 31)),
    }


async def test_bad_gift_values_are_noted(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "gifts.csv"
    path.write_text(
        "Name,Email,Amount,Date\n"
        "Ada Byron,ada@example.org,(50.00),2024-01-02\n"
        "Alan Turing,alan@example.org,lots,2024-01-02\n"
        "Grace Hopper,grace@example.org,10,2024-02-30\n"
        "Mary Shelley,mary@example.org,10,\n"
        "Emmy Noether,emmy@example.org,0,2024-01-02\n",
        encoding="utf-8",
    )

    summary = await import_donors(store, path)

    assert summary.donors_created == 5
    assert summary.donations_created == 0
    assert [note.line for note in summary.notes] == [2, 3, 4, 5, 6]
    messages = [note.message for note in summary.notes]
    assert "invalid amount '(50.00)': negative" in messages[0]
    assert "invalid amount 'lots': not a number" in messages[1]
    assert messages[2] == "invalid date '2024-02-30'; gift not imported"
    assert messages[3] == "gift of '10' has no date; gift not imported"
    assert "invalid amount '0': zero" in messages[4]


async def test_huge_amount_noted_not_fatal(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "gifts.csv"
    path.write_text(
        "Name,Email,Amount,Date\n"
        "Ada Byron,ada@example.org,25,2024-01-02\n"
        "Alan Turing,alan@example.org,99999999999999999999,2024-01-02\n"
        'Grace Hopper,grace@example.org,"1,000,000,000.00",2024-01-02\n',
        encoding="utf-8",
    )

    summary = await import_donors(store, path)

    assert summary.donors_created == 3
    assert summary.donations_created == 2
    assert [note.line for note in summary.notes] == [3]
    assert summary.notes[0].message == (
        "invalid amount '99999999999999999999': too large (the maximum is "
        "1,000,000,000); gift not imported"
    )
    donors = await load_donors(store)
    assert [d.donations[0].amount_cents for d in donors if d.donations] == [
        2500,
        100_000_000_000,
    ]


async def test_row_with_extra_cells_is_skipped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "donors.csv"
    path.write_text(
        "Name,Email,City\n"
        "Ada Byron,ada@example.org,London\n"
        "Alan Turing,alan@example.org,12 High St, Wilmslow\n",
        encoding="utf-8",
    )

    summary = await import_donors(store, path)

    assert summary.donors_created == 1
    assert summary.skipped[0].line == 3
    assert "4 cells but the header has 3 columns" in summary.skipped[0].reason


def unreadable_cases() -> list[tuple[str, bytes | None, str]]:
    """(file name, content or None for no file, expected message part)."""
    return [
        ("missing.csv", None, "not found"),
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"  \r\n\r\n", "is empty"),
        ("commas.csv", b",,,\r\n,,,\r\n", "has no header row"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "binary file"),
        ("book.csv", b"PK\x03\x04\x14\x00\x06\x00rest-of-xlsx", "Excel workbook"),
        ("latin.csv", b"Name,Email\nJos\x81,j@example.org\n", "not valid"),
        (
            "mixed.csv",
            "Name,Email\nJosé,j@example.org\n".encode() + b"Ren\xe9,r@example.org\n",
            "mixes UTF-8 with another encoding: line 3",
        ),
        ("broken.csv", b'Name,Email\n"Ada,ada@example.org\n' + b"x" * 140_000, "line"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    unreadable_cases(),
    ids=[case[0] for case in unreadable_cases()],
)
async def test_unreadable_file_imports_nothing(
    store: Store, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(ImportFileError, match=message) as raised:
        await import_donors(store, path)

    assert str(path) in str(raised.value)
    assert await donor_count(store) == 0


UNCLOSED_QUOTE_CASES = {
    "to end of file": (
        "Name,Email,Amount,Date\n"
        "Ada Byron,ada@example.org,10,2024-01-02\n"
        '"Unclosed quote,uq@example.org,20,2024-01-02\n'
        "Mary Major,mary@example.org,30,2024-01-02\n"
        "Alan Turing,alan@example.org,40,2024-01-02\n",
        3,
    ),
    "to next quote": (
        "Name,Email,Amount,Date\n"
        '"Unclosed quote,uq@example.org,20,2024-01-02\n'
        "Mary Major,mary@example.org,30,2024-01-02\n"
        '"Alan Turing",alan@example.org,40,2024-01-02\n'
        "Grace Hopper,grace@example.org,50,2024-01-02\n",
        2,
    ),
    "after multi-line cell": (
        "Name,Email,Notes\r\n"
        'Ada Byron,ada@example.org,"first line\r\nsecond line"\r\n'
        '"Grace\r\nHopper",grace@example.org,"unclosed note\r\n'
        "Mary Major,mary@example.org,\r\n",
        5,
    ),
}


@pytest.mark.parametrize(
    ("text", "line"), UNCLOSED_QUOTE_CASES.values(), ids=UNCLOSED_QUOTE_CASES.keys()
)
async def test_unclosed_quote_names_line(
    store: Store, tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / "donors.csv"
    path.write_bytes(text.encode())

    with pytest.raises(ImportFileError) as raised:
        await import_donors(store, path)

    message = str(raised.value)
    assert message.startswith(f"{path} line {line}: a quote")
    assert "never closed" in message
    assert "\n" not in message
    assert await donor_count(store) == 0


async def test_quoted_line_breaks_still_import(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "donors.csv"
    path.write_text(
        "Name,Email,Notes\n"
        '"Ada, Countess\nof Lovelace",ada@example.org,"Met at the gala,\n""Great""."\n'
        "Alan Turing,alan@example.org,\n",
        encoding="utf-8",
    )

    summary = await import_donors(store, path)

    assert summary.created_lines == (2, 5)
    donors = await load_donors(store)
    assert donors[0].notes == 'Met at the gala,\n"Great".'


async def test_folder_is_rejected(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="is a folder"):
        await import_donors(store, tmp_path)


async def test_unreadable_permissions_rejected(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.csv"
    path.write_text("Name,Email\nAda Byron,ada@example.org\n", encoding="utf-8")
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads any file, so the operating system's refusal is simulated.
        def deny(self: Path) -> bytes:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", deny)

    with pytest.raises(ImportFileError, match="permission denied"):
        await import_donors(store, path)

    assert await donor_count(store) == 0


async def test_unknown_header_lists_columns(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Foo,Bar Baz,Qty\n1,2,3\n", encoding="utf-8")

    with pytest.raises(ImportFileError) as raised:
        await import_donors(store, path)

    message = str(raised.value)
    assert "has no donor columns" in message
    assert "'Foo', 'Bar Baz', 'Qty'" in message
    assert "First Name and Last Name" in message
    assert await donor_count(store) == 0


async def test_headerless_file_is_explained(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ada@example.org,25\nalan@example.org,30\n", encoding="utf-8")

    with pytest.raises(ImportFileError, match="looks like data"):
        await import_donors(store, path)


async def test_header_only_file_imports_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Name,Email\n", encoding="utf-8")

    summary = await import_donors(store, path)

    assert summary.rows_read == 0
    assert summary.donors_created == 0
    async with store.session() as session:
        assert await session.scalar(select(func.count()).select_from(Donation)) == 0
    first_line = format_summary(summary).splitlines()[0]
    assert first_line == (
        f"Nothing to import: {path} has a header row but no data rows. "
        "Check that the CRM export includes the donors."
    )


def make_summary(**changes: object) -> ImportSummary:
    values: dict[str, object] = {
        "path": Path("/data/donors.csv"),
        "encoding": "cp1252",
        "delimiter": ";",
        "layout": "Salesforce NPSP",
        "date_order": "month/day (decided from 3 unambiguous dates)",
        "rows_read": 6,
        "created_lines": (2, 3),
        "updated_lines": (4,),
        "unchanged_lines": (5,),
        "skipped": (SkippedRow(6, "no name, organisation or email"),),
        "notes": (
            RowNote(2, "invalid email 'x'; the email was not stored"),
            RowNote(3, "marked do not contact (Deceased is 'Y')"),
        ),
        "donors_created": 2,
        "donors_updated": 1,
        "donations_created": 4,
        "not_emailable": 2,
        "dry_run": False,
    }
    values.update(changes)
    return ImportSummary(**values)  # type: ignore[arg-type]


def test_format_summary_lists_counts_and_rows() -> None:
    text = format_summary(make_summary())

    lines = text.splitlines()
    assert lines[0] == "Imported /data/donors.csv."
    assert "Format: Salesforce NPSP (cp1252, semicolon-separated)." in lines
    assert "Dates: month/day (decided from 3 unambiguous dates)." in lines
    assert (
        "Rows: 6 read, 2 created a donor, 1 updated one, 1 changed nothing, "
        "1 skipped." in lines
    )
    assert "Donors: 2 created, 1 updated. Gifts: 4 added." in lines
    assert "  line 6: skipped, no name, organisation or email" in lines
    assert "  line 3: marked do not contact (Deceased is 'Y')" in lines
    assert "2 donors in this file cannot be emailed" in text


def test_format_summary_without_data_rows() -> None:
    empty = {
        "rows_read": 0,
        "created_lines": (),
        "updated_lines": (),
        "unchanged_lines": (),
        "skipped": (),
        "notes": (),
        "donors_created": 0,
        "donors_updated": 0,
        "donations_created": 0,
        "not_emailable": 0,
    }

    for dry_run in (False, True):
        text = format_summary(make_summary(dry_run=dry_run, **empty))
        lines = text.splitlines()
        assert lines[0].startswith("Nothing to import: /data/donors.csv has a header")
        assert "Imported" not in text
        assert "Dry run" not in text
        assert "Rows: 0 read, 0 created a donor" in lines[3]


def test_format_summary_dry_run_and_limit() -> None:
    text = format_summary(make_summary(dry_run=True), max_lines=1)

    lines = text.splitlines()
    assert lines[0] == "Dry run of /data/donors.csv: nothing was written."
    assert "Donors: 2 to create, 1 to update. Gifts: 4 to add." in lines
    assert lines[-2] == "  line 6: skipped, no name, organisation or email"
    assert lines[-1] == "  ... and 2 more not shown."
