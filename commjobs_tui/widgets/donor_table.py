"""The donor table: its columns and how a donor's fields render in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from commjobs_tui.core.donors import DONOR_SORT_KEYS, DonorRow
from commjobs_tui.core.prompt import format_money


@dataclass(frozen=True)
class Column:
    """A column of the donor table: its sort key, label, width and first direction.

    Widths are in cells and fixed, so that pages loaded later do not shift the
    columns.
    """

    key: str
    label: str
    width: int
    descending_first: bool = False


# Keys are the donor service's sort keys. Amounts, counts and dates sort largest
# and newest first on the first press, which is what a fundraiser usually wants.
COLUMNS = (
    Column("name", "Name", 22),
    Column("email", "Email", 22),
    Column("gifts", "Gifts", 5, descending_first=True),
    Column("total", "Total", 12, descending_first=True),
    Column("last_gift_on", "Last gift", 10, descending_first=True),
    Column("last_gift_amount", "Amount", 11, descending_first=True),
    Column("tags", "Tags", 20),
)
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
assert tuple(COLUMNS_BY_KEY) == DONOR_SORT_KEYS


def email_cell(row: DonorRow) -> Text:
    """Render the email, or a marker when the donor cannot be emailed."""
    if row.do_not_contact:
        return Text("⊘ do not contact", style="bold red")
    if not (row.email or "").strip():
        return Text("no email", style="italic dim")
    if not row.emailable:
        return Text(f"⚠ {row.email}", style="yellow")
    return Text(row.email or "")


def money_cell(cents: int | None) -> Text:
    if cents is None:
        return Text("")
    return Text(format_money(cents), justify="right")


def donor_cells(row: DonorRow) -> list[Text]:
    """Render one donor as table cells. Text objects keep names free of markup."""
    return [
        Text(row.display_name, style="bold" if row.is_organization else ""),
        email_cell(row),
        Text(str(row.gift_count), justify="right"),
        money_cell(row.total_cents),
        Text(row.last_gift_on.isoformat() if row.last_gift_on else ""),
        money_cell(row.last_gift_cents),
        Text(row.tags or ""),
    ]


class DonorTable(DataTable[Text]):
    """The donor table, with enter labelled for the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            tooltip="Open the highlighted donor",
            id="donors.open",
        ),
    ]


def column_label(column: Column, *, sort: str, descending: bool) -> Text:
    """Label a column, with ▲ or ▼ on the one the table is sorted by."""
    if column.key != sort:
        return Text(column.label)
    arrow = "▼" if descending else "▲"
    return Text(f"{column.label} {arrow}", style="bold")
