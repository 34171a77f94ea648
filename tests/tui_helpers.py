"""Reusable pieces for TUI tests: a seeded database, a frozen clock and the app.

Fixtures come in by assignment, which keeps linters from reading the test's
parameter as a redefinition of an import:

    from tests import tui_helpers
    from tests.tui_helpers import make_app, settle

    seeded_db = tui_helpers.seeded_db

    async def test_something(seeded_db: Path) -> None:
        app = make_app(seeded_db)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)

`seeded_db` and `empty_db` build on the `db_path` fixture of conftest.py. All
data is synthetic: names are invented and emails use example.org (RFC 2606).
Snapshot tests run the app in its own event loop, so the seeding here is
synchronous.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from textual.pilot import Pilot
from textual.widgets import Input

from commjobs_tui.app import CommjobsApp
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.settings import Settings
from commjobs_tui.core.uistate import UiState
from commjobs_tui.db.models import (
    CommunicationMessage,
    CommunicationThread,
    Donation,
    Donor,
    EmailGenerationSession,
)
from commjobs_tui.db.store import Store, sync_engine

# Naive UTC, like every time in the database.
FROZEN_NOW = dt.datetime(2025, 6, 15, 9, 30)
CREATED_AT = dt.datetime(2025, 1, 2, 8, 0)


def frozen_clock() -> dt.datetime:
    return FROZEN_NOW


def _gift(cents: int, day: str, campaign: str | None = None) -> Donation:
    return Donation(
        amount_cents=cents,
        donated_on=dt.date.fromisoformat(day),
        campaign=campaign,
        fund="General Fund",
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
    )


def sample_donors() -> list[Donor]:
    """Build eight donors that cover the cases the donor screens show.

    There are people and an organisation, a couple, a donor with no email, one
    marked do-not-contact, one with an unusable email, one without gifts, and
    one whose name contains markup characters.
    """
    rows: list[dict[str, Any]] = [
        {
            "external_id": "C-1001",
            "salutation": "Ms",
            "first_name": "Julia",
            "last_name": "Morrison",
            "email": "julia.morrison@example.org",
            "phone": "415-555-0137",
            "street": "1 Oriole Parkway",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94199",
            "country": "United States",
            "tags": "major donor, board",
            "notes": "Prefers email. Met at the spring gala.",
            "donations": [
                _gift(10_000, "2025-05-01", "Spring Appeal 2025"),
                _gift(50_000, "2024-02-02", "Gala 2024"),
                _gift(2_500, "2023-01-10", "Winter Appeal 2022"),
            ],
        },
        {
            "external_id": "C-1002",
            "first_name": "Nicole and Samuel",
            "last_name": "Chapman",
            "email": "chapman.family@example.org",
            "city": "San Geronimo",
            "state": "CA",
            "tags": "monthly",
            "donations": [
                _gift(2_000, "2025-06-01", "Monthly giving"),
                _gift(2_000, "2025-05-01", "Monthly giving"),
            ],
        },
        {
            "external_id": "A-2001",
            "organization_name": "Harbor Light Foundation",
            "email": "grants@harborlight.example.org",
            "city": "Oakland",
            "state": "CA",
            "tags": "grant",
            "donations": [_gift(250_000, "2022-03-01", "Capital Campaign")],
        },
        {
            "external_id": "C-1003",
            "first_name": "José",
            "last_name": "Núñez",
            "city": "San Rafael",
            "state": "CA",
            "donations": [_gift(700, "2024-09-09"), _gift(300, "2024-09-09")],
        },
        {
            "external_id": "C-1004",
            "salutation": "Mr",
            "last_name": "Wang",
            "email": "joseph.wang@example.org",
            "do_not_contact": True,
            "donations": [_gift(30_000, "2018-08-15", "Summer Appeal 2018")],
        },
        {
            "external_id": "C-1005",
            "first_name": "Ada",
            "last_name": "Zimmer",
            "email": "ada at example.org",
            "tags": "volunteer",
        },
        {
            "external_id": "C-1006",
            "first_name": "[b]Robin[/b]",
            "last_name": "Ortiz [Jr]",
            "email": "robin.ortiz@example.org",
            "donations": [_gift(5_000, "2025-03-03", "Spring Appeal 2025")],
        },
        {
            "external_id": "C-1007",
            "first_name": "Priya",
            "last_name": "Raman",
            "email": "priya.raman@example.org",
            "city": "Berkeley",
            "state": "CA",
            "tags": "lapsed",
            "donations": [_gift(15_000, "2021-11-30", "Year End 2021")],
        },
    ]
    return [
        Donor(created_at=CREATED_AT, updated_at=CREATED_AT, **fields) for fields in rows
    ]


def seed_donors(db_path: Path, donors: list[Donor] | None = None) -> dict[str, int]:
    """Insert donors into a migrated database and return their ids by external id."""
    engine = sync_engine(db_path)
    try:
        with Session(engine) as session:
            records = sample_donors() if donors is None else donors
            session.add_all(records)
            session.commit()
            return {donor.external_id or str(donor.id): donor.id for donor in records}
    finally:
        engine.dispose()


def seed_communication(db_path: Path, donor_id: int) -> None:
    """Record one job and one email sent to the donor, for the detail screen."""
    sent_at = dt.datetime(2025, 5, 20, 14, 5)
    engine = sync_engine(db_path)
    try:
        with Session(engine) as session:
            job = EmailGenerationSession(
                job_name="Spring thank-you 2025",
                instruction="Thank each donor for their spring gift.",
                provider="offline",
                model="offline",
                status="completed",
                created_at=CREATED_AT,
                updated_at=CREATED_AT,
            )
            thread = CommunicationThread(
                donor_id=donor_id,
                subject="Thank you for your spring gift",
                created_at=sent_at,
                updated_at=sent_at,
            )
            session.add_all([job, thread])
            session.flush()
            session.add(
                CommunicationMessage(
                    thread_id=thread.id,
                    channel="email",
                    subject="Thank you for your spring gift",
                    body="Dear Julia, thank you.",
                    sent_at=sent_at,
                    session_id=job.id,
                    created_at=sent_at,
                    updated_at=sent_at,
                )
            )
            session.commit()
    finally:
        engine.dispose()


def make_context(
    db_path: Path, *, ui_state_path: Path | None = None, demo: bool = False
) -> AppContext:
    """Build the context the CLI would, with a frozen clock and default settings."""
    return AppContext(
        settings=Settings(),
        store=Store(db_path),
        ui_state=UiState(ui_state_path),
        clock=frozen_clock,
        demo=demo,
    )


def make_app(
    db_path: Path, *, ui_state_path: Path | None = None, demo: bool = False
) -> CommjobsApp:
    """Build the app on `db_path`. The app closes its store when it exits."""
    return CommjobsApp(make_context(db_path, ui_state_path=ui_state_path, demo=demo))


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until workers finish and the screen has redrawn.

    Cursor blinking is switched off on the current screen's inputs, so that
    snapshots come out the same every run.
    """
    app = pilot.app
    await pilot.pause()
    await app.workers.wait_for_complete()
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def seeded_db(db_path: Path) -> Path:
    """A migrated database with the sample donors."""
    seed_donors(db_path)
    return db_path


@pytest.fixture
def empty_db(db_path: Path) -> Path:
    """A migrated database with no donors."""
    return db_path
