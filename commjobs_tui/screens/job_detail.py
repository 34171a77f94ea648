"""One communication job: its summary, its emails page by page, and their drafts.

The emails load a page at a time as the cursor nears the end, because a job can
have tens of thousands. While the job runs, the summary and the emails that the
engine reports as written update in place, and so do the rows on screen when
another process changes the database.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from commjobs_tui.core.communications import mark_job_sent
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import NotFoundError
from commjobs_tui.core.events import JobProgress
from commjobs_tui.core.jobs import EmailRow, JobDetail, JobSummary
from commjobs_tui.core.watch import JobUpdates
from commjobs_tui.screens.job_actions import (
    JOB_ACTION_BINDINGS,
    JobScreen,
    highlighted_row_id,
    job_label,
    retry_block_reason,
)
from commjobs_tui.screens.job_dialogs import (
    ConfirmDialog,
    ErrorKindPicker,
    InstructionsDialog,
)
from commjobs_tui.widgets.job_status import plural
from commjobs_tui.widgets.job_summary import email_cells, email_preview, summary_table

log = logging.getLogger(__name__)

PAGE_SIZE = 200
# Rows left below the cursor when the next page starts loading.
LOAD_AHEAD_ROWS = 40
# Email filters that f steps through; "pending" includes emails being drafted.
EMAIL_FILTERS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("all", None),
    ("failed", ("failed",)),
    ("completed", ("completed",)),
    ("pending", ("pending", "generating")),
)
EMAIL_COLUMNS = (
    ("donor", "Donor", 18),
    ("status", "Status", 11),
    ("attempts", "Tries", 5),
    ("error", "Last error", 14),
)


@dataclass(frozen=True)
class EmailQuery:
    """The status filter behind the email rows on screen."""

    name: str
    statuses: tuple[str, ...] | None


class EmailTable(DataTable[Text]):
    """The job's emails, one row per donor."""


