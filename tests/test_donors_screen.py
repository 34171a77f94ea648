"""The Donors screen, the donor details and the import dialog, driven by Pilot."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from commjobs_tui.app import CommjobsApp
from commjobs_tui.db.models import Donor
from commjobs_tui.screens.donor_detail import DonorDetailScreen
from commjobs_tui.screens.donors import PAGE_SIZE, DonorsScreen
from commjobs_tui.screens.import_donors import (
    ImportDonorsScreen,
    ImportPathError,
    resolve_import_path,
)
from tests import tui_helpers
from tests.tui_helpers import make_app, seed_communication, seed_donors, settle

empty_db = tui_helpers.empty_db
seeded_db = tui_helpers.seeded_db

SIZE = (120, 40)
NAMES_BY_NAME = [
    "Nicole and Samuel Chapman",
    "Harbor Light Foundation",
    "Julia Morrison",
    "José Núñez",
    "[b]Robin[/b] Ortiz [Jr]",
    "Priya Raman",
    "Mr Wang",
    "Ada Zimmer",
]


def donors_screen(app: CommjobsApp) -> DonorsScreen:
    screen = app.screen
    assert isinstance(screen, DonorsScreen)
    return screen


def table_rows(app: CommjobsApp) -> list[list[str]]:
    table = donors_screen(app).table
    return [
        [cell.plain if isinstance(cell, Text) else str(cell) for cell in row]
        for row in (table.get_row_at(index) for index in range(table.row_count))
    ]


def names(app: CommjobsApp) -> list[str]:
    return [row[0] for row in table_rows(app)]


def status_text(app: CommjobsApp) -> str:
    return str(app.screen.query_one("#donors-status", Static).render())


def rendered_text(widget: Static) -> str:
    """Render a Static's content, such as a Rich table, as plain text."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def empty_text(app: CommjobsApp) -> str:
    return str(app.screen.query_one("#donors-empty", Static).render())


