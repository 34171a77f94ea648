"""The Communication Jobs section: every job with live status and progress.

Rows change in place: a progress event or a reload updates the cells of the row
with that job's key, so the cursor, the marks and the scroll position stay put.
The table is built again only when the sort changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select, Static
from textual.worker import Worker, WorkerState

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.jobs import JOB_STATUSES, JobSummary
from commjobs_tui.core.watch import JobUpdates
from commjobs_tui.screens.job_actions import (
    JOB_ACTION_BINDINGS,
    JobScreen,
    highlighted_row_id,
)
from commjobs_tui.screens.job_bulk import run_bulk_action
from commjobs_tui.screens.job_detail import JobDetailScreen
from commjobs_tui.screens.job_dialogs import BulkActionMenu
from commjobs_tui.widgets.job_status import (
    JOB_STATUS_LOOKS,
    format_when,
    model_label,
    plural,
    progress_cell,
    status_badge,
    time_cell,
)

log = logging.getLogger(__name__)

FILTER_DEBOUNCE_SECONDS = 0.25
PROGRESS_BAR_WIDTH = 5
SORT_STATE_KEY = "jobs.sort"
DESCENDING_STATE_KEY = "jobs.descending"
STATUS_STATE_KEY = "jobs.status"
FILTER_STATE_KEY = "jobs.filter"
ALL_STATUSES = "all"
# The order in which f steps through the statuses, the ones that need action first.
STATUS_CHOICES = (
    ALL_STATUSES,
    "running",
    "failed",
    "completed",
    "pending",
    "paused",
    "interrupted",
    "cancelled",
)
assert set(STATUS_CHOICES[1:]) == set(JOB_STATUSES)
MARK = "✓"


@dataclass(frozen=True)
class Column:
    """A column of the job table: its key (a JobService sort key), label and width."""

    key: str
    label: str
    width: int
    descending_first: bool = False


# Counts, times and ids sort largest and newest first on the first press.
COLUMNS = (
    Column("id", "ID", 6, descending_first=True),
    Column("name", "Job", 19),
    Column("status", "Status", 13),
    Column("progress", "Progress", 17, descending_first=True),
    Column("failed", "Failed", 6, descending_first=True),
    Column("duration", "Time", 9, descending_first=True),
    Column("created_at", "Created", 12, descending_first=True),
    Column("model", "Model", 20),
)
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}


@dataclass(frozen=True)
class JobQuery:
    """The filter and sort behind the rows on screen."""

    text: str
    status: str
    sort: str
    descending: bool

    @property
    def statuses(self) -> list[str] | None:
        return None if self.status == ALL_STATUSES else [self.status]

    @property
    def filtered(self) -> bool:
        return bool(self.text) or self.status != ALL_STATUSES


def id_cell(job_id: int, marked: bool) -> Text:
    """Render the id with the mark in front; the id is always the last word."""
    text = Text(MARK if marked else " ", style="bold #e5c07b")
    text.append(f" {job_id:>4}")
    return text


def job_id_from_cell(cell: Text) -> int:
    return int(cell.plain.split()[-1])


class JobTable(DataTable[Text]):
    """The job table, with enter labelled for the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            tooltip="Open the highlighted job",
            id="jobs.open",
        ),
    ]


