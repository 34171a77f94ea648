"""Status badges, progress bars and time formats of the job screens.

Every status has its own symbol and word as well as its own colour, so that the
table reads the same without colour (a monochrome terminal, colour blindness).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from rich.text import Text

from commjobs_tui.core.jobs import JobSummary

MISSING = "—"


@dataclass(frozen=True)
class StatusLook:
    """The symbol, colour and short explanation of one status."""

    symbol: str
    style: str
    meaning: str


JOB_STATUS_LOOKS: dict[str, StatusLook] = {
    "pending": StatusLook("○", "bold #8fa3bf", "created, not started"),
    "running": StatusLook("▶", "bold #3fa9f5", "drafting emails now"),
    "paused": StatusLook("‖", "bold #e5c07b", "stopped; resume to continue"),
    "completed": StatusLook("✔", "bold #4caf50", "every email drafted"),
    "failed": StatusLook("✖", "bold #ef5350", "some emails failed"),
    "cancelled": StatusLook("⊘", "bold #c678dd", "stopped by a user"),
    "interrupted": StatusLook("↯", "bold #ff9e40", "its process stopped"),
}
EMAIL_STATUS_LOOKS: dict[str, StatusLook] = {
    "pending": StatusLook("○", "#8fa3bf", "not drafted yet"),
    "generating": StatusLook("▶", "bold #3fa9f5", "being drafted"),
    "completed": StatusLook("✔", "#4caf50", "drafted"),
    "failed": StatusLook("✖", "bold #ef5350", "drafting failed"),
}
SENT_LOOK = StatusLook("✉", "bold #56b6c2", "marked as sent")
UNKNOWN_LOOK = StatusLook("?", "bold", "unknown status")
BAR_DONE = "█"
BAR_EMPTY = "░"
BAR_EMPTY_STYLE = "#5c6370"


def status_badge(status: str, requested_action: str | None = None) -> Text:
    """Render a job status as symbol and word.

    A running job that was asked to stop shows "cancelling" or "pausing".
    """
    look = JOB_STATUS_LOOKS.get(status, UNKNOWN_LOOK)
    word = status
    if status == "running" and requested_action == "cancel":
        word = "cancelling"
    elif status == "running" and requested_action == "pause":
        word = "pausing"
    return Text(f"{look.symbol} {word}", style=look.style)


def email_status_badge(status: str, sent_at: dt.datetime | None = None) -> Text:
    """Render an email status; a completed email marked as sent shows as sent."""
    if status == "completed" and sent_at is not None:
        return Text(f"{SENT_LOOK.symbol} sent", style=SENT_LOOK.style)
    look = EMAIL_STATUS_LOOKS.get(status, UNKNOWN_LOOK)
    return Text(f"{look.symbol} {status}", style=look.style)


def progress_bar(completed: int, failed: int, total: int, width: int) -> Text:
    """Draw a bar of `width` cells: completed in green, failed in red, the rest dim.

    A part that is not empty gets at least one cell, so a single failure shows,
    and the bar is full only when no email is pending.
    """
    bar = Text()
    if width <= 0:
        return bar
    done = completed + failed
    filled = 0
    if total > 0 and done > 0:
        filled = max(1, math.floor(done * width / total))
        if done >= total:
            filled = width
        elif filled >= width:
            filled = width - 1
    completed_cells = 0
    if completed > 0 and total > 0:
        completed_cells = min(filled, max(1, math.floor(completed * width / total)))
    if failed > 0 and completed_cells == filled and completed_cells > 0:
        completed_cells -= 1
    failed_cells = filled - completed_cells
    bar.append(BAR_DONE * completed_cells, style="#4caf50")
    bar.append(BAR_DONE * failed_cells, style="#ef5350")
    bar.append(BAR_EMPTY * (width - filled), style=BAR_EMPTY_STYLE)
    return bar


def progress_cell(completed: int, failed: int, total: int, bar_width: int) -> Text:
    """Render a progress bar followed by done/total, where done counts failures."""
    cell = progress_bar(completed, failed, total, bar_width)
    cell.append(f" {completed + failed:,}/{total:,}")
    return cell


def format_duration(seconds: float | None) -> str:
    """Format a duration in at most 5 characters: 12s, 4m05s, 12m, 1h05m, 2d03h.

    None or a negative duration gives a dash.
    """
    if seconds is None or seconds < 0 or math.isnan(seconds):
        return MISSING
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 10:
        return f"{minutes}m{secs:02d}s"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_when(moment: dt.datetime | None, now: dt.datetime) -> str:
    """Format a naive UTC time relative to `now`, in at most 12 characters.

    Today: "today 09:30". This year: "Jun 15 09:30". Earlier: "2024-06-15".
    """
    if moment is None:
        return MISSING
    if moment.date() == now.date():
        return f"today {moment:%H:%M}"
    if moment.year == now.year:
        return f"{moment:%b} {moment.day:>2} {moment:%H:%M}"
    return f"{moment:%Y-%m-%d}"


def format_timestamp(moment: dt.datetime | None) -> str:
    """Format a naive UTC time in full, for the detail screen."""
    if moment is None:
        return MISSING
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def elapsed_seconds(job: JobSummary, now: dt.datetime) -> float | None:
    """Seconds a job has run: until it finished, or until now while it runs.

    A paused or resumed job counts from its first start, pauses included.
    """
    if job.started_at is None:
        return None
    end = job.finished_at or (now if job.status == "running" else None)
    if end is None:
        return None
    return max(0.0, (end - job.started_at).total_seconds())


def time_cell(job: JobSummary, now: dt.datetime, eta_seconds: float | None) -> Text:
    """Render the ETA of a running job, else how long the job ran.

    `eta_seconds` comes from the engine's progress events, so it exists only for
    jobs this process runs. Other running jobs show the time since they started.
    """
    if job.status == "running":
        if eta_seconds is not None:
            return Text(f"ETA {format_duration(eta_seconds)}", style="bold")
        return Text(f"run {format_duration(elapsed_seconds(job, now))}")
    if job.finished_at is not None:
        return Text(format_duration(elapsed_seconds(job, now)))
    return Text(MISSING, style="dim")


def model_label(provider: str, model: str) -> str:
    """Name the provider and model; the offline provider has no model of its own."""
    if provider == "offline":
        return "offline"
    return f"{provider}/{model}"


def format_cost(usd: float | None, model: str) -> str:
    """Format an estimated cost in US dollars, or name the model that has no price."""
    if usd is None:
        return f"no price known for {model}"
    if usd == 0:
        return "$0.00 (estimate)"
    if usd < 0.01:
        return "under $0.01 (estimate)"
    return f"${usd:,.2f} (estimate)"


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """Return "1 email" or "3,120 emails"."""
    word = noun if count == 1 else (plural_noun or f"{noun}s")
    return f"{count:,} {word}"
