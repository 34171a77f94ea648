"""Renderables of the job detail screen: the job summary, email rows and a draft."""

from __future__ import annotations

import datetime as dt

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from commjobs_tui.core.events import JobProgress
from commjobs_tui.core.jobs import EmailRow, JobDetail
from commjobs_tui.widgets.job_status import (
    elapsed_seconds,
    email_status_badge,
    format_cost,
    format_duration,
    format_timestamp,
    model_label,
    plural,
    progress_bar,
    status_badge,
)

SUMMARY_BAR_WIDTH = 20
COMPACT_BAR_WIDTH = 10


def summary_table(
    job: JobDetail,
    *,
    now: dt.datetime,
    progress: JobProgress | None,
    runs_here: bool,
    compact: bool = False,
) -> Table:
    """Lay out a job's state as label and value rows.

    `progress` is the newest progress event of a job this process runs, which
    gives the rate and ETA. `runs_here` is True when this process runs the job.
    `compact` leaves out the instructions and shortens other rows, for small
    terminals.
    """
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    title = Text(job.name, style="bold")
    title.append("  ")
    title.append_text(status_badge(job.status, job.requested_action))
    if job.status == "running" and not runs_here and job.lease_pid is not None:
        title.append(f"  in process {job.lease_pid} on {job.lease_host}", style="dim")
    table.add_row("Job", title)
    table.add_row("Progress", progress_line(job, compact=compact))
    if job.skipped and not compact:
        table.add_row(
            "Donors",
            f"{plural(job.total, 'email')} · {plural(job.skipped, 'donor')} left "
            "out (no usable email address, or do not contact)",
        )
    table.add_row("Time", timing_line(job, now, progress, compact=compact))
    table.add_row("Model", model_line(job, compact=compact))
    if not compact:
        table.add_row("Usage", usage_line(job))
        table.add_row("Instructions", instruction_line(job))
    table.add_row("Failures", failures_line(job))
    if job.error:
        table.add_row("Error", Text(job.error, style="bold #ef5350"))
    return table


def progress_line(job: JobDetail, *, compact: bool) -> Text:
    width = COMPACT_BAR_WIDTH if compact else SUMMARY_BAR_WIDTH
    line = progress_bar(job.completed, job.failed, job.total, width)
    percent = f" ({job.done * 100 // job.total}%)" if job.total else ""
    line.append(f" {job.done:,}/{job.total:,} done{percent}: ")
    line.append(f"{job.completed:,} completed, ")
    line.append(f"{job.failed:,} failed", style="bold #ef5350" if job.failed else "")
    line.append(f", {job.pending:,} pending")
    return line


def timing_line(
    job: JobDetail, now: dt.datetime, progress: JobProgress | None, *, compact: bool
) -> Text:
    parts = [f"created {format_moment(job.created_at)}"]
    if job.started_at is not None and not compact:
        parts.append(f"started {format_moment(job.started_at, job.created_at)}")
    if job.finished_at is not None and not compact:
        parts.append(f"finished {format_moment(job.finished_at, job.created_at)}")
    elapsed = elapsed_seconds(job, now)
    if job.status == "running":
        parts.append(f"running for {format_duration(elapsed)}")
        rate = progress.rate_per_minute if progress else None
        eta = progress.eta_seconds if progress else None
        if rate is None and elapsed and job.done:
            # Another process runs the job, so only the average since start is known.
            rate = job.done * 60.0 / elapsed
            eta = job.pending * elapsed / job.done
        if rate is not None:
            parts.append(f"{rate:,.1f} emails/min")
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
    elif elapsed is not None:
        parts.append(f"took {format_duration(elapsed)}")
    return Text(" · ".join(parts))


def format_moment(moment: dt.datetime, same_day_as: dt.datetime | None = None) -> str:
    """Format a naive UTC time; the date is left out if it is `same_day_as`'s."""
    if same_day_as is not None and moment.date() == same_day_as.date():
        return f"{moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def model_line(job: JobDetail, *, compact: bool) -> Text:
    """Name the model; the compact form adds the token total and the cost."""
    parts = [model_label(job.provider, job.model)]
    if compact:
        parts.append(f"{job.prompt_tokens + job.completion_tokens:,} tokens")
        parts.append(format_cost(job.estimated_cost_usd, job.model))
    elif job.concurrency:
        parts.append(f"{job.concurrency} requests at a time")
    return Text(" · ".join(parts))


def usage_line(job: JobDetail) -> Text:
    return Text(
        f"{job.prompt_tokens:,} prompt + {job.completion_tokens:,} completion tokens"
        f" · {format_cost(job.estimated_cost_usd, job.model)}"
    )


def instruction_line(job: JobDetail) -> Text:
    first = job.instruction.strip().splitlines()[0] if job.instruction.strip() else ""
    line = Text(first)
    refinements = len(job.refinement_history)
    hint = f" (i: full text, {plural(refinements, 'refinement')})"
    line.append(hint, style="dim")
    return line


def failures_line(job: JobDetail) -> Text:
    if not job.error_kinds:
        return Text("none", style="dim")
    kinds = sorted(job.error_kinds.items(), key=lambda item: (-item[1], item[0]))
    line = Text(" · ".join(f"{kind} {count:,}" for kind, count in kinds))
    line.append(" (k retries one kind)", style="dim")
    return line


def email_cells(email: EmailRow) -> list[Text]:
    """Render one email as cells: donor, status, attempts and last error."""
    error = email.last_error or ""
    if email.error_kind:
        error = f"{email.error_kind}: {error}" if error else email.error_kind
    return [
        Text(email.donor_name),
        email_status_badge(email.status, email.sent_at),
        Text(str(email.attempts), justify="right"),
        Text(error, style="#ef5350" if error else ""),
    ]


def email_preview(email: EmailRow | None) -> RenderableType:
    """Render the selected email's draft, or what is known while there is none."""
    if email is None:
        return Text("No email selected.", style="dim")
    address = email.donor_email or "no email address"
    header = Text()
    header.append("To: ", style="bold")
    header.append(f"{email.donor_name} <{address}>\n")
    header.append("Status: ", style="bold")
    header.append_text(email_status_badge(email.status, email.sent_at))
    header.append(f" · {plural(email.attempts, 'attempt')}")
    if email.generated_at is not None:
        header.append(f" · drafted {format_timestamp(email.generated_at)}")
    if email.sent_at is not None:
        header.append(f" · sent {format_timestamp(email.sent_at)}")
    if email.status == "failed":
        reason = Text(
            f"\nDrafting failed ({email.error_kind or 'unknown error'}): "
            f"{email.last_error or 'no message'}",
            style="#ef5350",
        )
        return Group(header, reason)
    if email.status != "completed":
        return Group(header, Text("\nNot drafted yet.", style="dim"))
    subject = Text()
    subject.append("\nSubject: ", style="bold")
    subject.append(email.subject or "")
    body = Text(f"\n{email.body or ''}")
    return Group(header, subject, body)