class FilterInput(Input):
    """The name filter. Escape clears the filters and gives focus to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "screen.clear_filters", "Clear filters"),
    ]


class EmptyState(Static, can_focus=True):
    """The message shown instead of an empty table. It takes focus so keys work."""


class JobsScreen(JobScreen):
    """Every communication job, filtered, sorted and updated live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filters", "Clear filters", id="jobs.clear_filters"),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            tooltip="Filter jobs by name as you type",
            id="jobs.filter",
        ),
        Binding(
            "f",
            "next_status",
            "Status",
            tooltip="Show only jobs with the next status (all, running, …)",
            id="jobs.status_filter",
        ),
        Binding(
            "s", "next_sort", "Sort", tooltip="Sort by the next column", id="jobs.sort"
        ),
        Binding(
            "S",
            "reverse_sort",
            "Reverse",
            tooltip="Reverse the sort order",
            id="jobs.reverse",
        ),
        Binding(
            "space",
            "toggle_mark",
            "Mark",
            tooltip="Mark or unmark the highlighted job for a bulk action",
            id="jobs.mark",
        ),
        Binding(
            "a",
            "mark_all",
            "Mark all",
            tooltip="Mark every job shown",
            id="jobs.mark_all",
        ),
        Binding(
            "u",
            "clear_marks",
            "Unmark",
            tooltip="Clear every mark",
            id="jobs.clear_marks",
        ),
        Binding(
            "b",
            "bulk_menu",
            "Bulk",
            tooltip="Delete, retry or cancel the marked jobs",
            id="jobs.bulk",
        ),
        *JOB_ACTION_BINDINGS,
        Binding(
            "z",
            "toggle_freeze",
            "Freeze",
            tooltip="Freeze or resume live updates of the table",
            id="jobs.freeze",
        ),
        Binding(
            "n",
            "app.new_job",
            "New job",
            tooltip="Start a new job in the Communicate section",
            id="jobs.new",
        ),
    ]

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        state = context.ui_state
        saved_sort = state.get(SORT_STATE_KEY)
        self.sort = saved_sort if saved_sort in COLUMNS_BY_KEY else "created_at"
        saved_descending = state.get(DESCENDING_STATE_KEY)
        self.descending = (
            saved_descending if isinstance(saved_descending, bool) else True
        )
        saved_status = state.get(STATUS_STATE_KEY)
        self.status_filter = (
            saved_status if saved_status in STATUS_CHOICES else ALL_STATUSES
        )
        saved_text = state.get(FILTER_STATE_KEY)
        self.filter_text = saved_text if isinstance(saved_text, str) else ""
        # What the table shows: the query, its rows by job id in table order, and
        # how many jobs exist without any filter.
        self.query_shown: JobQuery | None = None
        self.jobs: dict[int, JobSummary] = {}
        self.all_jobs_count = 0
        self.marked: set[int] = set()
        # ETA per job from this process's progress events.
        self.eta: dict[int, float | None] = {}
        self.frozen = False
        self.missed_updates = False
        self.load_error: str | None = None
        self.load_worker: Worker[None] | None = None
        self.reload_pending = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="jobs-filters"):
            yield FilterInput(
                self.filter_text,
                placeholder="/ to filter jobs by name",
                id="jobs-filter",
                compact=True,
            )
            yield Select(
                [(self.status_label(status), status) for status in STATUS_CHOICES],
                value=self.status_filter,
                allow_blank=False,
                compact=True,
                id="jobs-status",
            )
        yield Static("", id="jobs-status-line")
        yield JobTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        yield EmptyState("", id="jobs-empty")

    @staticmethod
    def status_label(status: str) -> Text:
        if status == ALL_STATUSES:
            return Text("All statuses")
        look = JOB_STATUS_LOOKS[status]
        return Text(f"{look.symbol} {status}", style=look.style)

    def on_mount(self) -> None:
        self.query_one("#jobs-empty", EmptyState).display = False
        self.update_status_line()
        self.table.focus()
        self.reload(rebuild=True)

    def catch_up(self) -> None:
        if self.query_shown is not None and not self.frozen:
            self.reload_when_idle()

    @property
    def table(self) -> JobTable:
        return self.query_one("#jobs-table", JobTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#jobs-filter", FilterInput)

    def current_query(self) -> JobQuery:
        return JobQuery(
            self.filter_text, self.status_filter, self.sort, self.descending
        )

    # Loading ------------------------------------------------------------------

    def reload(self, *, rebuild: bool = False, delay: float = 0.0) -> None:
        """Load the jobs for the current filter and sort, then apply them.

        A load already running is cancelled, because its query is out of date.
        """
        self.reload_pending = False
        self.load_worker = self.load_jobs(self.current_query(), rebuild, delay)

    def reload_when_idle(self) -> None:
        """Reload after the load in progress, if any, instead of cancelling it.

        Live updates ask for a reload several times a second. Cancelling each
        running load for the next one could leave the table never updated when
        one load takes longer than the time between updates.
        """
        worker = self.load_worker
        if worker is not None and worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            self.reload_pending = True
            return
        self.reload()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual also runs SectionScreen's handler (it dispatches along the MRO),
        # which passes failures to the app; calling it here reported them twice.
        finished = event.state in (WorkerState.SUCCESS, WorkerState.ERROR)
        if finished and event.worker is self.load_worker and self.reload_pending:
            self.reload()

    @work(
        group="job-list",
        exclusive=True,
        exit_on_error=False,
        description="Loading jobs",
    )
    async def load_jobs(self, query: JobQuery, rebuild: bool, delay: float) -> None:
        # Typing cancels this worker and starts another, so a short pause lets a
        # burst of keystrokes cost one query.
        if delay:
            await asyncio.sleep(delay)
        service = self.context.jobs
        # NOTE: every matching job is loaded, without paging. With 5,000 jobs a
        # load took about 0.8 s on a 2-core VM, most of it in list_jobs, so a
        # list that long updates about once a second while jobs run.
        try:
            jobs = await service.list_jobs(
                statuses=query.statuses,
                text=query.text or None,
                sort=query.sort,
                descending=query.descending,
            )
            all_count = await service.count_jobs() if query.filtered else len(jobs)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            log.warning("loading the job list failed: %s", exc)
            self.load_error = (
                f"Cannot read the jobs from {self.context.db_path}: {exc}. The list "
                "shows what it last read and tries again when the database changes."
            )
            self.update_status_line()
            return
        self.load_error = None
        self.show_jobs(query, jobs, all_count, rebuild=rebuild)

    def show_jobs(
        self, query: JobQuery, jobs: list[JobSummary], all_count: int, *, rebuild: bool
    ) -> None:
        table = self.table
        highlighted = self.highlighted_job_id()
        previous = self.query_shown
        sort_changed = previous is None or (previous.sort, previous.descending) != (
            query.sort,
            query.descending,
        )
        if rebuild or sort_changed:
            self.build_table(jobs)
        else:
            self.update_rows(jobs)
        self.query_shown = query
        self.all_jobs_count = all_count
        self.jobs = {job.id: job for job in jobs}
        if highlighted is not None and highlighted in self.jobs:
            index = table.get_row_index(str(highlighted))
            if index != table.cursor_row:
                table.move_cursor(row=index, animate=False)
        self.update_status_line()

    def build_table(self, jobs: list[JobSummary]) -> None:
        table = self.table
        table.clear(columns=True)
        for column in COLUMNS:
            table.add_column(
                self.column_label(column), width=column.width, key=column.key
            )
        for job in jobs:
            table.add_row(*self.cells(job), key=str(job.id))

    def update_rows(self, jobs: list[JobSummary]) -> None:
        """Apply new rows in place: remove, update changed cells, add, reorder."""
        table = self.table
        new_order = [job.id for job in jobs]
        new_ids = set(new_order)
        for row_key in list(table.rows):
            if row_key.value is not None and int(row_key.value) not in new_ids:
                table.remove_row(row_key)
        for job in jobs:
            if str(job.id) not in table.rows:
                table.add_row(*self.cells(job), key=str(job.id))
            elif job != self.jobs.get(job.id) or job.status == "running":
                # A running job's time cell changes with the clock, so it is
                # drawn again even when its counts have not changed.
                self.update_row(job)
        current = [int(row.key.value or 0) for row in table.ordered_rows]
        if current != new_order:
            position = {job_id: index for index, job_id in enumerate(new_order)}
            table.sort("id", key=lambda cell: position[job_id_from_cell(cell)])

    def update_row(self, job: JobSummary) -> None:
        """Update only the cells of the job's row whose content changed."""
        table = self.table
        key = str(job.id)
        for column, cell in zip(COLUMNS, self.cells(job), strict=True):
            if table.get_cell(key, column.key) != cell:
                table.update_cell(key, column.key, cell)

    def cells(self, job: JobSummary) -> list[Text]:
        now = self.context.clock()
        return [
            id_cell(job.id, job.id in self.marked),
            Text(job.name),
            status_badge(job.status, job.requested_action),
            progress_cell(job.completed, job.failed, job.total, PROGRESS_BAR_WIDTH),
            Text(
                f"{job.failed:,}" if job.failed else "0",
                style="bold #ef5350" if job.failed else "dim",
                justify="right",
            ),
            time_cell(job, now, self.eta.get(job.id)),
            Text(format_when(job.created_at, now)),
            Text(model_label(job.provider, job.model)),
        ]

    def column_label(self, column: Column) -> Text:
        if column.key != self.sort:
            return Text(column.label)
        arrow = "▼" if self.descending else "▲"
        return Text(f"{column.label} {arrow}", style="bold")

    def highlighted_job_id(self) -> int | None:
        return highlighted_row_id(self.table)

    # Status line and empty state ----------------------------------------------

    def update_status_line(self) -> None:
        line = Text()
        query = self.query_shown
        shown = len(self.jobs)
        if query is None:
            line.append("Loading jobs…")
        elif query.filtered:
            line.append(f"{shown:,} of {plural(self.all_jobs_count, 'job')}")
        else:
            line.append(plural(shown, "job"))
        column = COLUMNS_BY_KEY[self.sort]
        arrow = "▼" if self.descending else "▲"
        line.append(f" · sorted by {column.label} {arrow}")
        if self.marked:
            hidden = len(self.marked - set(self.jobs))
            line.append(f" · {len(self.marked):,} marked", style="bold #e5c07b")
            if hidden:
                line.append(f" ({hidden:,} hidden by the filter)")
        line.append(" · ")
        if self.frozen:
            line.append(" FROZEN ", style="bold reverse #e5c07b")
            line.append(" z resumes live updates")
        else:
            line.append("live", style="#4caf50")
        if self.load_error:
            line.append("\n")
            line.append(self.load_error, style="bold #ef5350")
        self.query_one("#jobs-status-line", Static).update(line)
        self.update_empty_state()

    def update_empty_state(self) -> None:
        empty = self.query_one("#jobs-empty", EmptyState)
        query = self.query_shown
        if query is None or self.jobs:
            empty.display = False
            self.table.display = True
            if self.focused is None or self.focused is empty:
                self.table.focus()
            return
        self.table.display = False
        empty.display = True
        if not self.filter_input.has_focus:
            empty.focus()
        if query.filtered:
            parts = []
            if query.text:
                parts.append(f"named like “{query.text}”")
            if query.status != ALL_STATUSES:
                parts.append(f"with status {query.status}")
            empty.update(
                Text(
                    f"No jobs {' and '.join(parts)}. Press escape to clear the filters."
                )
            )
        else:
            empty.update(
                Text(
                    "No communication jobs yet. Press 2 (or n) to open Communicate, "
                    "choose donors and start a job."
                )
            )

    # Live updates ---------------------------------------------------------------

    def apply_updates(self, updates: JobUpdates) -> None:
        """Apply a batch of engine events and database changes to the table."""
        for job_id, progress in updates.progress.items():
            self.eta[job_id] = progress.eta_seconds
        for finished in updates.finished:
            self.eta.pop(finished.job_id, None)
        if self.frozen:
            self.missed_updates = True
            return
        for job_id, progress in updates.progress.items():
            job = self.jobs.get(job_id)
            if job is None:
                continue
            updated = dataclasses.replace(
                job,
                total=progress.total,
                completed=progress.completed,
                failed=progress.failed,
            )
            self.jobs[job_id] = updated
            self.update_row(updated)
        if updates.changes_job_list:
            self.reload_when_idle()

    def action_toggle_freeze(self) -> None:
        self.frozen = not self.frozen
        if not self.frozen:
            # The database may have changed since the last batch, so the table
            # catches up at once rather than at the next change.
            self.missed_updates = False
            self.reload()
        self.update_status_line()
        self.notify(
            "Live updates frozen. Press z to resume them."
            if self.frozen
            else "Live updates resumed."
        )

    # Filter and sort ------------------------------------------------------------

    @on(Input.Changed, "#jobs-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if text == self.filter_text:
            return
        self.filter_text = text
        self.context.ui_state.set(FILTER_STATE_KEY, text)
        self.reload(delay=FILTER_DEBOUNCE_SECONDS if text else 0.0)

    @on(Input.Submitted, "#jobs-filter")
    def filter_submitted(self) -> None:
        self.table.focus()

    @on(Select.Changed, "#jobs-status")
    def status_changed(self, event: Select.Changed) -> None:
        value = event.value
        if not isinstance(value, str) or value == self.status_filter:
            return
        self.set_status_filter(value)

    def set_status_filter(self, status: str) -> None:
        self.status_filter = status
        self.context.ui_state.set(STATUS_STATE_KEY, status)
        select: Select[str] = self.query_one("#jobs-status", Select)
        if select.value != status:
            select.value = status
        self.reload()

    def action_next_status(self) -> None:
        index = STATUS_CHOICES.index(self.status_filter)
        self.set_status_filter(STATUS_CHOICES[(index + 1) % len(STATUS_CHOICES)])

    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filters":
            return (
                bool(self.filter_text)
                or self.status_filter != ALL_STATUSES
                or self.filter_input.has_focus
            )
        return super().check_action(action, parameters)

    def action_clear_filters(self) -> None:
        if self.filter_input.value:
            self.filter_input.value = ""
        if self.status_filter != ALL_STATUSES:
            self.set_status_filter(ALL_STATUSES)
        self.table.focus()

    @on(DataTable.HeaderSelected, "#jobs-table")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key is None or key not in COLUMNS_BY_KEY:
            return
        if key == self.sort:
            self.set_sort(key, not self.descending)
        else:
            self.set_sort(key, COLUMNS_BY_KEY[key].descending_first)

    def set_sort(self, key: str, descending: bool) -> None:
        self.sort = key
        self.descending = descending
        self.context.ui_state.set(SORT_STATE_KEY, key)
        self.context.ui_state.set(DESCENDING_STATE_KEY, descending)
        self.reload(rebuild=True)

    def action_next_sort(self) -> None:
        keys = list(COLUMNS_BY_KEY)
        key = keys[(keys.index(self.sort) + 1) % len(keys)]
        self.set_sort(key, COLUMNS_BY_KEY[key].descending_first)

    def action_reverse_sort(self) -> None:
        self.set_sort(self.sort, not self.descending)

    # Marks and bulk actions -------------------------------------------------------

    def set_marked(self, job_ids: set[int]) -> None:
        changed = self.marked ^ job_ids
        self.marked = job_ids
        for job_id in changed:
            if str(job_id) in self.table.rows:
                self.table.update_cell(
                    str(job_id), "id", id_cell(job_id, job_id in job_ids)
                )
        self.update_status_line()

    def action_toggle_mark(self) -> None:
        job_id = self.highlighted_job_id()
        if job_id is None:
            self.notify("There is no job to mark.", severity="warning")
            return
        self.set_marked(self.marked ^ {job_id})
        self.table.action_cursor_down()

    def action_mark_all(self) -> None:
        if not self.jobs:
            self.notify("There are no jobs shown to mark.", severity="warning")
            return
        self.set_marked(self.marked | set(self.jobs))

    def action_clear_marks(self) -> None:
        if not self.marked:
            self.notify("No jobs are marked.", severity="warning")
            return
        self.set_marked(set())

    def action_bulk_menu(self) -> None:
        if not self.marked:
            self.explain(
                "No jobs are marked. Press space to mark the highlighted job, or a "
                "to mark every job shown."
            )
            return
        self.bulk_menu(tuple(sorted(self.marked)))

    @work(group="job-action", exit_on_error=False, description="Bulk action")
    async def bulk_menu(self, job_ids: tuple[int, ...]) -> None:
        marked_ids = set(job_ids)
        all_jobs = await self.context.jobs.list_jobs()
        jobs = [job for job in all_jobs if job.id in marked_ids]
        deleted_ids = marked_ids - {job.id for job in jobs}
        if deleted_ids:
            self.set_marked(self.marked - deleted_ids)
        if not jobs:
            self.explain("The marked jobs no longer exist.")
            return
        action = await self.app.push_screen_wait(BulkActionMenu(jobs))
        if action is not None:
            await run_bulk_action(self, action, jobs)

    # Row actions ----------------------------------------------------------------

    def action_target(self) -> JobSummary | None:
        job_id = self.highlighted_job_id()
        return None if job_id is None else self.jobs.get(job_id)

    def after_job_change(self, job_ids: tuple[int, ...], *, deleted: bool) -> None:
        if deleted:
            self.set_marked(self.marked - set(job_ids))
        self.reload()

    @on(DataTable.RowSelected, "#jobs-table")
    def open_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        self.app.push_screen(JobDetailScreen(self.context, int(event.row_key.value)))
