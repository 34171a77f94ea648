"""The app shell: sections, sidebar, help, command palette, theme and failures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy.pool import QueuePool
from textual import work
from textual.app import ComposeResult
from textual.widgets import Input, Static

from commjobs_tui.app import CommjobsApp
from commjobs_tui.core.errors import UserError
from commjobs_tui.screens import SectionScreen
from commjobs_tui.screens.communicate import CommunicateScreen
from commjobs_tui.screens.communications import CommunicationsScreen
from commjobs_tui.screens.donor_detail import DonorDetailScreen
from commjobs_tui.screens.donors import DonorsScreen
from commjobs_tui.screens.help import HelpScreen
from commjobs_tui.screens.jobs import JobsScreen
from commjobs_tui.widgets.sidebar import SidebarItem
from tests import tui_helpers
from tests.tui_helpers import make_app, settle

empty_db = tui_helpers.empty_db
seeded_db = tui_helpers.seeded_db

SIZE = (120, 40)
# Key, mode and first screen of each section, in sidebar order.
SECTION_CASES: list[tuple[str, str, type[SectionScreen]]] = [
    ("1", "donors", DonorsScreen),
    ("2", "communicate", CommunicateScreen),
    ("3", "jobs", JobsScreen),
    ("4", "communications", CommunicationsScreen),
]


def header_text(app: CommjobsApp) -> str:
    return f"{app.screen.title or app.title} — {app.screen.sub_title}"


async def test_start_shows_donors(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current_mode == "donors"
        assert isinstance(app.screen, DonorsScreen)
        assert app.title == "commjobs"
        assert app.screen.sub_title == "Donors · commjobs.db"
        active = app.screen.query(SidebarItem).filter(".-active")
        assert [item.section.mode for item in active] == ["donors"]


async def test_header_says_demo(empty_db: Path) -> None:
    app = make_app(empty_db, demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.sub_title == "demo"
        assert "demo" in header_text(app)


async def test_number_keys_switch_sections(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, mode, screen_type in [*SECTION_CASES[1:], SECTION_CASES[0]]:
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
            assert isinstance(app.screen, screen_type)
            active = app.screen.query(SidebarItem).filter(".-active")
            assert [item.section.mode for item in active] == [mode]


async def test_sidebar_clicks_switch_sections(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _key, mode, screen_type in [*SECTION_CASES[1:], SECTION_CASES[0]]:
            assert await pilot.click(f"#sidebar-{mode}")
            await settle(pilot)
            assert app.current_mode == mode
            assert isinstance(app.screen, screen_type)


async def test_section_keeps_pushed_screen(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DonorDetailScreen)
        await pilot.press("3", "1")
        await settle(pilot)
        # The donor's details are still open in the Donors section.
        assert isinstance(app.screen, DonorDetailScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DonorsScreen)


async def test_number_keys_type_in_filter(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press("1", "2", "3", "4")
        await settle(pilot)
        assert app.current_mode == "donors"
        assert app.screen.query_one("#donor-filter", Input).value == "1234"


async def test_narrow_terminal_compacts_sidebar(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.has_class("-narrow")
        titles = app.screen.query(".sidebar-title")
        assert all(not title.display for title in titles)
        assert await pilot.click("#sidebar-jobs")
        await settle(pilot)
        assert app.current_mode == "jobs"


async def test_help_lists_every_binding(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        donors = app.screen
        expected = {
            (app.get_key_display(active.binding))
            for active in donors.active_bindings.values()
            if active.enabled and not active.binding.system
        }
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.heading == "Donors"
        listed_keys = {key for row in help_screen.rows for key in row.keys.split(", ")}
        assert listed_keys == expected
        actions = {row.description for row in help_screen.rows}
        for description in (
            "Filter donors as you type",
            "Sort by the next column",
            "Reverse the sort order",
            "Import donors from a CSV file",
            "Open the highlighted donor",
            "List the keys of this screen",
            "Quit commjobs",
            "Communication Jobs",
        ):
            assert description in actions
        assert help_screen.rows[0].scope == "Screen"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DonorsScreen)


async def test_help_blocks_section_keys(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark", "3")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.current_mode == "donors"
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, DonorsScreen)


async def test_palette_lists_section_commands(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in (
            "Donors",
            "Communicate",
            "Communication Jobs",
            "Communications",
            "New communication job",
        ):
            assert title in titles


async def run_palette_command(pilot: Any, query: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*query)
    await settle(pilot)
    # The best match comes first and is highlighted, so enter runs it.
    await pilot.press("enter")
    await settle(pilot)


async def test_palette_switches_section(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await run_palette_command(pilot, "Communications")
        assert app.current_mode == "communications"
        assert isinstance(app.screen, CommunicationsScreen)
        await run_palette_command(pilot, "Communication Jobs")
        assert app.current_mode == "jobs"
        assert isinstance(app.screen, JobsScreen)


class StepScreen(SectionScreen):
    """A second wizard step pushed inside the Communicate section."""

    SECTION = "communicate"

    def compose_body(self) -> ComposeResult:
        yield Static("step two")


async def test_palette_new_job_restarts_wizard(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        first_step = app.screen
        await app.push_screen(StepScreen(app.context))
        await pilot.press("1")
        await settle(pilot)
        await run_palette_command(pilot, "New communication job")
        assert app.current_mode == "communicate"
        assert isinstance(app.screen, CommunicateScreen)
        assert app.screen is not first_step
        assert len(app.screen_stack) == 1


async def test_new_job_from_inside_wizard(empty_db: Path) -> None:
    app = make_app(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await app.push_screen(StepScreen(app.context))
        await settle(pilot)
        await app.run_action("new_job")
        await settle(pilot)
        assert app.current_mode == "communicate"
        assert isinstance(app.screen, CommunicateScreen)
        assert len(app.screen_stack) == 1


async def test_theme_remembered_across_runs(empty_db: Path, tmp_path: Path) -> None:
    state = tmp_path / "state" / "ui.json"
    first = make_app(empty_db, ui_state_path=state)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert first.theme != "nord"
        first.theme = "nord"
        await settle(pilot)
    assert state.exists()
    assert state.stat().st_mode & 0o777 == 0o600

    second = make_app(empty_db, ui_state_path=state)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert second.theme == "nord"


async def test_unknown_saved_theme_ignored(
    empty_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "ui.json"
    state.write_text('{"theme": "no-such-theme"}', encoding="utf-8")
    app = make_app(empty_db, ui_state_path=state)
    with caplog.at_level(logging.WARNING):
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.theme == "textual-dark"
    assert "ignoring unknown saved theme 'no-such-theme'" in caplog.text


class FailingScreen(SectionScreen):
    """A section screen whose worker fails with the error it is given."""

    SECTION = "jobs"
    error: ClassVar[Exception] = RuntimeError("disk on fire")

    @work(group="test", exit_on_error=False, description="Counting sheep")
    async def fail(self) -> None:
        raise self.error

    def on_mount(self) -> None:
        self.fail()


@pytest.mark.parametrize(
    ("error", "expected_message"),
    [
        (UserError("limit must be at least 1, got 0"), "limit must be at least 1"),
        (
            RuntimeError("disk on fire"),
            "Counting sheep failed because of an unexpected",
        ),
    ],
)
async def test_worker_failure_notifies(
    empty_db: Path,
    error: Exception,
    expected_message: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(FailingScreen, "error", error)
    app = make_app(empty_db)
    with caplog.at_level(logging.WARNING):
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await app.push_screen(FailingScreen(app.context))
            await settle(pilot)
            messages = [notification.message for notification in app._notifications]
            assert len(messages) == 1
            assert expected_message in messages[0]
            assert "Traceback" not in messages[0]
            assert app.is_running
    records = [r for r in caplog.records if r.name == "commjobs_tui.app"]
    assert len(records) == 1
    if isinstance(error, UserError):
        assert records[0].exc_info is None
    else:
        assert records[0].exc_info is not None
        assert "disk on fire" not in messages[0]


async def test_store_closed_on_exit(seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    pool = app.context.store.engine.pool
    assert isinstance(pool, QueuePool)
    # Closing the store disposes the engine, which leaves an empty pool.
    assert pool.checkedin() == 0
    assert pool.checkedout() == 0
