"""Synthetic communication jobs in every status, and Pilot helpers for job screens.

    from tests.jobs_fixtures import jobs_db, seed_jobs, open_jobs, wait_until

`seed_jobs` adds the sample donors of tui_helpers and one job per status, each
with emails, and returns the job ids by status. Times are fixed relative to the
frozen clock, so snapshots come out the same every run. The running job holds a
live lease of another (made-up) host, as if another commjobs process ran it.
`wait_until` waits for the app's job update batches, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from sqlalchemy.orm import Session
from textual.app import App
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerError, WorkerState

from commjobs_tui.app import CommjobsApp
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.events import JobEvent, JobFinished
from commjobs_tui.core.settings import Settings
from commjobs_tui.core.uistate import UiState
from commjobs_tui.db.models import EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import Store, sync_engine
from commjobs_tui.screens.job_detail import JobDetailScreen
from commjobs_tui.screens.job_dialogs import ConfirmDialog
from commjobs_tui.screens.jobs import JobsScreen
from tests import fakeapi
from tests.tui_helpers import FROZEN_NOW, frozen_clock, seed_donors

SIZE = (120, 40)
WAIT_SECONDS = 15.0
# Workers in these groups may wait for a dialog to close, so settling must not
# wait for them to finish while a dialog is open.
DIALOG_GROUPS = ("job-action", "quit")

# Donors of tui_helpers.sample_donors that have an email address, in id order.
EMAILABLE = ("C-1001", "C-1002", "A-2001", "C-1005", "C-1006", "C-1007")
OTHER_HOST = "other-host.example.org"
OTHER_PID = 4242


@dataclass(frozen=True)
class JobSpec:
    """One seeded job: its name, status, email outcomes and times."""

    name: str
    status: str
    completed: int
    failed: int
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    provider: str = "openai"
    model: str = "gpt-4.1-mini"
    error: str | None = None
    sent: int = 0


def _at(days: float = 0, minutes: float = 0) -> dt.datetime:
    return FROZEN_NOW - dt.timedelta(days=days, minutes=minutes)


JOB_SPECS = (
    JobSpec(
        "Spring thank-you 2025",
        "completed",
        completed=6,
        failed=0,
        created_at=_at(days=60),
        started_at=_at(days=60),
        finished_at=_at(days=60) + dt.timedelta(minutes=4, seconds=5),
        sent=2,
    ),
    JobSpec(
        "Year-end appeal",
        "failed",
        completed=4,
        failed=2,
        created_at=_at(days=400),
        started_at=_at(days=400),
        finished_at=_at(days=400) + dt.timedelta(minutes=12),
        error="2 of 6 emails failed; retry them to draft them again",
    ),
    JobSpec(
        "Gala invitations",
        "running",
        completed=3,
        failed=0,
        created_at=_at(minutes=10),
        started_at=_at(minutes=2, days=0) - dt.timedelta(seconds=10),
    ),
    JobSpec(
        "Monthly donor update",
        "paused",
        completed=2,
        failed=0,
        created_at=_at(days=3),
        started_at=_at(days=3),
    ),
    JobSpec(
        "Lapsed donor outreach",
        "pending",
        completed=0,
        failed=0,
        created_at=_at(minutes=30),
        provider="offline",
        model="offline",
    ),
    JobSpec(
        "Board thank-you [draft]",
        "cancelled",
        completed=1,
        failed=0,
        created_at=_at(days=20),
        started_at=_at(days=20),
        finished_at=_at(days=20) + dt.timedelta(seconds=40),
    ),
    JobSpec(
        "Capital campaign",
        "interrupted",
        completed=3,
        failed=1,
        created_at=_at(days=9),
        started_at=_at(days=9),
        error=(
            "process 999 on old-host stopped while running this job; resume it "
            "with `commjobs jobs run 7` or a retry"
        ),
    ),
)
ERROR_KINDS = (("timeout", "no reply within 65 s"), ("refusal", "the model refused"))


def seed_jobs(db_path: Path) -> dict[str, int]:
    """Add the sample donors and one job per status; return job ids by status."""
    donor_ids = seed_donors(db_path)
    emailable = [donor_ids[key] for key in EMAILABLE]
    engine = sync_engine(db_path)
    ids: dict[str, int] = {}
    try:
        with Session(engine) as session:
            for spec in JOB_SPECS:
                job = _job(spec, len(emailable))
                session.add(job)
                session.flush()
                session.add_all(_emails(spec, job.id, emailable))
                ids[spec.status] = job.id
            session.commit()
    finally:
        engine.dispose()
    return ids


def _job(spec: JobSpec, total: int) -> EmailGenerationSession:
    running = spec.status == "running"
    return EmailGenerationSession(
        job_name=spec.name,
        instruction=(
            "Thank each donor for their most recent gift.\n"
            "Mention the campaign it went to and keep it under 150 words."
        ),
        refinement_history=[
            {
                "instruction": "Thank each donor for their gift.",
                "at": "2025-06-01T10:00:00",
                "preview_email_ids": [],
            }
        ],
        preview_donor_ids=[],
        selection={"kind": "all"},
        status=spec.status,
        total_count=total,
        completed_count=spec.completed,
        failed_count=spec.failed,
        skipped_count=2,
        provider=spec.provider,
        model=spec.model,
        concurrency=4,
        error_message=spec.error,
        prompt_tokens=spec.completed * 900,
        completion_tokens=spec.completed * 250,
        started_at=spec.started_at,
        finished_at=spec.finished_at,
        created_at=spec.created_at,
        updated_at=spec.finished_at or spec.created_at,
        lease_owner=f"{OTHER_HOST}:{OTHER_PID}:feedc0ffee12" if running else None,
        lease_pid=OTHER_PID if running else None,
        lease_host=OTHER_HOST if running else None,
        lease_heartbeat_at=FROZEN_NOW if running else None,
    )


def _emails(spec: JobSpec, job_id: int, donors: list[int]) -> list[GeneratedEmail]:
    emails: list[GeneratedEmail] = []
    for index, donor_id in enumerate(donors):
        email = GeneratedEmail(
            session_id=job_id,
            donor_id=donor_id,
            status="pending",
            attempts=0,
            is_preview=False,
            created_at=spec.created_at,
            updated_at=spec.created_at,
        )
        if index < spec.completed:
            email.status = "completed"
            email.attempts = 1
            email.subject = f"Thank you for your support, donor {index + 1}"
            email.body = (
                f"Dear friend,\n\nThank you for your gift to {spec.name}.\n\n"
                "With gratitude,\nThe development team"
            )
            email.prompt_tokens = 900
            email.completion_tokens = 250
            email.generated_at = spec.started_at
            if index < spec.sent:
                email.sent_at = FROZEN_NOW - dt.timedelta(days=1)
        elif index < spec.completed + spec.failed:
            kind, message = ERROR_KINDS[(index - spec.completed) % len(ERROR_KINDS)]
            email.status = "failed"
            email.attempts = 4 if kind == "timeout" else 1
            email.error_kind = kind
            email.last_error = message
        emails.append(email)
    return emails


@pytest.fixture
def jobs_db(db_path: Path) -> Path:
    """A migrated database with the sample donors and one job per status."""
    seed_jobs(db_path)
    return db_path


@pytest.fixture
def server() -> Iterator[fakeapi.FakeChatServer]:
    """The local fake chat-completions server. It replies at once by default."""
    with fakeapi.FakeChatServer() as running:
        yield running


def run_sql(db_path: Path, statement: str, *params: object) -> None:
    """Change the database through a connection of its own, as another process."""
    connection = sqlite3.connect(db_path)
    try:
        connection.execute(statement, params)
        connection.commit()
    finally:
        connection.close()


def dialog_text(app: App[Any]) -> str:
    """Return the open confirmation dialog's title and lines, one per line."""
    dialog = app.screen
    assert isinstance(dialog, ConfirmDialog), f"expected a dialog, got {dialog!r}"
    parts = [dialog.heading]
    parts.extend(str(line.render()) for line in dialog.query(".dialog-line"))
    return "\n".join(parts)