class JobDetailScreen(JobScreen):
    """Everything about one job. Escape goes back to the job list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *JOB_ACTION_BINDINGS,
        Binding(
            "k",
            "retry_error_kind",
            "Retry kind",
            tooltip="Retry only the emails that failed with one kind of error",
            id="job.retry_kind",
        ),
        Binding(
            "g",
            "redraft_email",
            "Redraft",
            tooltip="Discard the highlighted email's draft and draft it again",
            id="job.redraft",
        ),
        Binding(
            "m",
            "mark_sent",
            "Mark sent",
            tooltip="Record the job's completed emails as sent by email",
            id="job.mark_sent",
        ),
        Binding(
            "f",
            "next_email_filter",
            "Status",
            tooltip="Show only emails with the next status (all, failed, …)",
            id="job.email_filter",
        ),
        Binding(
            "i",
            "show_instructions",
            "Instructions",
            tooltip="Show the instructions and their refinement history",
            id="job.instructions",
        ),
    ]

    def __init__(self, context: AppContext, job_id: int) -> None:
        super().__init__(context)
        self.job_id = job_id
        self.job: JobDetail | None = None
        self.progress: JobProgress | None = None
        self.email_filter = EMAIL_FILTERS[0]
        self.query_shown: EmailQuery | None = None
        self.emails: dict[int, EmailRow] = {}
        self.email_total = 0
        self.missing = False

    @property
    def heading(self) -> str:
        if self.job is None:
            return f"Communication Jobs › job {self.job_id}"
        return f"Communication Jobs › {self.job.name}"

    def compose_body(self) -> ComposeResult:
        yield Static(Text("Loading the job…"), id="job-summary")
        yield Static("", id="emails-status-line")
        with Container(id="emails-area"):
            table = EmailTable(id="emails-table", cursor_type="row", zebra_stripes=True)
            for key, label, width in EMAIL_COLUMNS:
                table.add_column(label, width=width, key=key)
            yield table
            with VerticalScroll(id="email-preview"):
                yield Static("", id="email-preview-text")

    def on_mount(self) -> None:
        self.table.focus()
        self.watch(self.table, "scroll_y", self.maybe_load_more, init=False)
        self.load_job()

    def catch_up(self) -> None:
        if self.job is not None:
            self.load_job()

    @property
    def table(self) -> EmailTable:
        return self.query_one("#emails-table", EmailTable)

    def current_query(self) -> EmailQuery:
        name, statuses = self.email_filter
        return EmailQuery(name, statuses)

    # Loading ------------------------------------------------------------------

    @work(
        group="job-detail",
        exclusive=True,
        exit_on_error=False,
        description="Loading the job",
    )
    async def load_job(self) -> None:
        """Load the job and the first pages of its emails, keeping the cursor's row."""
        service = self.context.jobs
        query = self.current_query()
        keep = max(PAGE_SIZE, self.table.cursor_row + LOAD_AHEAD_ROWS)
        try:
            job = await service.get_job(self.job_id)
            total = await service.count_emails(self.job_id, statuses=query.statuses)
            rows = await service.list_emails(
                self.job_id, statuses=query.statuses, limit=keep
            )
        except NotFoundError:
            self.show_missing()
            return
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            log.warning("loading job %s failed: %s", self.job_id, exc)
            self.notify(
                f"Cannot read job {self.job_id} from {self.context.db_path}: {exc}",
                severity="error",
            )
            return
        self.show_job(job)
        self.show_emails(query, rows, total)

    @work(
        group="job-emails",
        exclusive=True,
        exit_on_error=False,
        description="Loading more emails",
    )
    async def load_next_page(self, query: EmailQuery, offset: int) -> None:
        rows = await self.context.jobs.list_emails(
            self.job_id, statuses=query.statuses, limit=PAGE_SIZE, offset=offset
        )
        if query != self.query_shown or offset != len(self.emails):
            return
        self.add_rows(rows)
        self.update_status_line()

    @work(
        group="job-live",
        exclusive=True,
        exit_on_error=False,
        description="Updating the job",
    )
    async def refresh_live(self, email_ids: tuple[int, ...]) -> None:
        """Reload the summary and the given emails; reload all if the status changed."""
        service = self.context.jobs
        try:
            job = await service.get_job(self.job_id)
            rows = await service.get_emails(self.job_id, email_ids) if email_ids else []
        except NotFoundError:
            self.show_missing()
            return
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            log.warning("updating job %s failed: %s", self.job_id, exc)
            return
        status_changed = self.job is not None and self.job.status != job.status
        self.show_job(job)
        for row in rows:
            self.update_email(row)
        if status_changed:
            # A retry resets many emails and a finished run leaves none running,
            # so every loaded row may have changed.
            self.load_job()
        else:
            self.show_preview()

    def show_missing(self) -> None:
        self.missing = True
        self.job = None
        self.query_one("#job-summary", Static).update(
            Text(
                f"Job {self.job_id} no longer exists; it was deleted. Press escape "
                "to go back to the job list.",
                style="bold",
            )
        )
        self.table.clear()
        self.emails = {}
        self.update_status_line()

    def show_job(self, job: JobDetail) -> None:
        self.missing = False
        self.job = job
        self.update_header()
        if job.status != "running":
            self.progress = None
        summary = summary_table(
            job,
            now=self.context.clock(),
            progress=self.progress,
            runs_here=self.context.runner.is_running_here(job.id),
            compact=self.has_class("-narrow"),
        )
        self.query_one("#job-summary", Static).update(summary)

    def on_resize(self) -> None:
        if self.job is not None:
            self.show_job(self.job)

    def show_emails(self, query: EmailQuery, rows: list[EmailRow], total: int) -> None:
        table = self.table
        highlighted = self.highlighted_email_id()
        table.clear()
        self.emails = {}
        self.query_shown = query
        self.email_total = total
        self.add_rows(rows)
        if highlighted is not None:
            with contextlib.suppress(RowDoesNotExist):
                table.move_cursor(
                    row=table.get_row_index(str(highlighted)), animate=False
                )
        self.update_status_line()
        self.show_preview()

    def add_rows(self, rows: Iterable[EmailRow]) -> None:
        for row in rows:
            self.emails[row.id] = row
            self.table.add_row(*email_cells(row), key=str(row.id))

    def update_email(self, row: EmailRow) -> None:
        key = str(row.id)
        if row.id not in self.emails:
            return
        self.emails[row.id] = row
        for (column, _label, _width), cell in zip(
            EMAIL_COLUMNS, email_cells(row), strict=True
        ):
            if self.table.get_cell(key, column) != cell:
                self.table.update_cell(key, column, cell)

    def update_status_line(self) -> None:
        query = self.query_shown
        line = Text()
        if query is None:
            line.append("Loading emails…")
        else:
            loaded = len(self.emails)
            noun = "email" if query.name == "all" else f"{query.name} email"
            if loaded < self.email_total:
                line.append(f"Showing {loaded:,} of {plural(self.email_total, noun)}")
            else:
                line.append(plural(self.email_total, noun))
            line.append(" · f: filter by status", style="dim")
        self.query_one("#emails-status-line", Static).update(line)

    def highlighted_email_id(self) -> int | None:
        return highlighted_row_id(self.table)

    def highlighted_email(self) -> EmailRow | None:
        email_id = self.highlighted_email_id()
        return None if email_id is None else self.emails.get(email_id)

    def visible_email_ids(self) -> list[int]:
        table = self.table
        first = int(table.scroll_y)
        rows = table.ordered_rows[first : first + table.size.height + 1]
        return [int(row.key.value) for row in rows if row.key.value is not None]

    def maybe_load_more(self) -> None:
        """Load the next page when the cursor or the scroll position nears the end."""
        query = self.query_shown
        loaded = len(self.emails)
        if query is None or loaded >= self.email_total:
            return
        table = self.table
        last_visible_row = int(table.scroll_y) + table.size.height
        if max(table.cursor_row, last_visible_row) < loaded - LOAD_AHEAD_ROWS:
            return
        self.load_next_page(query, loaded)

    @on(DataTable.RowHighlighted, "#emails-table")
    def row_highlighted(self) -> None:
        self.show_preview()
        self.maybe_load_more()

    def show_preview(self) -> None:
        email = self.highlighted_email()
        self.query_one("#email-preview-text", Static).update(email_preview(email))

    # Live updates ---------------------------------------------------------------

    def apply_updates(self, updates: JobUpdates) -> None:
        if self.missing or not updates.concerns(self.job_id):
            return
        progress = updates.progress.get(self.job_id)
        if progress is not None:
            self.progress = progress
        finished = updates.finished_email_ids.get(self.job_id, frozenset())
        refresh_ids = {email_id for email_id in finished if email_id in self.emails}
        # NOTE: another process's run reports no email ids, so only the rows on
        # screen are refreshed. Rows scrolled into view later catch up at the
        # next batch, and all rows when the job's status changes.
        refresh_ids.update(self.visible_email_ids())
        self.refresh_live(tuple(sorted(refresh_ids)))

    # Actions ------------------------------------------------------------------

    def action_target(self) -> JobSummary | None:
        return self.job

    def after_job_change(self, job_ids: tuple[int, ...], *, deleted: bool) -> None:
        if deleted:
            if self.is_current:
                self.dismiss()
            return
        self.load_job()

    def action_next_email_filter(self) -> None:
        index = EMAIL_FILTERS.index(self.email_filter)
        self.email_filter = EMAIL_FILTERS[(index + 1) % len(EMAIL_FILTERS)]
        self.table.move_cursor(row=0, animate=False)
        self.load_job()

    def action_show_instructions(self) -> None:
        if self.job is None:
            self.notify("The job is not loaded.", severity="warning")
            return
        self.app.push_screen(InstructionsDialog(self.job))

    def action_retry_error_kind(self) -> None:
        job = self.job
        if job is None:
            self.notify("The job is not loaded.", severity="warning")
            return
        if not job.error_kinds:
            self.explain(
                f"{job_label(job)} has no failed emails, so there is no kind of "
                "failure to retry."
            )
            return
        reason = retry_block_reason(job)
        if reason is not None:
            self.explain(reason)
            return
        self.pick_error_kind(job)

    @work(group="job-action", exit_on_error=False, description="Retrying one kind")
    async def pick_error_kind(self, job: JobDetail) -> None:
        kind = await self.app.push_screen_wait(ErrorKindPicker(job))
        if kind is not None:
            await self.run_retry(job, full=False, error_kind=kind)

    def action_redraft_email(self) -> None:
        job = self.job
        email = self.highlighted_email()
        if job is None or email is None:
            self.notify("No email is selected.", severity="warning")
            return
        if job.status == "running":
            self.explain(
                f"{job_label(job)} is running. Redraft single emails after it "
                "finishes, or pause it (p) first."
            )
            return
        self.confirm_redraft(job, email)

    @work(group="job-action", exit_on_error=False, description="Redrafting an email")
    async def confirm_redraft(self, job: JobDetail, email: EmailRow) -> None:
        lines: list[str | Text] = [f"To: {email.donor_name}"]
        if email.status == "completed":
            lines.append(
                Text(
                    "Its current draft is replaced when the new one is written; "
                    "if drafting fails, the current text stays.",
                    style="bold",
                )
            )
        if email.sent_at is not None:
            lines.append(
                "It was marked as sent and loses that mark. The record of what was "
                "sent stays in Communications."
            )
        others = job.pending - (1 if email.status in ("pending", "generating") else 0)
        if others > 0:
            lines.append(
                f"The job also drafts its other {plural(others, 'pending email')}."
            )
        confirmed = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Redraft the email to {email.donor_name}?",
                lines,
                confirm_label="Redraft",
                danger=email.status == "completed",
            )
        )
        if not confirmed:
            return
        task = await self.context.runner.retry(job.id, full=True, email_ids=[email.id])
        self.start_tracking(task)
        self.notify(f"Drafting the email to {email.donor_name} again.")
        self.load_job()

    def action_mark_sent(self) -> None:
        if self.job is None:
            self.notify("The job is not loaded.", severity="warning")
            return
        self.confirm_mark_sent(self.job)

    @work(group="job-action", exit_on_error=False, description="Marking emails as sent")
    async def confirm_mark_sent(self, job: JobDetail) -> None:
        unsent, sent = await self.context.jobs.sent_counts(job.id)
        if unsent == 0:
            already = f" {plural(sent, 'email')} are marked already." if sent else ""
            self.explain(
                f"{job_label(job)} has no completed emails waiting to be marked as "
                f"sent.{already}"
            )
            return
        lines: list[str | Text] = [
            Text(
                f"{plural(unsent, 'completed email')} are recorded as sent by email "
                "now, one message per donor in Communications.",
                style="bold",
            ),
            "Do this after sending them from your mail program.",
        ]
        if sent:
            lines.append(f"{plural(sent, 'email')} marked earlier stay as they are.")
        not_done = job.total - job.completed
        if not_done:
            lines.append(
                f"{plural(not_done, 'email')} that are not completed are not marked."
            )
        confirmed = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Mark {plural(unsent, 'email')} of {job_label(job)} as sent?",
                lines,
                confirm_label="Mark as sent",
            )
        )
        if not confirmed:
            return
        result = await mark_job_sent(
            self.context.store, job.id, at=self.context.clock()
        )
        self.notify(
            f"Marked {plural(result.recorded, 'email')} of {job_label(job)} as sent."
        )
        self.load_job()
