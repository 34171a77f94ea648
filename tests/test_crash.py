"""A job whose process gets SIGKILL resumes with no lost or repeated emails."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from commjobs_tui.core.engine import JobRunner
from commjobs_tui.db.models import GeneratedEmail
from commjobs_tui.db.store import Store
from tests import fakeapi
from tests.engine_helpers import (
    add_donors,
    assert_counters_agree,
    create_job,
    fake_settings,
    frozen_clock,
)

REPO = Path(__file__).resolve().parent.parent


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll a condition that another process makes true; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def completed_rows(db_path: Path, job_id: int) -> int:
    conn = sqlite3.connect(db_path)
    try:
        row = conn.execute(
            "SELECT count(*) FROM generated_emails WHERE session_id = ? "
            "AND status = 'completed'",
            (job_id,),
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


async def _create_job(db_path: Path, base_url: str) -> int:
    store = Store(db_path)
    try:
        await add_donors(store, 10)
        runner = JobRunner(store, fake_settings(base_url), clock=frozen_clock)
        job = await create_job(runner)
        await runner.aclose()
        return job.id
    finally:
        await store.close()


async def _resume(
    db_path: Path, base_url: str, job_id: int
) -> tuple[list[int], str, int]:
    store = Store(db_path)
    try:
        runner = JobRunner(store, fake_settings(base_url), clock=frozen_clock)
        recovered = await runner.recover()
        interrupted = await runner.service.get_job(job_id)
        assert interrupted.status == "interrupted"
        assert interrupted.completed == 5
        assert interrupted.pending == 5
        result = await runner.run(job_id)
        await runner.aclose()
        await assert_counters_agree(store, job_id)
        async with store.session() as session:
            per_donor = (
                await session.execute(
                    select(GeneratedEmail.donor_id, func.count())
                    .where(GeneratedEmail.session_id == job_id)
                    .group_by(GeneratedEmail.donor_id)
                )
            ).all()
        assert len(per_donor) == 10
        assert all(count == 1 for _, count in per_donor)
        return recovered, result.status, result.completed
    finally:
        await store.close()


def test_sigkill_then_resume(db_path: Path) -> None:
    with fakeapi.FakeChatServer() as server:
        job_id = asyncio.run(_create_job(db_path, server.base_url))
        # The sixth donor's request never returns, so the child is killed mid-job.
        server.add_rule("Donor0005", fakeapi.hang())
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "COMMJOBS_CONCURRENCY": "1",
            "PYTHONPATH": str(REPO),
        }
        command = [sys.executable, "-m", "commjobs_tui", "--db", str(db_path)]
        child = subprocess.Popen(
            [*command, "jobs", "run", str(job_id)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(
                lambda: (
                    completed_rows(db_path, job_id) == 5
                    and len(server.chat_requests) == 6
                )
            )
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert child.returncode == -signal.SIGKILL
        conn = sqlite3.connect(db_path)
        status = conn.execute(
            "SELECT status FROM email_generation_sessions WHERE id = ?", (job_id,)
        ).fetchone()[0]
        conn.close()
        assert status == "running"

        server.add_rule("Donor0005", fakeapi.ok())
        recovered, final_status, completed = asyncio.run(
            _resume(db_path, server.base_url, job_id)
        )
        requests_after = len(server.chat_requests)

    assert recovered == [job_id]
    assert final_status == "completed"
    assert completed == 10
    # Only the five unfinished emails were requested again.
    assert requests_after - 6 == 5


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stop_signal_cancels_and_leaves_job_resumable(
    db_path: Path, signum: signal.Signals
) -> None:
    with fakeapi.FakeChatServer() as server:
        job_id = asyncio.run(_create_job(db_path, server.base_url))
        server.add_rule("Donor0003", fakeapi.hang())
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test-not-a-real-key",
            "COMMJOBS_CONCURRENCY": "1",
            "PYTHONPATH": str(REPO),
        }
        command = [sys.executable, "-m", "commjobs_tui", "--db", str(db_path)]
        child = subprocess.Popen(
            [*command, "jobs", "run", str(job_id)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until(lambda: len(server.chat_requests) == 4)
            child.send_signal(signum)
            _, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        server.release_hangs()

    assert child.returncode == 130
    assert "Traceback" not in err
    assert f"commjobs jobs retry {job_id}" in err
    conn = sqlite3.connect(db_path)
    status, completed, lease = conn.execute(
        "SELECT status, completed_count, lease_owner FROM email_generation_sessions"
        " WHERE id = ?",
        (job_id,),
    ).fetchone()
    statuses = dict(
        conn.execute(
            "SELECT status, count(*) FROM generated_emails WHERE session_id = ?"
            " GROUP BY status",
            (job_id,),
        ).fetchall()
    )
    conn.close()
    assert status == "cancelled"
    assert completed == 3
    assert lease is None
    assert statuses == {"completed": 3, "pending": 7}
