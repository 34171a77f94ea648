"""Snapshots of the job list, the job details and every job dialog.

Update them with `pytest tests/test_snapshots_jobs.py --snapshot-update` and look
at the SVG files under tests/__snapshots__/ before committing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from commjobs_tui.app import CommjobsApp
from tests import fakeapi
from tests.engine_helpers import fake_settings
from tests.jobs_fixtures import (
    jobs_db,
    jobs_screen,
    make_jobs_app,
    move_to_job,
    open_jobs,
    settle_jobs,
)

__all__ = ["jobs_db"]

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
EXPORT_FOLDER = "/srv/commjobs/exports"

Compare = Callable[..., bool]
Steps = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture
def hanging_server() -> Iterator[fakeapi.FakeChatServer]:
    with fakeapi.FakeChatServer() as running:
        running.add_rule("", fakeapi.hang())
        yield running


def on_job(job_id: int, *keys: str) -> Steps:
    """Open the job list, move to the job and press the keys."""

    async def steps(pilot: Pilot[Any]) -> None:
        screen = await open_jobs(pilot)
        move_to_job(screen, job_id)
        await settle_jobs(pilot)
        if keys:
            await pilot.press(*keys)
            await settle_jobs(pilot)

    return steps


async def show_list(pilot: Pilot[Any]) -> None:
    screen = await open_jobs(pilot)
    await pilot.press("space", "space")
    await settle_jobs(pilot)
    assert jobs_screen(pilot.app).marked == {3, 5}
    assert screen.table.cursor_row == 2


async def show_bulk_menu(pilot: Pilot[Any]) -> None:
    await show_list(pilot)
    await pilot.press("b")
    await settle_jobs(pilot)


async def show_quit_dialog(pilot: Pilot[Any]) -> None:
    await open_jobs(pilot)
    app = pilot.app
    assert isinstance(app, CommjobsApp)
    await app.context.runner.start(4)
    await pilot.press("q")
    await settle_jobs(pilot)


def compare(
    snap_compare: Compare,
    app: CommjobsApp,
    size: tuple[int, int],
    run_before: Steps,
) -> bool:
    return snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_job_list_snapshot(
    snap_compare: Compare, jobs_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, make_jobs_app(jobs_db), size, show_list)


@pytest.mark.parametrize("size", SIZES)
def test_job_detail_snapshot(
    snap_compare: Compare, jobs_db: Path, size: tuple[int, int]
) -> None:
    steps = on_job(2, "enter", "down", "down", "down", "down")
    assert compare(snap_compare, make_jobs_app(jobs_db), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_delete_dialog_snapshot(
    snap_compare: Compare, jobs_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, make_jobs_app(jobs_db), size, on_job(3, "d"))


@pytest.mark.parametrize("size", SIZES)
def test_bulk_menu_snapshot(
    snap_compare: Compare, jobs_db: Path, size: tuple[int, int]
) -> None:
    assert compare(snap_compare, make_jobs_app(jobs_db), size, show_bulk_menu)


@pytest.mark.parametrize("size", SIZES)
def test_export_dialog_snapshot(
    snap_compare: Compare, jobs_db: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    state = tmp_path / "ui.json"
    state.write_text(json.dumps({"jobs.export_folder": EXPORT_FOLDER}), "utf-8")
    app = make_jobs_app(jobs_db, ui_state_path=state)
    assert compare(snap_compare, app, size, on_job(1, "e"))


@pytest.mark.parametrize("size", SIZES)
def test_error_kind_picker_snapshot(
    snap_compare: Compare, jobs_db: Path, size: tuple[int, int]
) -> None:
    steps = on_job(2, "enter", "k")
    assert compare(snap_compare, make_jobs_app(jobs_db), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_instructions_dialog_snapshot(
    snap_compare: Compare, jobs_db: Path, size: tuple[int, int]
) -> None:
    steps = on_job(1, "enter", "i")
    assert compare(snap_compare, make_jobs_app(jobs_db), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_quit_dialog_snapshot(
    snap_compare: Compare,
    jobs_db: Path,
    hanging_server: fakeapi.FakeChatServer,
    size: tuple[int, int],
) -> None:
    app = make_jobs_app(jobs_db, fake_settings(hanging_server.base_url))
    assert compare(snap_compare, app, size, show_quit_dialog)
