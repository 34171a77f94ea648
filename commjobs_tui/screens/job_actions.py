"""Job actions shared by the job list and the job detail screen.

Each action first checks whether it applies to the job as last shown and, if it
does not, explains why in a notification. Actions that lose work or stop a job ask
in a dialog first. The engine checks the job's state again, so a job that
changed in the meantime gets a clear error (a notification) instead of a wrong
action.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Literal

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from commjobs_tui.core.export import ExportResult
from commjobs_tui.core.jobs import JobSummary
from commjobs_tui.core.watch import JobUpdates
from commjobs_tui.screens import SectionScreen
from commjobs_tui.screens.job_dialogs import (
    ConfirmDialog,
    ExportDialog,
    export_message,
)
from commjobs_tui.widgets.job_status import plural

log = logging.getLogger(__name__)

# Statuses a job can be cancelled from.
CANCELLABLE = ("running", "pending", "paused", "interrupted")
NOTIFY_SECONDS = 6


def highlighted_row_id(table: DataTable[Any]) -> int | None:
    """Return the integer key of the row under the table's cursor, or None."""
    if table.row_count == 0:
        return None
    try:
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    except RowDoesNotExist:
        return None
    return int(row_key.value) if row_key.value is not None else None


def job_label(job: JobSummary) -> str:
    return f"“{job.name}” ({job.id})"


def retry_block_reason(job: JobSummary) -> str | None:
    """Say why the failed emails of a job cannot be retried, or None if they can."""
    if job.status == "running":
        return (
            f"{job_label(job)} is running. Wait until it finishes, or cancel it "
            "(c), before retrying."
        )
    if job.failed == 0 and job.pending == 0:
        return (
            f"{job_label(job)} has no failed or unfinished emails to retry. "
            "Press R for a full retry, which drafts every email again."
        )
    return None


def full_retry_block_reason(job: JobSummary) -> str | None:
    """Say why a job cannot be drafted again from scratch, or None if it can."""
    if job.status == "running":
        return (
            f"{job_label(job)} is running. Wait until it finishes, or cancel it "
            "(c), before a full retry."
        )
    if job.total == 0:
        return f"{job_label(job)} has no emails to draft."
    return None


def cancel_block_reason(job: JobSummary) -> str | None:
    """Say why a job cannot be cancelled, or None if it can."""
    if job.status in CANCELLABLE:
        return None
    return (
        f"{job_label(job)} is {job.status}, so there is nothing to cancel. "
        "Only running, pending, paused and interrupted jobs can be cancelled."
    )


PauseStep = Literal["pause", "resume", "start"]


def pause_or_resume_step(job: JobSummary) -> PauseStep | str:
    """Return what p does to the job, or a sentence saying why it does nothing."""
    if job.status == "running":
        return "pause"
    if job.status == "paused":
        return "resume"
    if job.status in ("pending", "interrupted"):
        return "start"
    hint = {
        "completed": "Press R for a full retry to draft its emails again.",
        "failed": "Press r to retry its failed emails.",
        "cancelled": "Press r to run its pending and failed emails again.",
    }.get(job.status, "")
    return (
        f"{job_label(job)} is {job.status}, so it cannot be paused or resumed. {hint}"
    )


def watch_job_task(app: App[object], task: asyncio.Task[JobSummary]) -> None:
    """Notify the user if a job's background task ends with an unexpected error.

    The engine turns expected failures into a failed job status, so an error here
    means a bug or a database failure. Its traceback goes to the log.
    """

    def done(finished: asyncio.Task[JobSummary]) -> None:
        if finished.cancelled():
            return
        error = finished.exception()
        if error is None:
            return
        log.error("job task %s failed", finished.get_name(), exc_info=error)
        app.notify(
            f"A job stopped because of an unexpected error: {error}",
            title="Job error",
            severity="error",
            timeout=10,
        )

    task.add_done_callback(done)


JOB_ACTION_BINDINGS: list[BindingType] = [
    Binding(
        "r",
        "retry_failed",
        "Retry",
        tooltip="Retry the failed and unfinished emails of the job",
        id="jobs.retry",
    ),
    Binding(
        "R",
        "full_retry",
        "Full retry",
        tooltip="Discard every email of the job and draft them all again",
        id="jobs.full_retry",
    ),
    Binding("c", "cancel_job", "Cancel", tooltip="Cancel the job", id="jobs.cancel"),
    Binding(
        "p",
        "pause_or_resume",
        "Pause/resume",
        tooltip="Pause a running job, or resume a paused or interrupted one",
        id="jobs.pause",
    ),
    Binding(
        "d",
        "delete_job",
        "Delete",
        tooltip="Delete the job and all its emails",
        id="jobs.delete",
    ),
    Binding(
        "e",
        "export_job",
        "Export",
        tooltip="Export the job's completed emails to a file",
        id="jobs.export",
    ),
]


