"""The Donors section: a filterable, sortable table of donors and their giving."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowDoesNotExist

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.donors import DonorRow, count_donors, list_donors
from commjobs_tui.screens import SectionScreen
from commjobs_tui.screens.donor_detail import DonorDetailScreen
from commjobs_tui.screens.import_donors import ImportDonorsScreen
from commjobs_tui.widgets.donor_table import (
    COLUMNS,
    COLUMNS_BY_KEY,
    DonorTable,
    column_label,
    donor_cells,
)

PAGE_SIZE = 200
# Rows left below the cursor when the next page starts loading.
LOAD_AHEAD_ROWS = 40
FILTER_DEBOUNCE_SECONDS = 0.25
SORT_STATE_KEY = "donors.sort"
DESCENDING_STATE_KEY = "donors.descending"


@dataclass(frozen=True)
class DonorQuery:
    """The filter and sort that produced the rows on screen."""

    text: str
    sort: str
    descending: bool


class FilterInput(Input):
    """The filter field. Escape clears it and gives focus back to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "screen.clear_filter", "Clear filter"),
    ]


class EmptyState(Static, can_focus=True):
    """The message shown instead of an empty table.

    It takes focus, so that keys such as i reach the screen and not the filter.
    """


class DonorsScreen(SectionScreen):
    """The donor list, loaded a page at a time as the cursor nears the end."""

    SECTION = "donors"
    # The table, not the filter, gets focus when the screen is first shown, so
    # letter keys such as the section numbers reach the bindings.
    AUTO_FOCUS = "#donor-table"
    CSS_PATH = "../styles/donors.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", id="donors.clear"),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            tooltip="Filter donors as you type",
            id="donors.filter",
        ),
        Binding(
            "s",
            "next_sort",
            "Sort",
            tooltip="Sort by the next column",
            id="donors.sort",
        ),
        Binding(
            "r",
            "reverse_sort",
            "Reverse",
            tooltip="Reverse the sort order",
            id="donors.reverse",
        ),
        Binding(
            "i",
            "import_csv",
            "Import",
            tooltip="Import donors from a CSV file",
            id="donors.import",
        ),
    ]

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        saved_sort = context.ui_state.get(SORT_STATE_KEY)
        self.sort = saved_sort if saved_sort in COLUMNS_BY_KEY else "name"
        self.descending = context.ui_state.get(DESCENDING_STATE_KEY) is True
        self.filter_text = ""
        # The query behind the rows on screen, how many rows match it in total,
        # and how many of them the table holds.
        self.query_shown: DonorQuery | None = None
        self.total = 0
        self.loaded = 0

    def compose_body(self) -> ComposeResult:
        yield FilterInput(
            placeholder="/ to filter by name, email, tags or city",
            id="donor-filter",
            compact=True,
        )
        yield Static("", id="donors-status")
        yield DonorTable(id="donor-table", cursor_type="row", zebra_stripes=True)
        yield EmptyState("", id="donors-empty")

    def on_mount(self) -> None:
        self.query_one("#donors-status", Static).update("Loading donors…")
        self.table.focus()
        self.watch(self.table, "scroll_y", self.maybe_load_more, init=False)
        self.reload()

    @property
    def table(self) -> DonorTable:
        return self.query_one("#donor-table", DonorTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#donor-filter", FilterInput)

    def current_query(self) -> DonorQuery:
        return DonorQuery(self.filter_text, self.sort, self.descending)

    def reload(self, *, delay: float = 0.0) -> None:
        """Load the first page for the current filter and sort, replacing the rows."""
        self.workers.cancel_group(self, "donor-pages")
        self.load_first_page(self.current_query(), delay)

    @work(
        group="donor-list",
        exclusive=True,
        exit_on_error=False,
        description="Loading donors",
    )
    async def load_first_page(self, query: DonorQuery, delay: float) -> None:
        # Typing cancels this worker and starts another, so a pause at the start
        # lets a burst of keystrokes cost one query.
        if delay:
            await asyncio.sleep(delay)
        store = self.context.store
        today = self.context.clock().date()
        total = await count_donors(store, text=query.text, today=today)
        rows = await list_donors(
            store,
            text=query.text,
            today=today,
            sort=query.sort,
            descending=query.descending,
            limit=PAGE_SIZE,
        )
        self.show_first_page(query, rows, total)

    @work(
        group="donor-pages",
        exclusive=True,
        exit_on_error=False,
        description="Loading more donors",
    )
    async def load_next_page(self, query: DonorQuery, offset: int) -> None:
        rows = await list_donors(
            self.context.store,
            text=query.text,
            today=self.context.clock().date(),
            sort=query.sort,
            descending=query.descending,
            limit=PAGE_SIZE,
            offset=offset,
        )
        if query != self.query_shown or offset != self.loaded:
            return
        self.add_rows(rows)
        self.update_status()

    def show_first_page(
        self, query: DonorQuery, rows: list[DonorRow], total: int
    ) -> None:
        table = self.table
        highlighted = self.highlighted_donor_id()
        table.clear(columns=True)
        for column in COLUMNS:
            label = column_label(column, sort=self.sort, descending=self.descending)
            table.add_column(label, width=column.width, key=column.key)
        self.query_shown = query
        self.total = total
        self.loaded = 0
        self.add_rows(rows)
        if highlighted is not None:
            with contextlib.suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(str(highlighted)))
        self.update_status()

    def add_rows(self, rows: list[DonorRow]) -> None:
        for row in rows:
            self.table.add_row(*donor_cells(row), key=str(row.id))
        self.loaded += len(rows)

    def highlighted_donor_id(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def update_status(self) -> None:
        """Show the row count and sort above the table, or the empty state."""
        column = COLUMNS_BY_KEY[self.sort]
        arrow = "▼" if self.descending else "▲"
        noun = "donor" if self.total == 1 else "donors"
        if self.loaded < self.total:
            count = f"Showing {self.loaded:,} of {self.total:,} {noun}"
        else:
            count = f"{self.total:,} {noun}"
        status = self.query_one("#donors-status", Static)
        status.update(Text(f"{count} · sorted by {column.label} {arrow}"))
        self.show_empty_state(self.total == 0)

    def show_empty_state(self, empty: bool) -> None:
        """Swap the table for a message that says why there is nothing to show."""
        message = self.query_one("#donors-empty", EmptyState)
        message.display = empty
        self.table.display = not empty
        if not empty:
            message.update("")
            if self.focused is None or self.focused is message:
                self.table.focus()
            return
        if not self.filter_input.has_focus:
            message.focus()
        query = self.query_shown
        if query is not None and query.text:
            text = f"No donors match “{query.text}”. Press escape to clear the filter."
        else:
            text = (
                "No donors yet. Press i to import a CSV file exported from your CRM "
                "(for example Salesforce NPSP)."
            )
        message.update(Text(text))

    def maybe_load_more(self) -> None:
        """Load the next page when the cursor or the scroll position nears the end."""
        query = self.query_shown
        if query is None or self.loaded >= self.total:
            return
        table = self.table
        last_visible_row = int(table.scroll_y) + table.size.height
        if max(table.cursor_row, last_visible_row) < self.loaded - LOAD_AHEAD_ROWS:
            return
        self.load_next_page(query, self.loaded)

    @on(DataTable.RowHighlighted, "#donor-table")
    def row_highlighted(self) -> None:
        self.maybe_load_more()

    @on(DataTable.RowSelected, "#donor-table")
    def open_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        donor_id = int(event.row_key.value)
        self.app.push_screen(DonorDetailScreen(self.context, donor_id))

    @on(DataTable.HeaderSelected, "#donor-table")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key is None:
            return
        if key == self.sort:
            self.set_sort(key, not self.descending)
        else:
            self.set_sort(key, COLUMNS_BY_KEY[key].descending_first)

    @on(Input.Changed, "#donor-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        # A cleared filter shows all donors at once.
        self.reload(delay=FILTER_DEBOUNCE_SECONDS if self.filter_text else 0.0)

    @on(Input.Submitted, "#donor-filter")
    def filter_submitted(self) -> None:
        self.table.focus()

    def set_sort(self, key: str, descending: bool) -> None:
        self.sort = key
        self.descending = descending
        self.context.ui_state.set(SORT_STATE_KEY, key)
        self.context.ui_state.set(DESCENDING_STATE_KEY, descending)
        self.reload()

    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.filter_text) or self.filter_input.has_focus
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        if self.filter_input.value:
            self.filter_input.value = ""
        self.table.focus()

    def action_next_sort(self) -> None:
        keys = list(COLUMNS_BY_KEY)
        key = keys[(keys.index(self.sort) + 1) % len(keys)]
        self.set_sort(key, COLUMNS_BY_KEY[key].descending_first)

    def action_reverse_sort(self) -> None:
        self.set_sort(self.sort, not self.descending)

    def action_import_csv(self) -> None:
        def imported(changed: bool | None) -> None:
            if changed:
                self.reload()

        self.app.push_screen(ImportDonorsScreen(self.context), imported)
