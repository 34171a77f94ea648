"""Bulk actions on the marked jobs: delete, retry failed, full retry and cancel.

Each action sorts the marked jobs into those it applies to and those it skips,
lists both in a confirmation dialog, and acts on job ids only. A failure on one
job does not stop the others, and the closing notification names each failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text

from commjobs_tui.core.errors import UserError
from commjobs_tui.core.jobs import JobSummary
from commjobs_tui.screens.job_actions import (
    JobScreen,
    cancel_block_reason,
    full_retry_block_reason,
    job_label,
    retry_block_reason,
)
from commjobs_tui.screens.job_dialogs import ConfirmDialog, describe_jobs
from commjobs_tui.widgets.job_status import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkPlan:
    """The marked jobs split into those an action applies to and those it skips."""

    eligible: tuple[JobSummary, ...]
    skipped: tuple[JobSummary, ...]


def split_jobs(
    jobs: Sequence[JobSummary], block_reason: Callable[[JobSummary], str | None]
) -> BulkPlan:
    eligible = tuple(job for job in jobs if block_reason(job) is None)
    skipped = tuple(job for job in jobs if block_reason(job) is not None)
    return BulkPlan(eligible, skipped)


def skipped_line(plan: BulkPlan, skip_reason: str) -> str | None:
    if not plan.skipped:
        return None
    return f"Skipped, because they are {skip_reason}: {describe_jobs(plan.skipped)}."


async def run_bulk_action(
    screen: JobScreen, action: str, jobs: Sequence[JobSummary]
) -> None:
    """Confirm and run one of the bulk menu's actions on `jobs`."""
    if action == "delete":
        await bulk_delete(screen, jobs)
    elif action == "retry":
        await bulk_retry(screen, jobs, full=False)
    elif action == "full_retry":
        await bulk_retry(screen, jobs, full=True)
    elif action == "cancel":
        await bulk_cancel(screen, jobs)
    else:
        raise ValueError(f"unknown bulk action {action!r}")


async def bulk_delete(screen: JobScreen, jobs: Sequence[JobSummary]) -> None:
    job_ids = [job.id for job in jobs]
    found, running, drafted = await screen.context.jobs.deletion_impact(job_ids)
    lines: list[str | Text] = [f"Jobs: {describe_jobs(jobs)}."]
    if running:
        lines.append(
            Text(
                f"{running:,} of these {'is' if running == 1 else 'are'} running "
                "and will be cancelled first.",
                style="bold red",
            )
        )
    lines.append(
        Text(
            f"{plural(drafted, 'generated email')} will be permanently deleted.",
            style="bold",
        )
    )
    confirmed = await screen.app.push_screen_wait(
        ConfirmDialog(
            f"Delete {plural(found, 'job')}?",
            lines,
            confirm_label=f"Delete {plural(found, 'job')}",
            danger=True,
        )
    )
    if not confirmed:
        return
    try:
        deleted = await screen.context.runner.delete(job_ids)
    finally:
        screen.after_job_change(tuple(job_ids), deleted=True)
    screen.notify(f"Deleted {plural(found, 'job')} and {plural(deleted, 'email')}.")


async def bulk_retry(
    screen: JobScreen, jobs: Sequence[JobSummary], *, full: bool
) -> None:
    plan = split_jobs(jobs, full_retry_block_reason if full else retry_block_reason)
    skip_reason = "running" if full else "running or have nothing to retry"
    if not plan.eligible:
        screen.explain(
            f"None of the marked jobs can be retried: they are {skip_reason}."
        )
        return

    lines: list[str | Text] = [f"Jobs: {describe_jobs(plan.eligible)}."]
    if full:
        discarded = sum(job.completed for job in plan.eligible)
        drafts = sum(job.total for job in plan.eligible)
        lines.append(
            f"Every email of these jobs is drafted again: {plural(drafts, 'email')}, "
            "which means new model calls."
        )
        lines.append(
            Text(
                f"{plural(discarded, 'completed email')} will be discarded.",
                style="bold",
            )
        )
    else:
        again = sum(job.failed + job.pending for job in plan.eligible)
        lines.append(
            f"{plural(again, 'failed or unfinished email')} are drafted again. "
            "Completed emails stay as they are."
        )
    skipped = skipped_line(plan, skip_reason)
    if skipped:
        lines.append(skipped)

    title = "Full retry" if full else "Retry failed emails"
    confirmed = await screen.app.push_screen_wait(
        ConfirmDialog(
            f"{title} of {plural(len(plan.eligible), 'job')}?",
            lines,
            confirm_label="Discard and redraft" if full else "Retry",
            danger=full,
        )
    )
    if not confirmed:
        return

    failures: list[str] = []
    for job in plan.eligible:
        try:
            task = await screen.context.runner.retry(job.id, full=full)
        except UserError as error:
            log.warning("bulk retry of job %s failed: %s", job.id, error)
            failures.append(f"{job_label(job)}: {error}")
            continue
        screen.start_tracking(task)
    screen.after_job_change(tuple(job.id for job in plan.eligible), deleted=False)
    started = len(plan.eligible) - len(failures)
    notify_outcome(screen, f"Retrying {plural(started, 'job')}.", failures)


async def bulk_cancel(screen: JobScreen, jobs: Sequence[JobSummary]) -> None:
    plan = split_jobs(jobs, cancel_block_reason)
    if not plan.eligible:
        screen.explain("None of the marked jobs can be cancelled: they are finished.")
        return

    lines: list[str | Text] = [f"Jobs: {describe_jobs(plan.eligible)}."]
    running = [job for job in plan.eligible if job.status == "running"]
    elsewhere = [job for job in running if screen.runs_elsewhere(job)]
    running_here = len(running) - len(elsewhere)
    if running_here:
        lines.append(
            Text(
                f"{running_here:,} of these {'is' if running_here == 1 else 'are'} "
                "running in this "
                "window and stop at once.",
                style="bold",
            )
        )
    if elsewhere:
        count = len(elsewhere)
        lines.append(
            f"{count:,} of these {'is' if count == 1 else 'are'} running in another "
            "commjobs process, which stops "
            f"{'it' if count == 1 else 'them'} within a few seconds."
        )
    lines.append("Pending emails stay pending, and a retry (r) drafts them later.")
    skipped = skipped_line(plan, "finished")
    if skipped:
        lines.append(skipped)

    confirmed = await screen.app.push_screen_wait(
        ConfirmDialog(
            f"Cancel {plural(len(plan.eligible), 'job')}?",
            lines,
            confirm_label="Cancel jobs",
            danger=bool(running),
        )
    )
    if not confirmed:
        return

    failures: list[str] = []
    cancelled = 0
    requested = 0
    for job in plan.eligible:
        try:
            await screen.context.runner.cancel(job.id)
        except UserError as error:
            log.warning("bulk cancel of job %s failed: %s", job.id, error)
            failures.append(f"{job_label(job)}: {error}")
            continue
        if job in elsewhere:
            requested += 1
        else:
            cancelled += 1
    screen.after_job_change(tuple(job.id for job in plan.eligible), deleted=False)
    summary = f"Cancelled {plural(cancelled, 'job')}."
    if requested:
        summary += (
            f" Asked another process to cancel {plural(requested, 'job')}, which "
            "stops within a few seconds."
        )
    notify_outcome(screen, summary, failures)


def notify_outcome(screen: JobScreen, summary: str, failures: Sequence[str]) -> None:
    if not failures:
        screen.notify(summary)
        return
    details = "\n".join(failures)
    screen.notify(
        f"{summary} {plural(len(failures), 'job')} failed:\n{details}",
        severity="warning",
        timeout=10,
    )