class JobScreen(SectionScreen):
    """A screen in the jobs section whose keys act on one job at a time.

    Subclasses list JOB_ACTION_BINDINGS among their bindings, return the job the
    keys act on from `action_target`, and refresh themselves in
    `after_job_change` and `apply_updates`.
    """

    SECTION = "jobs"
    CSS_PATH = "../styles/jobs.tcss"

    def on_screen_resume(self) -> None:
        # The app's signal drops screens that are not attached when it publishes,
        # so each return to the screen subscribes again and catches up.
        signal = getattr(self.app, "job_updates_signal", None)
        if isinstance(signal, Signal):
            signal.unsubscribe(self)
            signal.subscribe(self, self.apply_updates)
        self.catch_up()

    def catch_up(self) -> None:
        """Reload what may have changed while another screen was shown."""

    def apply_updates(self, updates: JobUpdates) -> None:
        """Apply a batch of engine events and database changes."""
        raise NotImplementedError

    def action_target(self) -> JobSummary | None:
        """Return the job that the action keys act on, or None."""
        raise NotImplementedError

    def after_job_change(self, job_ids: tuple[int, ...], *, deleted: bool) -> None:
        """Refresh what the screen shows after an action changed these jobs."""
        raise NotImplementedError

    def target_or_explain(self) -> JobSummary | None:
        job = self.action_target()
        if job is None:
            self.notify("No job is selected.", severity="warning")
        return job

    def explain(self, reason: str) -> None:
        self.notify(reason, severity="warning", timeout=NOTIFY_SECONDS)

    def runs_elsewhere(self, job: JobSummary) -> bool:
        return job.status == "running" and not self.context.runner.is_running_here(
            job.id
        )

    def start_tracking(self, task: asyncio.Task[JobSummary]) -> None:
        watch_job_task(self.app, task)

    # Retry -----------------------------------------------------------------

    def action_retry_failed(self) -> None:
        job = self.target_or_explain()
        if job is None:
            return
        reason = retry_block_reason(job)
        if reason is not None:
            self.explain(reason)
            return
        self.retry_job(job, full=False)

    def action_full_retry(self) -> None:
        job = self.target_or_explain()
        if job is None:
            return
        reason = full_retry_block_reason(job)
        if reason is not None:
            self.explain(reason)
            return
        self.confirm_full_retry(job)

    @work(group="job-action", exit_on_error=False, description="Full retry")
    async def confirm_full_retry(self, job: JobSummary) -> None:
        _unsent, sent = await self.context.jobs.sent_counts(job.id)
        lines: list[str | Text] = [
            f"Every email of {job_label(job)} is drafted again: "
            f"{plural(job.total, 'email')}, which means new model calls.",
            Text(
                f"Its {plural(job.completed, 'completed email')} will be discarded.",
                style="bold",
            ),
        ]
        if sent:
            lines.append(
                f"{plural(sent, 'email')} marked as sent lose that mark. The record "
                "of what was sent stays in Communications."
            )
        confirmed = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Full retry of {job_label(job)}?",
                lines,
                confirm_label="Discard and redraft",
                danger=job.completed > 0,
            )
        )
        if confirmed:
            await self.run_retry(job, full=True)

    @work(group="job-action", exit_on_error=False, description="Retrying the job")
    async def retry_job(self, job: JobSummary, *, full: bool) -> None:
        await self.run_retry(job, full=full)

    async def run_retry(
        self, job: JobSummary, *, full: bool, error_kind: str | None = None
    ) -> None:
        task = await self.context.runner.retry(job.id, full=full, error_kind=error_kind)
        self.start_tracking(task)
        detail = await self.context.jobs.get_job(job.id)
        redrafted = "every email" if full else plural(detail.pending, "email")
        self.notify(f"Drafting {redrafted} of {job_label(job)} again.")
        self.after_job_change((job.id,), deleted=False)

    # Cancel, pause, resume -------------------------------------------------

    def action_cancel_job(self) -> None:
        job = self.target_or_explain()
        if job is None:
            return
        reason = cancel_block_reason(job)
        if reason is not None:
            self.explain(reason)
            return
        self.confirm_cancel(job)

    @work(group="job-action", exit_on_error=False, description="Cancelling the job")
    async def confirm_cancel(self, job: JobSummary) -> None:
        lines: list[str | Text] = [
            f"{plural(job.done, 'email')} of {job.total:,} are done. The "
            f"{plural(job.pending, 'pending email')} stay pending, and a retry "
            "(r) drafts them later.",
        ]
        if self.runs_elsewhere(job):
            lines.append(
                f"The job runs in process {job.lease_pid} on {job.lease_host}. "
                "That process stops it within a few seconds."
            )
        confirmed = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Cancel {job_label(job)}?",
                lines,
                confirm_label="Cancel job",
                danger=job.status == "running",
            )
        )
        if not confirmed:
            return
        remote = self.runs_elsewhere(job)
        await self.context.runner.cancel(job.id)
        if remote:
            self.notify(
                f"Asked process {job.lease_pid} to cancel {job_label(job)}. "
                "It stops within a few seconds."
            )
        else:
            self.notify(f"Cancelled {job_label(job)}.")
        self.after_job_change((job.id,), deleted=False)

    def action_pause_or_resume(self) -> None:
        job = self.target_or_explain()
        if job is None:
            return
        step = pause_or_resume_step(job)
        if step not in ("pause", "resume", "start"):
            self.explain(step)
            return
        self.pause_or_resume(job, step)

    @work(group="job-action", exit_on_error=False, description="Pausing or resuming")
    async def pause_or_resume(self, job: JobSummary, step: PauseStep) -> None:
        runner = self.context.runner
        if step == "pause":
            remote = self.runs_elsewhere(job)
            await runner.pause(job.id)
            if remote:
                self.notify(
                    f"Asked process {job.lease_pid} to pause {job_label(job)}. "
                    "It pauses within a few seconds."
                )
            else:
                self.notify(f"Paused {job_label(job)}. Press p to resume it.")
        else:
            task = await (
                runner.resume(job.id) if step == "resume" else runner.start(job.id)
            )
            self.start_tracking(task)
            self.notify(f"Running {job_label(job)}.")
        self.after_job_change((job.id,), deleted=False)

    # Delete ------------------------------------------------------------------

    def action_delete_job(self) -> None:
        job = self.target_or_explain()
        if job is None:
            return
        self.confirm_delete(job)

    @work(group="job-action", exit_on_error=False, description="Deleting the job")
    async def confirm_delete(self, job: JobSummary) -> None:
        service = self.context.jobs
        found, running, drafted = await service.deletion_impact([job.id])
        if not found:
            self.explain(f"{job_label(job)} no longer exists.")
            self.after_job_change((job.id,), deleted=True)
            return
        _unsent, sent = await service.sent_counts(job.id)

        lines: list[str | Text] = [
            f"Job {job.id} and all {plural(job.total, 'email')} are deleted.",
            Text(
                f"{plural(drafted, 'drafted email')} will be permanently deleted.",
                style="bold",
            ),
        ]
        if running:
            lines.insert(
                0,
                Text(
                    "This job is running now. It is cancelled first, and the "
                    "emails it drafted are deleted with it.",
                    style="bold red",
                ),
            )
        if sent:
            lines.append(
                f"{plural(sent, 'email')} were marked as sent. Their record stays "
                "in Communications."
            )

        confirmed = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Delete {job_label(job)}?",
                lines,
                confirm_label="Delete job",
                danger=True,
            )
        )
        if not confirmed:
            return

        deleted = await self.context.runner.delete([job.id])
        self.notify(f"Deleted {job_label(job)} and {plural(deleted, 'email')}.")
        self.after_job_change((job.id,), deleted=True)

    # Export --------------------------------------------------------------------

    def action_export_job(self) -> None:
        job = self.target_or_explain()
        if job is None:
            return
        if job.completed == 0:
            self.explain(f"{job_label(job)} has no completed emails to export yet.")
            return

        def exported(result: ExportResult | None) -> None:
            if result is not None:
                self.notify(export_message(result))

        self.app.push_screen(ExportDialog(self.context, job, cwd=Path.cwd()), exported)
