"""Change detection behind the live job screens: data_version and event batches."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

from commjobs_tui.core.events import JobFinished, JobProgress, JobsChanged
from commjobs_tui.core.watch import DataVersionWatcher, JobUpdateCollector

AT = dt.datetime(2025, 6, 15, 9, 30)


def insert_job_row(db_path: Path, name: str) -> None:
    """Insert a job row through a connection of its own, as another process would."""
    connection = sqlite3.connect(db_path)
    try:
        connection.execute(
            "INSERT INTO email_generation_sessions (job_name, instruction, "
            "refinement_history, preview_donor_ids, selection, status, total_count, "
            "completed_count, failed_count, skipped_count, provider, model, "
            "prompt_tokens, completion_tokens) VALUES (?, 'x', '[]', '[]', '{}', "
            "'pending', 0, 0, 0, 0, 'offline', 'offline', 0, 0)",
            (name,),
        )
        connection.commit()
    finally:
        connection.close()


def progress(job_id: int, completed: int, email_ids: tuple[int, ...]) -> JobProgress:
    return JobProgress(
        job_id=job_id,
        status="running",
        total=10,
        completed=completed,
        failed=0,
        pending=10 - completed,
        rate_per_minute=60.0,
        eta_seconds=5.0,
        finished_email_ids=email_ids,
        at=AT,
    )


def test_watcher_first_check_is_quiet(db_path: Path) -> None:
    watcher = DataVersionWatcher(db_path)
    try:
        assert watcher.changed() is False
        assert watcher.changed() is False
    finally:
        watcher.close()


def test_watcher_sees_other_connection(db_path: Path) -> None:
    watcher = DataVersionWatcher(db_path)
    try:
        watcher.changed()
        insert_job_row(db_path, "Spring appeal")
        assert watcher.changed() is True
        assert watcher.changed() is False
    finally:
        watcher.close()


def test_watcher_sees_other_process(db_path: Path) -> None:
    watcher = DataVersionWatcher(db_path)
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute(\"UPDATE email_generation_sessions SET job_name = 'renamed'\")\n"
        "c.execute('CREATE TABLE IF NOT EXISTS scratch (x)')\n"
        "c.commit()\n"
    )
    try:
        watcher.changed()
        subprocess.run([sys.executable, "-c", script, str(db_path)], check=True)
        assert watcher.changed() is True
    finally:
        watcher.close()


def test_watcher_survives_unopenable_path(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    watcher = DataVersionWatcher(folder)
    assert watcher.changed() is False
    assert watcher.changed() is False
    watcher.close()


def test_watcher_restarts_after_close(db_path: Path) -> None:
    watcher = DataVersionWatcher(db_path)
    try:
        watcher.changed()
        watcher.close()
        insert_job_row(db_path, "After close")
        # A new connection has a new counter, so the first check only records it.
        assert watcher.changed() is False
        insert_job_row(db_path, "Second")
        assert watcher.changed() is True
    finally:
        watcher.close()


def test_collector_empty_takes_none() -> None:
    collector = JobUpdateCollector()
    assert collector.take() is None


def test_collector_keeps_newest_progress() -> None:
    collector = JobUpdateCollector()
    collector.add(progress(1, 2, (11, 12)))
    collector.add(progress(1, 4, (13, 14)))
    collector.add(progress(2, 1, (21,)))
    updates = collector.take()
    assert updates is not None
    assert updates.progress[1].completed == 4
    assert updates.progress[2].completed == 1
    assert updates.finished_email_ids[1] == frozenset({11, 12, 13, 14})
    assert updates.finished_email_ids[2] == frozenset({21})
    assert updates.changes_job_list is False
    assert collector.take() is None


def test_collector_finished_replaces_progress() -> None:
    collector = JobUpdateCollector()
    collector.add(progress(1, 9, (19,)))
    collector.add(JobFinished(1, "completed", 10, 0, None))
    updates = collector.take()
    assert updates is not None
    assert 1 not in updates.progress
    assert updates.finished_email_ids[1] == frozenset({19})
    assert [event.status for event in updates.finished] == ["completed"]
    assert updates.changed_job_ids == frozenset({1})
    assert updates.changes_job_list is True


def test_collector_changed_and_database() -> None:
    collector = JobUpdateCollector()
    collector.add(JobsChanged((3, 4)))
    collector.note_database_change()
    updates = collector.take()
    assert updates is not None
    assert updates.changed_job_ids == frozenset({3, 4})
    assert updates.database_changed is True
    assert updates.concerns(99) is True
    assert collector.take() is None


def test_updates_concern_only_their_jobs() -> None:
    collector = JobUpdateCollector()
    collector.add(progress(1, 1, (11,)))
    collector.add(JobsChanged((2,)))
    collector.add(JobFinished(3, "failed", 0, 1, "boom"))
    updates = collector.take()
    assert updates is not None
    assert updates.concerns(1) is True
    assert updates.concerns(2) is True
    assert updates.concerns(3) is True
    assert updates.concerns(4) is False
