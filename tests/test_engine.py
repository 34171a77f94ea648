"""The job engine against a real chat-completions server through the openai client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.errors import ConflictError
from commjobs_tui.core.events import JobEvent, JobFinished, JobProgress
from commjobs_tui.core.leases import LeaseIdentity
from commjobs_tui.db.models import GeneratedEmail
from commjobs_tui.db.store import Store
from tests import fakeapi
from tests.engine_helpers import (
    add_donors,
    assert_counters_agree,
    create_job,
    email_status_counts,
    fake_settings,
    frozen_clock,
    progress_waiter,
)


@pytest.fixture
def server() -> fakeapi.FakeChatServer:
    with fakeapi.FakeChatServer() as running:
        yield running


def make_runner(
    store: Store, server: fakeapi.FakeChatServer, **settings: object
) -> JobRunner:
    return JobRunner(
        store, fake_settings(server.base_url, **settings), clock=frozen_clock
    )


async def emails(store: Store, job_id: int) -> list[GeneratedEmail]:
    async with store.session() as session:
        query = (
            select(GeneratedEmail)
            .where(GeneratedEmail.session_id == job_id)
            .order_by(GeneratedEmail.id)
        )
        return list((await session.scalars(query)).all())


async def test_job_completes_every_email(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 12, without_email=2, do_not_contact=1)
    runner = make_runner(store, server)
    job = await create_job(runner)
    assert job.total == 12
    assert job.skipped == 3

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "completed"
    assert result.completed == 12
    assert result.failed == 0
    assert len(server.chat_requests) == 12
    rows = await emails(store, job.id)
    assert all(row.status == "completed" for row in rows)
    assert all(row.attempts == 1 for row in rows)
    assert all(row.subject and row.body for row in rows)
    assert result.prompt_tokens == sum(row.prompt_tokens for row in rows)
    assert result.prompt_tokens > 0
    await assert_counters_agree(store, job.id)


async def test_request_carries_schema_and_key(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 1)
    runner = make_runner(store, server)
    job = await create_job(runner)
    await runner.run(job.id)
    await runner.aclose()

    request = server.chat_requests[0]
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.headers.get("authorization") == "Bearer sk-test-not-a-real-key"


async def test_rate_limit_holds_whole_pool(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 6)
    server.enqueue(fakeapi.rate_limited(retry_after=0.4))
    runner = make_runner(store, server, concurrency=1)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "completed"
    requests = server.chat_requests
    assert len(requests) == 7
    # No request of any email went out before the Retry-After had passed.
    gap = requests[1].time - requests[0].time
    assert gap >= 0.35
    rows = await emails(store, job.id)
    assert sorted(row.attempts for row in rows) == [1, 1, 1, 1, 1, 2]


async def test_server_errors_are_retried(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 3)
    server.enqueue(fakeapi.server_error(500), fakeapi.server_error(503))
    runner = make_runner(store, server, concurrency=1)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "completed"
    rows = await emails(store, job.id)
    assert rows[0].attempts == 3
    assert rows[0].status == "completed"


async def test_hung_request_times_out_and_fails(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 3)
    server.add_rule("Donor0001", fakeapi.hang())
    runner = make_runner(store, server, request_timeout=0.3, max_attempts=2)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "failed"
    assert result.completed == 2
    assert result.failed == 1
    failed = [row for row in await emails(store, job.id) if row.status == "failed"]
    assert len(failed) == 1
    assert failed[0].error_kind == "timeout"
    assert failed[0].attempts == 2
    assert result.error is not None
    assert "1 of 3 emails failed" in result.error
    await assert_counters_agree(store, job.id)


async def test_malformed_reply_is_retried(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 2)
    server.add_rule("Donor0000", fakeapi.malformed(), fakeapi.ok())
    runner = make_runner(store, server)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "completed"
    rows = await emails(store, job.id)
    assert rows[0].attempts == 2


async def test_always_malformed_fails_with_kind(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 2)
    server.add_rule("Donor0000", fakeapi.malformed())
    runner = make_runner(store, server, max_attempts=3)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.failed == 1
    rows = await emails(store, job.id)
    assert rows[0].error_kind == "malformed"
    assert rows[0].attempts == 3


async def test_refusal_is_not_retried(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 2)
    server.add_rule("Donor0000", fakeapi.refusal())
    runner = make_runner(store, server)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "failed"
    rows = await emails(store, job.id)
    assert rows[0].status == "failed"
    assert rows[0].error_kind == "refused"
    assert rows[0].attempts == 1
    assert rows[1].status == "completed"


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [(fakeapi.invalid_key, "OPENAI_API_KEY"), (fakeapi.quota, "quota")],
)
async def test_fatal_error_stops_job_at_once(
    store: Store, server: fakeapi.FakeChatServer, behaviour: object, words: str
) -> None:
    await add_donors(store, 40)
    server.add_rule("Donor", behaviour())  # type: ignore[operator]
    runner = make_runner(store, server, concurrency=2)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "failed"
    assert result.error is not None
    assert words.lower() in result.error.lower()
    # The job stopped after the requests already in flight, not after 40.
    assert len(server.chat_requests) <= 2
    counts = await email_status_counts(store, job.id)
    assert counts == {"pending": 40}
    await assert_counters_agree(store, job.id)


async def test_cancel_then_partial_retry(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 20)
    server.set_latency(0.05)
    runner = make_runner(store, server, concurrency=2)
    job = await create_job(runner)
    reached, on_event = progress_waiter(job.id, lambda p: p.completed >= 4)
    runner.bus.subscribe(on_event)

    task = await runner.start(job.id)
    await reached.wait()
    await runner.cancel(job.id)
    cancelled = await task

    assert cancelled.status == "cancelled"
    assert 4 <= cancelled.completed < 20
    await assert_counters_agree(store, job.id)
    counts = await email_status_counts(store, job.id)
    assert "generating" not in counts
    before = {
        row.id: row.subject
        for row in await emails(store, job.id)
        if row.status == "completed"
    }
    sent_before = len(server.chat_requests)

    retried = await (await runner.retry(job.id, full=False))
    await runner.aclose()

    assert retried.status == "completed"
    assert retried.completed == 20
    after = {row.id: row.subject for row in await emails(store, job.id)}
    assert all(after[email_id] == subject for email_id, subject in before.items())
    assert len(server.chat_requests) - sent_before == 20 - len(before)


async def test_full_retry_drafts_everything_again(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 5)
    server.add_rule("Donor0002", fakeapi.refusal())
    runner = make_runner(store, server)
    job = await create_job(runner)
    first = await runner.run(job.id)
    assert first.failed == 1
    server.add_rule("Donor0002", fakeapi.ok())
    server_rules_reset = len(server.chat_requests)

    await runner.service.prepare_retry(job.id, full=True)
    second = await runner.run(job.id)
    await runner.aclose()

    assert second.status == "completed"
    assert len(server.chat_requests) - server_rules_reset == 5
    await assert_counters_agree(store, job.id)


async def test_partial_retry_without_failures_is_rejected(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 2)
    runner = make_runner(store, server)
    job = await create_job(runner)
    await runner.run(job.id)
    with pytest.raises(ConflictError, match="no failed emails"):
        await runner.service.prepare_retry(job.id, full=False)
    await runner.aclose()


async def test_second_process_cannot_run_same_job(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 6)
    server.set_latency(0.05)
    first = make_runner(store, server, concurrency=1)
    job = await create_job(first)
    reached, on_event = progress_waiter(job.id, lambda p: p.completed >= 1)
    first.bus.subscribe(on_event)
    task = await first.start(job.id)
    await reached.wait()

    other = JobRunner(
        store,
        fake_settings(server.base_url),
        clock=frozen_clock,
        identity=LeaseIdentity(owner="elsewhere:1:x", pid=1, host="elsewhere"),
    )
    with pytest.raises(ConflictError, match="already running"):
        await other.run(job.id)

    await task
    await first.aclose()
    await other.aclose()


async def test_delete_while_running(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 30)
    server.set_latency(0.02)
    runner = make_runner(store, server, concurrency=3)
    job = await create_job(runner)
    reached, on_event = progress_waiter(job.id, lambda p: p.completed >= 3)
    runner.bus.subscribe(on_event)
    await runner.start(job.id)
    await reached.wait()

    deleted = await runner.delete([job.id])
    await runner.aclose()

    assert deleted == 30
    assert await runner.service.count_jobs() == 0
    assert await emails(store, job.id) == []


async def test_pause_and_resume(store: Store, server: fakeapi.FakeChatServer) -> None:
    await add_donors(store, 10)
    server.set_latency(0.03)
    runner = make_runner(store, server, concurrency=1)
    job = await create_job(runner)
    reached, on_event = progress_waiter(job.id, lambda p: p.completed >= 2)
    runner.bus.subscribe(on_event)
    task = await runner.start(job.id)
    await reached.wait()

    await runner.pause(job.id)
    paused = await task
    assert paused.status == "paused"
    assert paused.finished_at is None

    resumed = await (await runner.resume(job.id))
    await runner.aclose()
    assert resumed.status == "completed"
    assert resumed.completed == 10
    # Pausing abandons the one request in flight, so at most one email is asked twice.
    assert 10 <= len(server.chat_requests) <= 11


async def test_progress_events_are_throttled(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 60)
    runner = make_runner(store, server, concurrency=8)
    job = await create_job(runner)
    seen: list[JobEvent] = []
    runner.bus.subscribe(seen.append)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await runner.run(job.id)
    elapsed = loop.time() - started
    await runner.aclose()

    progress = [e for e in seen if isinstance(e, JobProgress)]
    finished = [e for e in seen if isinstance(e, JobFinished)]
    assert len(finished) == 1
    assert finished[0].status == "completed"
    assert len(progress) <= elapsed * 10 + 2
    reported = {i for event in progress for i in event.finished_email_ids}
    assert len(reported) == 60


async def test_offline_provider_needs_no_server(store: Store, tmp_path: Path) -> None:
    await add_donors(store, 4)
    runner = JobRunner(
        store, fake_settings("http://127.0.0.1:9/v1"), clock=frozen_clock
    )
    job = await create_job(runner, provider="offline")

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "completed"
    rows = await emails(store, job.id)
    assert all("Donor" in (row.body or "") for row in rows)


async def test_retry_one_error_kind(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 4)
    server.add_rule("Donor0001", fakeapi.refusal())
    server.add_rule("Donor0002", fakeapi.bad_request())
    runner = make_runner(store, server)
    job = await create_job(runner)
    first = await runner.run(job.id)
    assert first.error_kinds == {"refused": 1, "bad_request": 1}
    server.add_rule("Donor0001", fakeapi.ok())
    sent_before = len(server.chat_requests)

    second = await (await runner.retry(job.id, full=False, error_kind="refused"))
    await runner.aclose()

    assert len(server.chat_requests) - sent_before == 1
    assert second.completed == 3
    assert second.failed == 1
    assert second.error_kinds == {"bad_request": 1}


async def test_regenerate_single_email(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 3)
    runner = make_runner(store, server)
    job = await create_job(runner)
    await runner.run(job.id)
    target = (await emails(store, job.id))[1]
    sent_before = len(server.chat_requests)

    result = await (await runner.retry(job.id, full=True, email_ids=[target.id]))
    await runner.aclose()

    assert result.status == "completed"
    assert len(server.chat_requests) - sent_before == 1
    body = server.chat_requests[-1].message_text
    assert "Donor0001" in body


async def test_one_client_for_all_models(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    runner = make_runner(store, server)
    first = runner._provider("openai", "model-a")
    second = runner._provider("openai", "model-b")
    assert first is not second
    assert first._client is second._client  # type: ignore[attr-defined]
    await runner.aclose()
    assert first._client.is_closed()  # type: ignore[attr-defined]


async def test_offline_provider_ignores_rate_limits(store: Store) -> None:
    await add_donors(store, 20)
    settings = fake_settings(
        "http://127.0.0.1:9/v1", requests_per_minute=1, tokens_per_minute=100
    )
    runner = JobRunner(store, settings, clock=frozen_clock)
    job = await create_job(runner, provider="offline")

    # With the API limits applied, 20 requests at one a minute would take 19 minutes.
    result = await asyncio.wait_for(runner.run(job.id), 60)
    await runner.aclose()

    assert result.completed == 20


async def test_unreachable_server_stops_job(store: Store) -> None:
    await add_donors(store, 12)
    # Nothing listens on the discard port of the loopback address.
    settings = fake_settings("http://127.0.0.1:9/v1", max_attempts=2, concurrency=2)
    runner = JobRunner(store, settings, clock=frozen_clock)
    job = await create_job(runner)

    result = await runner.run(job.id)
    await runner.aclose()

    assert result.status == "failed"
    assert result.error is not None
    assert "cannot connect" in result.error
    assert result.failed <= 4
    assert result.pending >= 8
    await assert_counters_agree(store, job.id)


async def test_cancel_during_backoff_keeps_email_pending(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 2)
    server.add_rule("Donor0001", fakeapi.server_error(503))
    runner = make_runner(store, server, concurrency=2, max_attempts=10)
    job = await create_job(runner)
    reached, on_event = progress_waiter(job.id, lambda p: p.completed >= 1)
    runner.bus.subscribe(on_event)
    task = await runner.start(job.id)
    await reached.wait()
    await asyncio.to_thread(server.wait_for_requests, 3)

    await runner.cancel(job.id)
    cancelled = await task
    await runner.aclose()

    assert cancelled.status == "cancelled"
    assert cancelled.failed == 0
    counts = await email_status_counts(store, job.id)
    assert counts == {"completed": 1, "pending": 1}


async def test_failed_redraft_keeps_old_draft(
    store: Store, server: fakeapi.FakeChatServer
) -> None:
    await add_donors(store, 2)
    runner = make_runner(store, server)
    job = await create_job(runner)
    await runner.run(job.id)
    target = (await emails(store, job.id))[0]
    server.add_rule("Donor0000", fakeapi.refusal())

    result = await (await runner.retry(job.id, full=True, email_ids=[target.id]))
    await runner.aclose()

    after = next(e for e in await emails(store, job.id) if e.id == target.id)
    assert result.failed == 1
    assert after.status == "failed"
    assert after.subject == target.subject
    assert after.body == target.body
