"""The Communicate wizard, step by step, driven by the keyboard with Pilot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static, TextArea

from commjobs_tui.app import CommjobsApp
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.events import JobEvent, JobFinished
from commjobs_tui.core.uistate import UiState
from commjobs_tui.core.wizard import STARTER_TEMPLATES, WizardDraft
from commjobs_tui.db.store import Store
from commjobs_tui.screens.communicate import (
    NO_DONORS_MESSAGE,
    CommunicateScreen,
    PickTable,
)
from commjobs_tui.screens.help import HelpScreen
from commjobs_tui.screens.wizard_common import WizardStepScreen
from commjobs_tui.screens.wizard_instructions import InstructionsScreen
from commjobs_tui.screens.wizard_name import JobNameScreen
from commjobs_tui.screens.wizard_pickers import PreviewDonorPicker, TemplatePicker
from commjobs_tui.screens.wizard_review import ReviewScreen
from tests import fakeapi, tui_helpers
from tests.engine_helpers import fake_settings
from tests.tui_helpers import frozen_clock, make_app, seed_communication, settle

empty_db = tui_helpers.empty_db
seeded_db = tui_helpers.seeded_db

SIZE = (120, 40)
INSTRUCTION = "Invite each donor to renew their support"
ALL_DONORS_SUMMARY = (
    "8 donors selected, 5 to email · 3 skipped "
    "(2 without a usable email, 1 do not contact)"
)
LAPSED_SUMMARY = "3 donors selected, 2 to email · 1 skipped (1 do not contact)"


def plain(widget: Static) -> str:
    """Render a Static's content as plain text, whatever renderable it holds."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def text_of(app: CommjobsApp, selector: str) -> str:
    return plain(app.screen.query_one(selector, Static))


def row_count(app: CommjobsApp) -> int:
    return app.screen.query_one("#pick-table", PickTable).row_count


def draft_of(app: CommjobsApp) -> WizardDraft:
    screen = app.screen
    assert isinstance(screen, WizardStepScreen)
    return screen.draft


def notifications(app: CommjobsApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def open_wizard(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)


async def mark_lapsed(pilot: Pilot[Any]) -> None:
    """Turn on the lapsed segment (12 months) and mark every donor it shows."""
    await pilot.press("s", "space")
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)


async def go_to_name(pilot: Pilot[Any]) -> None:
    await open_wizard(pilot)
    await mark_lapsed(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)


