"""The Communicate section: step 1 of the wizard that creates a communication job.

The operator marks donors in a table, narrowed by a text filter and quick
segments. Steps 2 to 4 (job name, instructions, review) are pushed on top of this
screen and share its `WizardDraft`.
"""

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
from textual.worker import WorkerCancelled, WorkerFailed

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.donors import (
    DonorRow,
    DonorSegment,
    count_donors,
    list_donors,
)
from commjobs_tui.core.wizard import SelectedDonor, WizardDraft, update_draft_job
from commjobs_tui.screens.donors import EmptyState, FilterInput
from commjobs_tui.screens.wizard_common import WizardStepScreen
from commjobs_tui.screens.wizard_name import JobNameScreen
from commjobs_tui.screens.wizard_segments import (
    SegmentBar,
    describe_segment,
    read_segment,
)
from commjobs_tui.widgets.donor_table import COLUMNS, donor_cells

# The table shows at most this many rows; "mark all" still marks every match.
MAX_SHOWN_ROWS = 2000
FILTER_DEBOUNCE_SECONDS = 0.25
MARK_COLUMN = "mark"
NO_DONORS_MESSAGE = (
    "No donors yet, so there is nobody to write to. Import a CSV file exported "
    "from your CRM first: press 1 for Donors and then i, or run "
    "`commjobs donors import FILE`."
)


@dataclass(frozen=True)
class DonorQuery:
    """The filter text and segment behind the rows on screen."""

    text: str
    segment: DonorSegment | None


def mark_cell(marked: bool) -> Text:
    return Text("✓", style="bold green") if marked else Text("")