async def test_table_lists_donors(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert names(app) == NAMES_BY_NAME
        rows = {row[0]: row for row in table_rows(app)}
        assert rows["Julia Morrison"] == [
            "Julia Morrison",
            "julia.morrison@example.org",
            "3",
            "$625.00",
            "2025-05-01",
            "$100.00",
            "major donor, board",
        ]
        assert rows["Harbor Light Foundation"][3] == "$2,500.00"
        assert rows["Ada Zimmer"][3] == "$0.00"
        assert rows["Ada Zimmer"][4] == ""
        assert rows["Ada Zimmer"][5] == ""
        assert status_text(app) == "8 donors · sorted by Name ▲"
        assert donors_screen(app).table.has_focus


async def test_table_marks_unreachable_donors(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        emails = {row[0]: row[1] for row in table_rows(app)}
        assert emails["Mr Wang"] == "⊘ do not contact"
        assert emails["José Núñez"] == "no email"
        assert emails["Ada Zimmer"] == "⚠ ada at example.org"
        assert emails["Priya Raman"] == "priya.raman@example.org"


async def test_filter_as_you_type(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"morrison")
        await settle(pilot)
        assert names(app) == ["Julia Morrison"]
        assert status_text(app) == "1 donor · sorted by Name ▲"
        assert donors_screen(app).filter_input.has_focus

        await pilot.press("escape")
        await settle(pilot)
        assert names(app) == NAMES_BY_NAME
        assert donors_screen(app).filter_input.value == ""
        assert donors_screen(app).table.has_focus


async def test_filter_enter_focuses_table(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"oakland", "enter")
        await settle(pilot)
        assert names(app) == ["Harbor Light Foundation"]
        assert donors_screen(app).table.has_focus
        # Escape on the table clears the filter too.
        await pilot.press("escape")
        await settle(pilot)
        assert len(names(app)) == len(NAMES_BY_NAME)


async def test_filter_without_match(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"zzz")
        await settle(pilot)
        screen = donors_screen(app)
        assert not screen.table.display
        assert empty_text(app) == (
            "No donors match “zzz”. Press escape to clear the filter."
        )
        assert status_text(app) == "0 donors · sorted by Name ▲"


async def test_filter_treats_markup_as_text(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"[jr]")
        await settle(pilot)
        assert names(app) == ["[b]Robin[/b] Ortiz [Jr]"]


async def test_sort_key_cycles_columns(seeded_db: Path, tmp_path: Path) -> None:
    state = tmp_path / "ui.json"
    app = make_app(seeded_db, ui_state_path=state)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert status_text(app) == "8 donors · sorted by Email ▲"
        assert names(app)[0] == "Ada Zimmer"
        # A donor without an email sorts last.
        assert names(app)[-1] == "José Núñez"
        await pilot.press("s", "s")
        await settle(pilot)
        assert status_text(app) == "8 donors · sorted by Total ▼"
        assert names(app)[:3] == [
            "Harbor Light Foundation",
            "Julia Morrison",
            "Mr Wang",
        ]
        labels = [
            str(column.label) for column in donors_screen(app).table.columns.values()
        ]
        assert "Total ▼" in labels
        assert "Name" in labels

        await pilot.press("r")
        await settle(pilot)
        assert status_text(app) == "8 donors · sorted by Total ▲"
        assert names(app)[:2] == ["Ada Zimmer", "José Núñez"]

    second = make_app(seeded_db, ui_state_path=state)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert status_text(second) == "8 donors · sorted by Total ▲"


async def test_header_click_sorts(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = donors_screen(app).table
        # The header is the table's first line. The last gift column starts after
        # name, email, gifts and total, which are 22, 22, 5 and 12 cells wide
        # plus one cell of padding on each side.
        offset = (22 + 2) + (22 + 2) + (5 + 2) + (12 + 2) + 3
        assert await pilot.click(table, offset=(offset, 0))
        await settle(pilot)
        assert status_text(app) == "8 donors · sorted by Last gift ▼"
        assert names(app)[0] == "Nicole and Samuel Chapman"
        assert names(app)[-1] == "Ada Zimmer"

        assert await pilot.click(table, offset=(offset, 0))
        await settle(pilot)
        assert status_text(app) == "8 donors · sorted by Last gift ▲"
        assert names(app)[0] == "Mr Wang"
        # No gift date: still last when the order is reversed.
        assert names(app)[-1] == "Ada Zimmer"


async def test_sort_keeps_highlighted_donor(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)
        table = donors_screen(app).table
        assert names(app)[table.cursor_row] == "Julia Morrison"
        await pilot.press("r")
        await settle(pilot)
        assert names(app)[table.cursor_row] == "Julia Morrison"


async def test_open_detail_and_back(seeded_db: Path) -> None:
    ids = {name: index for index, name in enumerate(NAMES_BY_NAME)}
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(ids["Julia Morrison"]):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, DonorDetailScreen)
        assert detail.sub_title == "Donors › Julia Morrison · commjobs.db"
        assert (
            str(detail.query_one("#detail-name", Static).render()) == "Julia Morrison"
        )
        fields = rendered_text(detail.query_one("#detail-fields", Static))
        for expected in (
            "julia.morrison@example.org",
            "415-555-0137",
            "1 Oriole Parkway",
            "San Francisco, CA 94199",
            "major donor, board",
            "C-1001",
            "Prefers email. Met at the spring gala.",
            "2025-01-02 08:00 UTC",
        ):
            assert expected in fields
        giving = str(detail.query_one("#detail-giving", Static).render())
        assert giving == (
            "3 gifts · total $625.00 · first 2023-01-10 · "
            "last 2025-05-01 ($100.00) · largest $500.00"
        )
        gifts = detail.query_one("#gift-table", DataTable)
        assert gifts.row_count == 3
        first_gift = [str(cell) for cell in gifts.get_row_at(0)]
        assert first_gift == [
            "2025-05-01",
            "$100.00",
            "Spring Appeal 2025",
            "General Fund",
        ]
        messages = detail.query_one("#message-table", DataTable)
        assert not messages.display
        empty = str(detail.query_one("#messages-empty", Static).render())
        assert empty == "No communications recorded for this donor."

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DonorsScreen)


async def test_detail_shows_communications(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        julia_id = int(
            str(
                donors_screen(app)
                .table.coordinate_to_cell_key(Coordinate(2, 0))
                .row_key.value
            )
        )
        seed_communication(seeded_db, julia_id)
        await app.push_screen(DonorDetailScreen(app.context, julia_id))
        await settle(pilot)
        messages = app.screen.query_one("#message-table", DataTable)
        assert messages.display
        assert messages.row_count == 1
        assert [str(cell) for cell in messages.get_row_at(0)] == [
            "2025-05-20 14:05 UTC",
            "email",
            "Thank you for your spring gift",
            "Spring thank-you 2025",
        ]


async def test_detail_marks_do_not_contact(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"wang", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        flags = str(app.screen.query_one("#detail-flags", Static).render())
        assert flags == "Person · ⊘ do not contact"
        fields = rendered_text(app.screen.query_one("#detail-fields", Static))
        assert "Yes: never email this donor" in fields


async def test_detail_missing_donor(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(DonorDetailScreen(app.context, 999))
        await settle(pilot)
        name = str(app.screen.query_one("#detail-name", Static).render())
        assert name == "This donor could not be loaded. Press escape to go back."
        messages = [notification.message for notification in app._notifications]
        assert len(messages) == 1
        assert messages[0].startswith("donor 999 not found")


async def test_empty_database_explains_import(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = donors_screen(app)
        assert not screen.table.display
        assert empty_text(app) == (
            "No donors yet. Press i to import a CSV file exported from your CRM "
            "(for example Salesforce NPSP)."
        )
        assert status_text(app) == "0 donors · sorted by Name ▲"
        # The hint works: i opens the import dialog.
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, ImportDonorsScreen)


async def test_pages_load_near_end(db_path: Path) -> None:
    count = PAGE_SIZE * 2 + 50
    seed_donors(
        db_path,
        [Donor(first_name="Page", last_name=f"Donor {n:04d}") for n in range(count)],
    )
    app = make_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = donors_screen(app)
        assert screen.table.row_count == PAGE_SIZE
        assert status_text(app).startswith(f"Showing {PAGE_SIZE} of {count} donors")
        for _ in range(3):
            await pilot.press("ctrl+end")
            await settle(pilot)
        assert screen.table.row_count == count
        assert status_text(app).startswith(f"{count} donors")
        assert names(app)[-1] == f"Page Donor {count - 1:04d}"
        assert len(set(names(app))) == count


async def open_import(
    pilot: Pilot[None], app: CommjobsApp, path: str
) -> ImportDonorsScreen:
    await pilot.press("i")
    await settle(pilot)
    dialog = app.screen
    assert isinstance(dialog, ImportDonorsScreen)
    dialog.query_one("#import-path", Input).value = path
    await settle(pilot)
    return dialog


def dialog_error(dialog: ImportDonorsScreen) -> str:
    error = dialog.query_one("#import-error", Static)
    assert error.display
    return str(error.render())


def dialog_summary(dialog: ImportDonorsScreen) -> str:
    return str(dialog.query_one("#import-summary", Static).render())


async def test_import_csv_success(seeded_db: Path, npsp_sample: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, app, str(npsp_sample))
        assert await pilot.click("#import-run")
        await settle(pilot)
        summary = dialog_summary(dialog)
        assert summary.startswith(f"Imported {npsp_sample}.")
        assert "Salesforce NPSP" in summary
        assert not dialog.query_one("#import-error", Static).display
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DonorsScreen)
        status = status_text(app)
        assert status.endswith("donors · sorted by Name ▲")
        assert int(status.split()[0]) > len(NAMES_BY_NAME)


async def test_import_preview_writes_nothing(
    seeded_db: Path, npsp_sample: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, app, str(npsp_sample))
        await pilot.press("enter")
        await settle(pilot)
        assert "nothing was written" in dialog_summary(dialog)
        await pilot.press("escape")
        await settle(pilot)
        assert status_text(app) == "8 donors · sorted by Name ▲"


async def test_import_expands_home(
    empty_db: Path, npsp_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(npsp_sample.parent))
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, app, f"~/{npsp_sample.name}")
        await pilot.press("enter")
        await settle(pilot)
        assert dialog_summary(dialog).startswith(f"Dry run of {npsp_sample}")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("empty", "Enter the path of a CSV file exported from your CRM."),
        ("missing", "not found. Check the folder and file name."),
        ("folder", "is a folder. Enter the path of the CSV file inside it."),
        ("binary", "is a binary file, not CSV text"),
    ],
)
async def test_import_rejects_bad_path(
    empty_db: Path, tmp_path: Path, kind: str, expected: str
) -> None:
    binary = tmp_path / "export.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    paths = {
        "empty": "",
        "missing": str(tmp_path / "nowhere.csv"),
        "folder": str(tmp_path),
        "binary": str(binary),
    }
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, app, paths[kind])
        assert await pilot.click("#import-run")
        await settle(pilot)
        message = dialog_error(dialog)
        assert expected in message
        if kind != "empty":
            assert paths[kind] in message
        assert not dialog.query_one("#import-result").display
        assert not dialog.query_one("#import-run").disabled
        # Nothing reached the app's failure handler: the dialog shows the error.
        assert list(app._notifications) == []
        await pilot.press("escape")
        await settle(pilot)
        assert status_text(app) == "0 donors · sorted by Name ▲"


async def test_import_error_clears_on_edit(empty_db: Path, tmp_path: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dialog = await open_import(pilot, app, str(tmp_path / "nowhere.csv"))
        await pilot.press("enter")
        await settle(pilot)
        assert "not found" in dialog_error(dialog)
        await pilot.press("x")
        await settle(pilot)
        assert not dialog.query_one("#import-error", Static).display


def test_resolve_relative_path(tmp_path: Path) -> None:
    target = tmp_path / "donors.csv"
    target.write_text("Name\n", encoding="utf-8")
    assert resolve_import_path("  donors.csv ", cwd=tmp_path) == target


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_resolve_unreadable_file(tmp_path: Path) -> None:
    target = tmp_path / "locked.csv"
    target.write_text("Name\n", encoding="utf-8")
    target.chmod(0)
    with pytest.raises(ImportPathError, match="permission denied reading"):
        resolve_import_path(str(target))


def test_resolve_rejects_device() -> None:
    with pytest.raises(ImportPathError, match="is not a regular file"):
        resolve_import_path("/dev/null")
