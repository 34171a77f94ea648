"""The job detail screen: summary, emails page by page, drafts and its actions."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from commjobs_tui.db.models import Donor, EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import sync_engine
from commjobs_tui.screens.job_detail import PAGE_SIZE, JobDetailScreen
from commjobs_tui.screens.job_dialogs import (
    ConfirmDialog,
    ErrorKindPicker,
    InstructionsDialog,
)
from commjobs_tui.screens.jobs import JobsScreen
from tests import fakeapi
from tests.engine_helpers import add_donors, create_job, fake_settings
from tests.jobs_fixtures import (
    SIZE,
    WAIT_SECONDS,
    detail_screen,
    dialog_text,
    finished_waiter,
    jobs_db,
    make_jobs_app,
    messages,
    plain,
    server,
    settle_jobs,
    static_text,
    wait_until,
)
from tests.tui_helpers import FROZEN_NOW, seed_donors

__all__ = ["jobs_db", "server"]


async def open_detail(pilot: Pilot[Any], job_id: int) -> JobDetailScreen:
    app = pilot.app
    await settle_jobs(pilot)
    await app.run_action(f"open_job({job_id})")
    await settle_jobs(pilot)
    return detail_screen(app)


def summary_text(screen: JobDetailScreen) -> str:
    return static_text(screen.query_one("#job-summary", Static))


def preview_text(screen: JobDetailScreen) -> str:
    return static_text(screen.query_one("#email-preview-text", Static))


def email_rows(screen: JobDetailScreen) -> list[list[str]]:
    table = screen.table
    return [
        [plain(cell) for cell in table.get_row(row.key)] for row in table.ordered_rows
    ]


def seed_big_job(db_path: Path, emails: int) -> int:
    """Add a completed job with `emails` emails spread over the sample donors.

    The unique key allows one email per donor and job, so this adds donors.
    """
    seed_donors(db_path)
    engine = sync_engine(db_path)
    try:
        with Session(engine) as session:
            donors = [
                Donor(
                    first_name=f"Big{index:05d}",
                    last_name="Donor",
                    email=f"big{index:05d}@example.org",
                )
                for index in range(emails)
            ]
            session.add_all(donors)
            session.flush()
            job = EmailGenerationSession(
                job_name="Large appeal",
                instruction="Thank everyone.",
                refinement_history=[],
                preview_donor_ids=[],
                selection={"kind": "all"},
                status="completed",
                total_count=emails,
                completed_count=emails,
                failed_count=0,
                skipped_count=0,
                provider="offline",
                model="offline",
                created_at=FROZEN_NOW,
                updated_at=FROZEN_NOW,
            )
            session.add(job)
            session.flush()
            session.add_all(
                GeneratedEmail(
                    session_id=job.id,
                    donor_id=donor.id,
                    status="completed",
                    attempts=1,
                    subject=f"Thanks {donor.first_name}",
                    body="Thank you.",
                    is_preview=False,
                    generated_at=FROZEN_NOW - dt.timedelta(hours=1),
                )
                for donor in donors
            )
            session.commit()
            return job.id
    finally:
        engine.dispose()


async def test_summary_shows_job(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 2)
        text = summary_text(screen)
        assert "Year-end appeal  ✖ failed" in text
        assert "6/6 done (100%): 4 completed, 2 failed, 0 pending" in text
        assert "2 donors left out" in text
        assert "created 2024-05-11 09:30 UTC · started 09:30 · finished 09:42" in text
        assert "took 12m" in text
        assert "openai/gpt-4.1-mini · 4 requests at a time" in text
        assert "3,600 prompt + 1,000 completion tokens" in text
        assert "(estimate)" in text
        assert "Thank each donor for their most recent gift." in text
        assert "1 refinement" in text
        assert "refusal 1 · timeout 1" in text
        assert "2 of 6 emails failed" in text
        assert screen.heading == "Communication Jobs › Year-end appeal"


async def test_summary_of_other_process_job(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 3)
        text = summary_text(screen)
        assert "▶ running  in process 4242 on other-host.example.org" in text
        assert "running for 2m10s" in text
        # Only the average since the start is known for another process's job.
        assert "1.4 emails/min" in text
        assert "ETA 2m10s" in text


async def test_emails_and_preview(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 2)
        rows = email_rows(screen)
        assert len(rows) == 6
        assert rows[0] == ["Julia Morrison", "✔ completed", "1", ""]
        assert rows[4] == [
            "[b]Robin[/b] Ortiz [Jr]",
            "✖ failed",
            "4",
            "timeout: no reply within 65 s",
        ]
        preview = preview_text(screen)
        assert "To: Julia Morrison <julia.morrison@example.org>" in preview
        assert "Subject: Thank you for your support, donor 1" in preview
        assert "Thank you for your gift to Year-end appeal." in preview
        await pilot.press(*["down"] * 5)
        await settle_jobs(pilot)
        preview = preview_text(screen)
        assert "Drafting failed (refusal): the model refused" in preview
        assert "Subject" not in preview
        assert "6 emails" in str(screen.query_one("#emails-status-line").render())
        await app.run_action("open_job(1)")
        await settle_jobs(pilot)
        screen = detail_screen(app)
        assert [row[1] for row in email_rows(screen)][:3] == [
            "✉ sent",
            "✉ sent",
            "✔ completed",
        ]
        assert "sent 2025-06-14 09:30:00 UTC" in preview_text(screen)


async def test_status_filter_cycles(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 7)
        await pilot.press("f")
        await settle_jobs(pilot)
        assert [row[1] for row in email_rows(screen)] == ["✖ failed"]
        assert "1 failed email" in str(screen.query_one("#emails-status-line").render())
        await pilot.press("f")
        await settle_jobs(pilot)
        assert len(email_rows(screen)) == 3
        await pilot.press("f")
        await settle_jobs(pilot)
        assert [row[1] for row in email_rows(screen)] == ["○ pending", "○ pending"]
        await pilot.press("f")
        await settle_jobs(pilot)
        assert len(email_rows(screen)) == 6


async def test_large_job_loads_pages(db_path: Path) -> None:
    job_id = seed_big_job(db_path, 450)
    app = make_jobs_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, job_id)
        assert len(screen.emails) == PAGE_SIZE
        status = str(screen.query_one("#emails-status-line").render())
        assert f"Showing {PAGE_SIZE} of 450 emails" in status
        screen.table.move_cursor(row=PAGE_SIZE - 10)
        await settle_jobs(pilot)
        assert len(screen.emails) == 2 * PAGE_SIZE
        screen.table.move_cursor(row=2 * PAGE_SIZE - 1)
        await settle_jobs(pilot)
        assert len(screen.emails) == 450
        assert "450 emails" in str(screen.query_one("#emails-status-line").render())
        assert email_rows(screen)[-1][0] == "Big00449 Donor"


async def test_instructions_dialog(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, 1)
        await pilot.press("i")
        await settle_jobs(pilot)
        dialog = app.screen
        assert isinstance(dialog, InstructionsDialog)
        text = str(dialog.query_one("#instructions-text").render())
        assert "keep it under 150 words" in text
        history = str(dialog.query_one("#refinement-text").render())
        assert "1. 2025-06-01 10:00:00 UTC, 0 previews" in history
        assert "Thank each donor for their gift." in history
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert isinstance(app.screen, JobDetailScreen)


async def test_retry_one_error_kind(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = make_jobs_app(jobs_db, fake_settings(server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 2)
        await pilot.press("k")
        await settle_jobs(pilot)
        picker = app.screen
        assert isinstance(picker, ErrorKindPicker)
        options = picker.query_one("#choice-options", OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(2)]
        assert labels == ["refusal: 1 email", "timeout: 1 email"]
        done = finished_waiter(app.context.runner, 2)
        await pilot.press("down", "enter")
        await settle_jobs(pilot)
        await asyncio.wait_for(done.wait(), WAIT_SECONDS)
        await wait_until(
            pilot,
            lambda: (
                screen.job is not None
                and screen.job.status == "failed"
                and screen.job.error_kinds == {"refusal": 1}
            ),
            what="only the refusal stays failed",
        )
        assert len(server.chat_requests) == 1
        assert [row[1] for row in email_rows(screen)].count("✖ failed") == 1


async def test_retry_kind_escape_and_refusal(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, 2)
        await pilot.press("k")
        await settle_jobs(pilot)
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        assert (await app.context.jobs.get_job(2)).status == "failed"
        await app.run_action("open_job(1)")
        await settle_jobs(pilot)
        await pilot.press("k")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ErrorKindPicker)
        assert any("has no failed emails" in m for m in messages(app))


async def test_redraft_email_confirm(
    jobs_db: Path, server: fakeapi.FakeChatServer
) -> None:
    app = make_jobs_app(jobs_db, fake_settings(server.base_url))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 1)
        await pilot.press("g")
        await settle_jobs(pilot)
        text = dialog_text(app)
        assert "Redraft the email to Julia Morrison?" in text
        assert "Its current draft is replaced when the new one is written" in text
        assert "marked as sent and loses that mark" in text
        assert "other" not in text
        done = finished_waiter(app.context.runner, 1)
        await pilot.press("y")
        await settle_jobs(pilot)
        await asyncio.wait_for(done.wait(), WAIT_SECONDS)
        await wait_until(
            pilot,
            lambda: email_rows(screen)[0][1] == "✔ completed",
            what="the redrafted email shows",
        )
        assert len(server.chat_requests) == 1
        assert "Subject: Thank you for your support, donor 1" not in preview_text(
            screen
        )
        assert (await app.context.jobs.sent_counts(1)) == (5, 1)


async def test_redraft_escape_and_refusal(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 1)
        await pilot.press("g")
        await settle_jobs(pilot)
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert "Subject: Thank you for your support, donor 1" in preview_text(screen)
        assert (await app.context.jobs.sent_counts(1)) == (4, 2)
        await app.run_action("open_job(3)")
        await settle_jobs(pilot)
        await pilot.press("g")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any(
            "Redraft single emails after it finishes" in m for m in messages(app)
        )


async def test_mark_sent_confirm(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 2)
        await pilot.press("m")
        await settle_jobs(pilot)
        text = dialog_text(app)
        assert "Mark 4 emails of “Year-end appeal” (2) as sent?" in text
        assert "4 completed emails are recorded as sent by email now" in text
        assert "2 emails that are not completed are not marked." in text
        await pilot.press("y")
        await settle_jobs(pilot)
        assert (await app.context.jobs.sent_counts(2)) == (0, 4)
        assert "Marked 4 emails of “Year-end appeal” (2) as sent." in messages(app)
        assert [row[1] for row in email_rows(screen)].count("✉ sent") == 4


async def test_mark_sent_escape_and_nothing_left(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, 1)
        await pilot.press("m")
        await settle_jobs(pilot)
        text = dialog_text(app)
        assert "2 emails marked earlier stay as they are." in text
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert (await app.context.jobs.sent_counts(1)) == (4, 2)
        await app.run_action("open_job(5)")
        await settle_jobs(pilot)
        await pilot.press("m")
        await settle_jobs(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("has no completed emails waiting" in m for m in messages(app))


async def test_delete_from_detail_goes_back(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, 6)
        await pilot.press("d")
        await settle_jobs(pilot)
        assert "Delete “Board thank-you [draft]” (6)?" in dialog_text(app)
        await pilot.press("y")
        await settle_jobs(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert await app.context.jobs.count_jobs() == 6


async def test_deleted_job_says_so(jobs_db: Path) -> None:
    app = make_jobs_app(jobs_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, 999)
        assert "Job 999 no longer exists" in summary_text(screen)
        assert screen.table.row_count == 0
        await pilot.press("r")
        await settle_jobs(pilot)
        assert "No job is selected." in messages(app)
        await pilot.press("escape")
        await settle_jobs(pilot)
        assert isinstance(app.screen, JobsScreen)


async def test_live_job_updates_detail(
    db_path: Path, server: fakeapi.FakeChatServer
) -> None:
    seed_donors(db_path)
    server.set_latency(0.05)
    app = make_jobs_app(db_path, fake_settings(server.base_url, concurrency=2))
    async with app.run_test(size=SIZE) as pilot:
        await settle_jobs(pilot)
        runner = app.context.runner
        await add_donors(app.context.store, 30)
        job = await create_job(runner, name="Live detail")
        screen = await open_detail(pilot, job.id)
        assert "0/35 done" in summary_text(screen)
        done = finished_waiter(runner, job.id)
        seen: set[str] = set()

        def record() -> bool:
            seen.update(row[1] for row in email_rows(screen))
            return screen.job is not None and screen.job.status == "completed"

        task = await runner.start(job.id)
        await wait_until(pilot, record, what="the job completes on screen")
        await asyncio.wait_for(task, WAIT_SECONDS)
        assert done.is_set()
        assert "35/35 done (100%)" in summary_text(screen)
        assert {row[1] for row in email_rows(screen)} == {"✔ completed"}
        assert "✔ completed" in seen