class PickTable(DataTable[Text]):
    """The donor table of the first step. Space or enter marks a row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "select_cursor",
            "Mark",
            tooltip="Mark or unmark the highlighted donor",
            id="wizard.mark",
        ),
    ]


class CommunicateScreen(WizardStepScreen):
    """Step 1: choose the donors to write to."""

    STEP = 1
    # The table, not the filter, gets focus when the screen is first shown, so
    # letter keys such as the section numbers reach the bindings.
    AUTO_FOCUS = "#pick-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "leave_field",
            "To table",
            tooltip="Clear the filter, or leave the segments, and go to the table",
            id="wizard.leave_field",
        ),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            tooltip="Filter donors by name, email, tags or city",
            id="wizard.filter",
        ),
        Binding(
            "s",
            "focus_segments",
            "Segments",
            tooltip="Go to the quick segments (lapsed, recent, total, has email)",
            id="wizard.segments",
        ),
        Binding(
            "a",
            "mark_all",
            "Mark all",
            tooltip="Mark every donor that matches the filter and segments",
            id="wizard.mark_all",
        ),
        Binding(
            "u",
            "clear_marks",
            "Unmark all",
            tooltip="Unmark every donor, shown or not",
            id="wizard.clear_marks",
        ),
        Binding(
            "ctrl+n",
            "next_step",
            "Next",
            tooltip="Go to the next step: name the job",
            id="wizard.next",
        ),
    ]

    def __init__(self, context: AppContext, draft: WizardDraft | None = None) -> None:
        super().__init__(context, draft or WizardDraft())
        self.filter_text = ""
        self.segment: DonorSegment | None = None
        self.query_shown: DonorQuery | None = None
        self.rows_by_id: dict[int, DonorRow] = {}
        self.matching = 0
        self.donors_in_database: int | None = None

    def compose_step(self) -> ComposeResult:
        yield FilterInput(
            placeholder="/ to filter by name, email, tags or city",
            id="wizard-filter",
            compact=True,
        )
        yield SegmentBar(self.context.ui_state, id="segments")
        yield Static("", id="segment-error", classes="wizard-error")
        yield Static("", id="selection-summary", classes="wizard-summary")
        yield Static("", id="select-status", classes="wizard-status")
        yield PickTable(id="pick-table", cursor_type="row", zebra_stripes=True)
        yield EmptyState("", id="pick-empty")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#select-status", Static).update("Loading donors…")
        self.query_one("#segment-error", Static).display = False
        self.table.focus()
        self.update_summary()
        self.reload()

    def on_screen_resume(self) -> None:
        # Donors may have been imported or changed in another section since
        # the rows were loaded. The first load is started by on_mount.
        if self.query_shown is None:
            return
        self.donors_in_database = None
        self.reload()

    @property
    def table(self) -> PickTable:
        return self.query_one("#pick-table", PickTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#wizard-filter", FilterInput)

    # Loading ------------------------------------------------------------------

    def reload(self, *, delay: float = 0.0) -> None:
        self.load_rows(DonorQuery(self.filter_text, self.segment), delay)

    @work(
        group="wizard-donors",
        exclusive=True,
        exit_on_error=False,
        description="Loading donors",
    )
    async def load_rows(self, query: DonorQuery, delay: float) -> None:
        # Typing cancels this worker and starts another, so a pause at the start
        # lets a burst of keystrokes cost one query.
        if delay:
            await asyncio.sleep(delay)
        store = self.context.store
        today = self.today()
        if self.donors_in_database is None:
            self.donors_in_database = await count_donors(store, today=today)
        total = await count_donors(
            store, text=query.text, segment=query.segment, today=today
        )
        rows = await list_donors(
            store,
            text=query.text,
            segment=query.segment,
            today=today,
            limit=MAX_SHOWN_ROWS,
        )
        self.show_rows(query, rows, total)

    def show_rows(self, query: DonorQuery, rows: list[DonorRow], total: int) -> None:
        table = self.table
        highlighted = self.highlighted_key()
        table.clear(columns=True)
        table.add_column(Text("✓"), width=1, key=MARK_COLUMN)
        for column in COLUMNS:
            table.add_column(Text(column.label), width=column.width, key=column.key)
        selected = self.draft.selected
        for row in rows:
            table.add_row(
                mark_cell(row.id in selected), *donor_cells(row), key=str(row.id)
            )
        self.rows_by_id = {row.id: row for row in rows}
        if highlighted is not None:
            with contextlib.suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(highlighted))
        self.query_shown = query
        self.matching = total
        self.update_status()

    def highlighted_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def update_status(self) -> None:
        status = self.query_one("#select-status", Static)
        empty = self.query_one("#pick-empty", EmptyState)
        query = self.query_shown
        shown = self.table.row_count
        noun = "donor matches" if self.matching == 1 else "donors match"
        text = f"{self.matching:,} {noun}"
        if shown < self.matching:
            text = f"Showing {shown:,} of {self.matching:,} matching donors"
        conditions = describe_segment(query.segment) if query else ""
        if query is not None and query.text:
            conditions = ", ".join(filter(None, [f"“{query.text}”", conditions]))
        if conditions:
            text += f" ({conditions})"
        status.update(Text(text))

        if self.matching:
            empty.display = False
            self.table.display = True
            if self.focused is None or self.focused is empty:
                self.table.focus()
            return

        self.table.display = False
        empty.display = True
        if self.donors_in_database == 0:
            empty.update(Text(NO_DONORS_MESSAGE))
        else:
            empty.update(
                Text(
                    "No donors match the filter and segments. Press escape to "
                    "clear the filter, or s to change the segments."
                )
            )
        # Focus stays in the filter or the segments while the operator edits
        # them. Elsewhere the message takes it, so that letter keys reach the
        # screen's bindings.
        if not (self.filter_input.has_focus or self.in_segments()):
            empty.focus()

    def update_summary(self) -> None:
        summary = self.draft.summary()
        self.query_one("#selection-summary", Static).update(Text(summary.describe()))

    def refresh_marks(self) -> None:
        selected = self.draft.selected
        table = self.table
        for row_key in list(table.rows):
            if row_key.value is None:
                continue
            marked = int(row_key.value) in selected
            table.update_cell(row_key, MARK_COLUMN, mark_cell(marked))
        self.update_summary()

    # Filter and segments -------------------------------------------------------

    @on(Input.Changed, "#wizard-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.reload(delay=FILTER_DEBOUNCE_SECONDS if self.filter_text else 0.0)

    @on(Input.Submitted, "#wizard-filter")
    def filter_submitted(self) -> None:
        self.focus_rows()

    @on(SegmentBar.Changed)
    def segments_changed(self) -> None:
        segment, error = read_segment(self.query_one(SegmentBar))
        error_line = self.query_one("#segment-error", Static)
        error_line.display = error is not None
        if error is not None:
            error_line.update(Text(error))
            return
        self.segment = segment
        self.draft.segment = segment
        self.reload(delay=FILTER_DEBOUNCE_SECONDS)

    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def action_focus_segments(self) -> None:
        self.query_one(SegmentBar).focus_first()

    def in_segments(self) -> bool:
        focused = self.focused
        return focused is not None and self.query_one(SegmentBar) in focused.ancestors

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("leave_field", "clear_filter"):
            return (
                bool(self.filter_text)
                or self.filter_input.has_focus
                or self.in_segments()
            )
        return super().check_action(action, parameters)

    def action_leave_field(self) -> None:
        """Leave the segments for the table, or else clear the filter."""
        if not self.in_segments() and self.filter_input.value:
            self.filter_input.value = ""
        self.focus_rows()

    def action_clear_filter(self) -> None:
        self.action_leave_field()

    def focus_rows(self) -> None:
        if self.table.display:
            self.table.focus()
        else:
            self.query_one("#pick-empty", EmptyState).focus()

    @on(Input.Submitted, ".segment-value")
    def segment_submitted(self) -> None:
        self.focus_rows()

    # Marking ---------------------------------------------------------------

    @on(DataTable.RowSelected, "#pick-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        row = self.rows_by_id.get(int(event.row_key.value))
        if row is None:
            return
        marked = self.draft.toggle(SelectedDonor.from_row(row))
        self.table.update_cell(event.row_key, MARK_COLUMN, mark_cell(marked))
        self.update_summary()

    def action_mark_all(self) -> None:
        # This marks by the current filter and segment, not by the rows on
        # screen, which may still be loading for an older query.
        self.mark_all(DonorQuery(self.filter_text, self.segment))

    @work(
        group="wizard-mark",
        exclusive=True,
        exit_on_error=False,
        description="Marking donors",
    )
    async def mark_all(self, query: DonorQuery) -> None:
        rows = await list_donors(
            self.context.store,
            text=query.text,
            segment=query.segment,
            today=self.today(),
        )
        if not rows:
            self.notify(
                "No donors match the filter and segments, so none were marked.",
                severity="warning",
            )
            return
        added = self.draft.mark(SelectedDonor.from_row(row) for row in rows)
        self.refresh_marks()
        self.notify(
            f"Marked {added:,} more donors; {len(self.draft.selected):,} selected."
        )

    def action_clear_marks(self) -> None:
        count = self.draft.clear_marks()
        if not count:
            self.notify("No donors are marked.", severity="warning")
            return
        self.refresh_marks()
        self.notify(f"Unmarked {count:,} donors.")

    # Next ------------------------------------------------------------------

    def action_next_step(self) -> None:
        self.go_next()

    @work(
        group="wizard-next",
        exclusive=True,
        exit_on_error=False,
        description="Updating the draft job",
    )
    async def go_next(self) -> None:
        # "Mark all" may still be running when next is pressed right after it.
        marking = [worker for worker in self.workers if worker.group == "wizard-mark"]
        for worker in marking:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        if not self.selection_ready():
            return
        await update_draft_job(self.context.jobs, self.draft)
        await self.app.push_screen(JobNameScreen(self.context, self.draft))

    def selection_ready(self) -> bool:
        """Tell whether the selection can make a job, and notify why not."""
        summary = self.draft.summary()
        if not summary.selected:
            self.notify(
                "No donors selected. Press space to mark the highlighted donor, "
                "or a to mark every donor shown.",
                title="Select donors",
                severity="warning",
            )
            return False
        if not summary.emailable:
            self.notify(
                f"None of the {summary.selected:,} selected donors can be emailed "
                "(no usable email address, or marked do not contact). Select "
                "other donors.",
                title="Select donors",
                severity="warning",
            )
            return False
        return True