async def go_to_instructions(pilot: Pilot[Any]) -> None:
    await go_to_name(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def type_instruction(pilot: Pilot[Any], text: str) -> None:
    editor = pilot.app.screen.query_one("#instruction", TextArea)
    editor.load_text(text)
    await settle(pilot)


async def go_to_review(pilot: Pilot[Any]) -> None:
    await go_to_instructions(pilot)
    await type_instruction(pilot, INSTRUCTION)
    await pilot.press("ctrl+n")
    await settle(pilot)


def finished_waiter(app: CommjobsApp) -> tuple[asyncio.Event, list[JobFinished]]:
    """An event set when the app's runner reports a finished job run."""
    finished = asyncio.Event()
    events: list[JobFinished] = []

    def on_event(event: JobEvent) -> None:
        if isinstance(event, JobFinished):
            events.append(event)
            finished.set()

    app.context.runner.bus.subscribe(on_event)
    return finished, events


@asynccontextmanager
async def app_on_fake_server(
    db_path: Path,
) -> AsyncIterator[tuple[CommjobsApp, fakeapi.FakeChatServer]]:
    with fakeapi.FakeChatServer() as server:
        context = AppContext(
            settings=fake_settings(server.base_url, model="gpt-test"),
            store=Store(db_path),
            ui_state=UiState(None),
            clock=frozen_clock,
        )
        yield CommjobsApp(context), server


# Step 1: select donors ------------------------------------------------------------


async def test_empty_database_explains_import(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        screen = app.screen
        assert isinstance(screen, CommunicateScreen)
        empty = screen.query_one("#pick-empty", Static)
        assert empty.display
        assert plain(empty).strip().startswith("No donors yet")
        assert str(empty.content) == NO_DONORS_MESSAGE
        assert not screen.query_one("#pick-table").display

        await pilot.press("a", "ctrl+n")
        await settle(pilot)
        assert app.screen is screen
        messages = notifications(app)
        assert (
            "No donors match the filter and segments, so none were marked." in messages
        )
        assert any(message.startswith("No donors selected") for message in messages)


async def test_rows_reload_after_import(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        assert "No donors yet" in text_of(app, "#pick-empty")

        await pilot.press("1")
        await settle(pilot)
        tui_helpers.seed_donors(empty_db)
        await pilot.press("2")
        await settle(pilot)

        assert row_count(app) == 8
        assert not app.screen.query_one("#pick-empty", Static).display


async def test_next_without_selection_refused(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        assert text_of(app, "#selection-summary").strip() == "No donors selected"

        await pilot.press("ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, CommunicateScreen)
        assert notifications(app) == [
            "No donors selected. Press space to mark the highlighted donor, or a "
            "to mark every donor shown."
        ]


async def test_marking_rows_updates_summary(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        screen = app.screen
        assert isinstance(screen, CommunicateScreen)
        assert row_count(app) == 8

        await pilot.press("space")
        await settle(pilot)
        names = [donor.name for donor in screen.draft.selected.values()]
        assert names == ["Nicole and Samuel Chapman"]
        assert text_of(app, "#selection-summary").startswith("1 donor selected")

        await pilot.press("space")
        await settle(pilot)
        assert screen.draft.selected == {}

        await pilot.press("a")
        await settle(pilot)
        assert text_of(app, "#selection-summary").strip() == ALL_DONORS_SUMMARY
        assert "Marked 8 more donors; 8 selected." in notifications(app)

        await pilot.press("u")
        await settle(pilot)
        assert screen.draft.selected == {}
        assert text_of(app, "#selection-summary").strip() == "No donors selected"


async def test_lapsed_segment_narrows_rows(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        await mark_lapsed(pilot)
        screen = app.screen
        assert isinstance(screen, CommunicateScreen)

        assert row_count(app) == 3
        status = text_of(app, "#select-status").strip()
        assert status == "3 donors match (lapsed over 12 months)"
        assert text_of(app, "#selection-summary").strip() == LAPSED_SUMMARY
        names = sorted(donor.name for donor in screen.draft.selected.values())
        assert names == ["Harbor Light Foundation", "Mr Wang", "Priya Raman"]


async def test_quick_keys_use_new_segment(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        # No pause between the keys: the rows of the segment are still loading
        # when a and ctrl+n arrive.
        await pilot.press("s", "space", "escape", "a", "ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, JobNameScreen)
        assert text_of(app, "#name-summary").strip() == LAPSED_SUMMARY


async def test_invalid_segment_value_shows_error(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        screen = app.screen
        screen.query_one("#segment-lapsed", Checkbox).value = True
        await settle(pilot)
        screen.query_one("#segment-lapsed-value", Input).value = "0"
        await settle(pilot)

        error = screen.query_one("#segment-error", Static)
        assert error.display
        assert plain(error).strip() == (
            "Lapsed over: '0' is not a number of months; enter a whole number "
            "from 1 to 1200"
        )
        # The rows of the last valid segment stay.
        assert row_count(app) == 3

        # 40 months before 15 June 2025 leaves out the gift of 1 March 2022.
        screen.query_one("#segment-lapsed-value", Input).value = "40"
        await settle(pilot)
        assert not error.display
        assert row_count(app) == 2


async def test_segment_values_remembered(seeded_db: Path, tmp_path: Path) -> None:
    state = tmp_path / "ui.json"
    first = make_app(seeded_db, ui_state_path=state)
    async with first.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        first.screen.query_one("#segment-total-value", Input).value = "250"
        await settle(pilot)

    second = make_app(seeded_db, ui_state_path=state)
    async with second.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        assert second.screen.query_one("#segment-total-value", Input).value == "250"


async def test_filter_then_mark_all(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        await pilot.press("slash", *"california")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CommunicateScreen)
        assert row_count(app) == 0
        assert screen.query_one("#pick-empty", Static).display
        assert "No donors match" in text_of(app, "#pick-empty")

        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("slash", *"san")
        await settle(pilot)
        await pilot.press("enter", "a")
        await settle(pilot)
        names = sorted(donor.name for donor in screen.draft.selected.values())
        assert names == ["José Núñez", "Julia Morrison", "Nicole and Samuel Chapman"]


async def test_only_unemailable_selected_refused(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        await pilot.press("slash", *"wang")
        await settle(pilot)
        await pilot.press("enter", "space", "ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, CommunicateScreen)
        assert notifications(app)[-1].startswith(
            "None of the 1 selected donors can be emailed"
        )


# Step 2: job name ------------------------------------------------------------------


async def test_name_step_suggests_name(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_name(pilot)

        screen = app.screen
        assert isinstance(screen, JobNameScreen)
        assert screen.query_one("#job-name", Input).value == "Lapsed donors - June 2025"
        assert text_of(app, "#name-summary").strip() == LAPSED_SUMMARY
        assert "Step 2 of 4: Job name" in str(screen.sub_title)


async def test_name_step_rejects_invalid(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_name(pilot)
        screen = app.screen
        name = screen.query_one("#job-name", Input)
        error = screen.query_one("#name-error", Static)

        name.value = "   "
        await settle(pilot)
        assert not error.display
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert error.display
        assert plain(error).startswith("job name is empty")

        name.value = "x" * 256
        await settle(pilot)
        assert error.display
        assert plain(error).startswith("job name is 256 characters long")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen is screen

        name.value = "x" * 255
        await settle(pilot)
        assert not error.display
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, InstructionsScreen)


async def test_duplicate_name_warns_only(db_path: Path) -> None:
    ids = tui_helpers.seed_donors(db_path)
    seed_communication(db_path, ids["C-1001"])
    app = make_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_name(pilot)
        screen = app.screen
        warning = screen.query_one("#name-warning", Static)
        assert not warning.display

        screen.query_one("#job-name", Input).value = " spring THANK-YOU 2025 "
        await settle(pilot)

        assert warning.display
        assert plain(warning).startswith("Job 1 already named “spring THANK-YOU 2025”.")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InstructionsScreen)


async def test_duplicate_name_warns_on_quick_enter(db_path: Path) -> None:
    ids = tui_helpers.seed_donors(db_path)
    seed_communication(db_path, ids["C-1001"])
    app = make_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_name(pilot)
        app.screen.query_one("#job-name", Input).value = "Spring thank-you 2025"
        # Enter before the inline check has run still moves on, with a warning.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InstructionsScreen)
        messages = [n.message for n in app._notifications]
        assert any("already named" in m for m in messages)


async def test_back_keeps_entered_values(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_instructions(pilot)
        await pilot.press("escape")
        await settle(pilot)
        name_step = app.screen
        assert isinstance(name_step, JobNameScreen)
        name_step.query_one("#job-name", Input).value = "Autumn renewal"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_instruction(pilot, INSTRUCTION)

        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        first = app.screen
        assert isinstance(first, CommunicateScreen)
        assert text_of(app, "#selection-summary").strip() == LAPSED_SUMMARY
        assert first.query_one("#segment-lapsed", Checkbox).value

        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.query_one("#job-name", Input).value == "Autumn renewal"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#instruction", TextArea).text == INSTRUCTION
        assert "Autumn renewal" in str(app.screen.sub_title)


# Step 3: instructions and previews -------------------------------------------------


async def test_empty_instructions_refused(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_instructions(pilot)
        screen = app.screen
        assert isinstance(screen, InstructionsScreen)

        await pilot.press("ctrl+r")
        await settle(pilot)
        await type_instruction(pilot, "  \n  ")
        await pilot.press("ctrl+n")
        await settle(pilot)

        assert app.screen is screen
        refusals = [
            message
            for message in notifications(app)
            if message.startswith("instructions are empty")
        ]
        assert len(refusals) == 2
        assert draft_of(app).job_id is None
        assert await app.context.jobs.count_jobs() == 0


async def test_template_inserted_into_editor(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_instructions(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, TemplatePicker)
        await pilot.press("down", "enter")
        await settle(pilot)

        screen = app.screen
        assert isinstance(screen, InstructionsScreen)
        renewal = STARTER_TEMPLATES[1].text
        assert screen.query_one("#instruction", TextArea).text == renewal
        assert screen.draft.instruction == renewal

        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.query_one("#instruction", TextArea).text == renewal


async def test_preview_creates_draft_job(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_instructions(pilot)
        screen = app.screen
        assert isinstance(screen, InstructionsScreen)
        await type_instruction(pilot, INSTRUCTION)

        await pilot.press("ctrl+r")
        await settle(pilot)

        job_id = screen.draft.job_id
        assert job_id is not None
        job = await app.context.jobs.get_job(job_id)
        assert job.status == "pending"
        assert job.name == "Lapsed donors - June 2025"
        assert job.total == 2
        assert job.skipped == 1
        assert job.preview_count == 2
        assert len(job.refinement_history) == 1
        emails = text_of(app, "#preview-emails")
        assert "Priya Raman <priya.raman@example.org>" in emails
        assert "Subject: " in emails
        assert "Dear Priya" in emails
        status = " ".join(text_of(app, "#preview-status").split())
        assert status.startswith("Preview 1 of this job: 2 emails.")

        await type_instruction(pilot, INSTRUCTION + " before the end of the year")
        assert "instructions changed" in text_of(app, "#preview-status")
        await pilot.press("ctrl+r")
        await settle(pilot)

        job = await app.context.jobs.get_job(job_id)
        assert len(job.refinement_history) == 2
        assert job.instruction == INSTRUCTION + " before the end of the year"
        history = text_of(app, "#preview-history")
        assert "Refinement history (2 previews)" in history
        assert f"1. 2025-06-15 09:30 UTC  {INSTRUCTION}\n2. " in history
        assert await app.context.jobs.count_jobs() == 1


async def test_preview_donor_picker_limits(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        await pilot.press("a", "ctrl+n")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InstructionsScreen)
        await type_instruction(pilot, INSTRUCTION)

        await pilot.press("ctrl+o")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PreviewDonorPicker)
        assert len(picker.donors) == 5
        assert picker.picked == []
        # Marking a fourth donor is rejected. Unmarking one makes room.
        await pilot.press("down", "space", "down", "space", "down", "space")
        await settle(pilot)
        first, second, third = picker.picked
        last = picker.donors[-1].id
        await pilot.press("end", "space")
        await settle(pilot)
        assert picker.picked == [first, second, third]
        assert "at most 3 emails" in notifications(app)[-1]
        await pilot.press("home", "space", "end", "space")
        await settle(pilot)
        picked = [second, third, last]
        assert picker.picked == picked
        await pilot.press("enter")
        await settle(pilot)

        assert app.screen is screen
        assert draft_of(app).preview_donor_ids == picked
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert [row.donor_id for row in draft_of(app).previews] == picked


async def test_preview_picker_filters_donors(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        await pilot.press("a", "ctrl+n")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)

        await pilot.press(*"julia", "enter", "space", "enter")
        await settle(pilot)

        assert isinstance(app.screen, InstructionsScreen)
        picked = draft_of(app).preview_donor_ids
        names = [draft_of(app).selected[donor_id].name for donor_id in picked]
        assert names == ["Julia Morrison"]


async def test_changed_selection_updates_job(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_instructions(pilot)
        await type_instruction(pilot, INSTRUCTION)
        await pilot.press("ctrl+r")
        await settle(pilot)
        draft = draft_of(app)
        job_id = draft.job_id
        assert job_id is not None

        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        # Escape leaves the segments. With the lapsed segment on, the first
        # row is Harbor Light Foundation.
        await pilot.press("escape", "space", "ctrl+n")
        await settle(pilot)
        job = await app.context.jobs.get_job(job_id)
        assert job.total == 1
        assert job.skipped == 1
        assert job.preview_count == 1

        app.screen.query_one("#job-name", Input).value = "Priya only"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        job = await app.context.jobs.get_job(job_id)
        assert job.name == "Priya only"
        assert await app.context.jobs.count_jobs() == 1
        shown = [row.donor_name for row in draft_of(app).previews]
        assert shown == ["Priya Raman"]
        assert "Priya Raman" in text_of(app, "#preview-emails")
        assert "Harbor Light" not in text_of(app, "#preview-emails")


async def test_preview_failure_notifies(seeded_db: Path) -> None:
    async with (
        app_on_fake_server(seeded_db) as (app, server),
        app.run_test(size=SIZE) as pilot,
    ):
        await go_to_instructions(pilot)
        await type_instruction(pilot, INSTRUCTION)
        server.add_rule("Priya", fakeapi.refusal())
        server.add_rule("Harbor", fakeapi.invalid_key())

        await pilot.press("ctrl+r")
        await settle(pilot)

        # A key every request would fail with stops the preview.
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1
        assert "sk-test-not-a-real-key" not in errors[0].message
        assert draft_of(app).previews == ()
        assert "No preview yet" in text_of(app, "#preview-status")

        # A refusal fails one email, which the preview shows with its reason.
        server.clear_rules()
        server.add_rule("Priya", fakeapi.refusal())
        await pilot.press("ctrl+r")
        await settle(pilot)

        statuses = {row.donor_name: row.status for row in draft_of(app).previews}
        assert statuses == {
            "Harbor Light Foundation": "completed",
            "Priya Raman": "failed",
        }
        assert "Preview failed: " in text_of(app, "#preview-emails")


# Step 4: review and start ----------------------------------------------------------


async def test_review_shows_counts_offline(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_review(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert "Step 4 of 4: Review · Lapsed donors - June 2025" in str(
            screen.sub_title
        )

        facts = " ".join(text_of(app, "#review-facts").split())
        assert "Lapsed donors - June 2025 (job 1, pending)" in facts
        assert (
            "2 emails to draft · 1 selected donor skipped (no usable email "
            "address, or marked do not contact)" in facts
        )
        assert "Provider offline (template drafts, no AI model)" in facts
        assert "Nothing to pay" in facts
        assert "Previews none (no preview was drafted)" in facts
        assert f"Instructions {INSTRUCTION}" in facts


async def test_start_job_completes_and_resets(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_review(pilot)
        finished, events = finished_waiter(app)

        await pilot.press("enter")
        await asyncio.wait_for(finished.wait(), timeout=30)
        await settle(pilot)

        assert [event.status for event in events] == ["completed"]
        job = await app.context.jobs.get_job(events[0].job_id)
        assert job.status == "completed"
        assert job.completed == 2
        assert app.current_mode == "jobs"
        assert any(
            message.startswith("Started job 1") for message in notifications(app)
        )

        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, CommunicateScreen)
        assert len(app.screen_stack) == 1
        assert draft_of(app).selected == {}


async def test_leaving_wizard_keeps_job_running(seeded_db: Path) -> None:
    async with (
        app_on_fake_server(seeded_db) as (app, server),
        app.run_test(size=SIZE) as pilot,
    ):
        await go_to_review(pilot)
        facts = " ".join(text_of(app, "#review-facts").split())
        assert "Provider openai, model gpt-test" in facts
        assert "No price is configured for model gpt-test" in facts
        finished, events = finished_waiter(app)
        # Both requests hang, so the job runs while the wizard closes.
        server.enqueue(fakeapi.hang(), fakeapi.hang())

        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("1")
        await app.run_action("new_job")
        await settle(pilot)

        runner = app.context.runner
        assert runner.running_job_ids() == [1]
        assert not finished.is_set()
        await asyncio.to_thread(server.wait_for_requests, 2)
        server.release_hangs()
        await asyncio.wait_for(finished.wait(), timeout=30)
        assert [event.status for event in events] == ["completed"]
        assert events[0].completed == 2


async def test_review_rejects_job_started_elsewhere(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_instructions(pilot)
        await type_instruction(pilot, INSTRUCTION)
        await pilot.press("ctrl+r")
        await settle(pilot)
        job_id = draft_of(app).job_id
        assert job_id is not None
        task = await app.context.runner.start(job_id)
        await task

        await pilot.press("ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, ReviewScreen)
        refusals = [m for m in notifications(app) if "has already started" in m]
        assert len(refusals) == 1
        assert "Preparing the review" in text_of(app, "#review-facts")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert notifications(app)[-1].startswith("The review is still being prepared")


async def test_help_lists_wizard_keys(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_wizard(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.heading == "Communicate · Step 1 of 4: Select donors"
        descriptions = {row.description for row in help_screen.rows}
        for description in (
            "Mark or unmark the highlighted donor",
            "Mark every donor that matches the filter and segments",
            "Unmark every donor, shown or not",
            "Filter donors by name, email, tags or city",
            "Go to the quick segments (lapsed, recent, total, has email)",
            "Go to the next step: name the job",
        ):
            assert description in descriptions