def make_jobs_app(
    db_path: Path,
    settings: Settings | None = None,
    *,
    ui_state_path: Path | None = None,
    first_section: str = "jobs",
) -> CommjobsApp:
    """Build the app on `db_path` with a frozen clock and the given settings.

    It starts in the Communication Jobs section unless `first_section` names
    another, which saves loading the Donors section in every test.
    """
    context = AppContext(
        settings=settings or Settings(),
        store=Store(db_path),
        ui_state=UiState(ui_state_path),
        clock=frozen_clock,
    )
    return CommjobsApp(context, first_section=first_section)


async def open_jobs(pilot: Pilot[Any]) -> JobsScreen:
    """Show the Communication Jobs section and wait until its table has loaded."""
    await settle_jobs(pilot)
    if pilot.app.current_mode != "jobs":
        await pilot.press("3")
        await settle_jobs(pilot)
    return jobs_screen(pilot.app)


async def settle_jobs(pilot: Pilot[Any]) -> None:
    """Wait like tui_helpers.settle, but stop while an action waits for a dialog.

    Actions of the job screens run as workers that push a dialog and wait for
    its result, so waiting for every worker to finish would wait forever.
    """
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        await pilot.pause()
        others = [w for w in app.workers if w.group not in DIALOG_GROUPS]
        # A reload cancels the one before it, which is no failure here.
        await asyncio.gather(*(_finished(worker) for worker in others))
        actions = [
            w
            for w in app.workers
            if w.group in DIALOG_GROUPS
            and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        if not actions or isinstance(app.screen, ModalScreen):
            break
        await _wait_for_screen_or_workers(app, actions, deadline - loop.time())
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def _wait_for_screen_or_workers(
    app: App[Any], workers: list[Worker[Any]], seconds: float
) -> None:
    screen_changed = asyncio.Event()
    app.screen_change_signal.subscribe(
        app, lambda _screen: screen_changed.set(), immediate=True
    )
    waiters = [asyncio.ensure_future(screen_changed.wait())]
    waiters += [asyncio.ensure_future(_finished(worker)) for worker in workers]
    try:
        done, _pending = await asyncio.wait(
            waiters, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        app.screen_change_signal.unsubscribe(app)
        for waiter in waiters:
            waiter.cancel()
    if not done:
        raise AssertionError("timed out waiting for an action or its dialog")


async def _finished(worker: Worker[Any]) -> None:
    # A worker that has not started yet raises WorkerError at once, and the
    # caller then checks again after the app has processed its messages.
    with contextlib.suppress(WorkerError):
        await worker.wait()


def jobs_screen(app: App[Any]) -> JobsScreen:
    screen = app.screen
    assert isinstance(screen, JobsScreen), f"expected the job list, got {screen!r}"
    return screen


def detail_screen(app: App[Any]) -> JobDetailScreen:
    screen = app.screen
    assert isinstance(screen, JobDetailScreen), f"expected job details, got {screen!r}"
    return screen


def plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def static_text(widget: Static, width: int = 200) -> str:
    """Render a Static's content as plain text, wide enough to avoid wrapping."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(widget.content)
    return capture.get()


def rows_by_id(screen: JobsScreen) -> dict[int, list[str]]:
    """Map each job id shown to its cells as plain text, in table order."""
    table = screen.table
    rows: dict[int, list[str]] = {}
    for row in table.ordered_rows:
        assert row.key.value is not None
        rows[int(row.key.value)] = [plain(cell) for cell in table.get_row(row.key)]
    return rows


def shown_ids(screen: JobsScreen) -> list[int]:
    return list(rows_by_id(screen))


def status_of(screen: JobsScreen, job_id: int) -> str:
    return rows_by_id(screen)[job_id][2]


def move_to_job(screen: JobsScreen, job_id: int) -> None:
    screen.table.move_cursor(row=screen.table.get_row_index(str(job_id)))


def messages(app: App[Any]) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def wait_until(
    pilot: Pilot[Any], predicate: Callable[[], bool], *, what: str
) -> None:
    """Wait until `predicate` holds, checking after each batch of job updates.

    The app publishes batches on its job update signal, and the database check
    runs every few batches, so this waits for events rather than for a fixed
    time. It fails after WAIT_SECONDS.
    """
    app = pilot.app
    signal = app.job_updates_signal  # type: ignore[attr-defined]
    published = asyncio.Event()
    signal.subscribe(app, lambda _updates: published.set(), immediate=True)
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    try:
        while True:
            await settle_jobs(pilot)
            if predicate():
                return
            published.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting until {what}")
            try:
                await asyncio.wait_for(published.wait(), remaining)
            except TimeoutError:
                raise AssertionError(f"timed out waiting until {what}") from None
    finally:
        signal.unsubscribe(app)


def finished_waiter(runner: JobRunner, job_id: int) -> asyncio.Event:
    """Return an event that is set when a run of the job finishes in `runner`."""
    finished = asyncio.Event()

    def on_event(event: JobEvent) -> None:
        if isinstance(event, JobFinished) and event.job_id == job_id:
            finished.set()

    runner.bus.subscribe(on_event)
    return finished
