"""The job engine: runs a job's emails in a bounded asyncio pool.

Each email goes pending -> generating -> completed | failed. One writer task writes
results in groups at most FLUSH_SECONDS apart, in the same transaction as the job's
counters and its lease heartbeat. A crash therefore loses at most that much work, and
a process that lost its lease writes nothing more.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import openai
from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from commjobs_tui.core.errors import ConflictError, UserError
from commjobs_tui.core.events import EventBus, JobFinished, JobProgress, JobsChanged
from commjobs_tui.core.jobs import EmailRow, JobService, JobSummary, refresh_counts
from commjobs_tui.core.leases import (
    HEARTBEAT_SECONDS,
    STALE_AFTER_SECONDS,
    LeaseIdentity,
    recover_abandoned_jobs,
)
from commjobs_tui.core.prompt import (
    DonorFacts,
    OrgProfile,
    estimate_prompt_tokens,
    load_donor_facts,
)
from commjobs_tui.core.providers import (
    Draft,
    ErrorKind,
    Provider,
    ProviderError,
    create_client,
    create_provider,
)
from commjobs_tui.core.ratelimit import PoolLimiter, backoff_delay
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.models import EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
FLUSH_MAX_RESULTS = 128
# Consecutive failed writes (the database locked or unwritable) before a job stops.
MAX_WRITE_FAILURES = 20
# Emails that fail to connect, with no success yet, before the job stops as failed.
MAX_UNREACHABLE = 3
# Extra time on top of the client's own timeout before the engine gives up on a call.
TIMEOUT_MARGIN_SECONDS = 5.0
RUNNABLE = ("pending", "paused", "interrupted", "cancelled", "failed")
StopReason = Literal["cancel", "pause", "fatal", "lease_lost", "deleted"]
ProviderFactory = Callable[[Settings, str, str], Provider]


@dataclass(frozen=True)
class _Result:
    email_id: int
    attempts: int
    draft: Draft | None
    error: ProviderError | None
    finished_at: dt.datetime


class _Stop(Exception):
    def __init__(self, reason: StopReason, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message


class _Rate:
    """Emails finished per minute over the last minute, for rate and ETA."""

    def __init__(self) -> None:
        self._stamps: collections.deque[float] = collections.deque()

    def add(self, count: int) -> None:
        now = time.monotonic()
        self._stamps.extend([now] * count)

    def per_minute(self) -> float | None:
        now = time.monotonic()
        while self._stamps and now - self._stamps[0] > 60.0:
            self._stamps.popleft()
        if len(self._stamps) < 2:
            return None
        span = max(now - self._stamps[0], 1.0)
        return len(self._stamps) * 60.0 / span


class _Run:
    """State of one job while this process runs it."""

    def __init__(self, job: EmailGenerationSession, workers: int) -> None:
        self.job_id = job.id
        self.provider = job.provider
        self.model = job.model
        self.instruction = job.instruction
        self.workers = workers
        # The feeder claims emails a few rounds ahead so workers rarely wait on it.
        self.claim_size = max(workers * 4, 32)
        self.queue: asyncio.Queue[tuple[int, DonorFacts] | None] = asyncio.Queue(
            maxsize=self.claim_size
        )
        self.results: asyncio.Queue[_Result] = asyncio.Queue()
        self.stop: _Stop | None = None
        self.stopped = asyncio.Event()
        self.successes = 0
        self.connection_failures = 0
        self.rate = _Rate()

    def request_stop(self, stop: _Stop) -> None:
        if self.stop is None:
            self.stop = stop
        self.stopped.set()


class JobRunner:
    """Runs jobs for one process and owns its providers, limiter and lease identity."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime],
        bus: EventBus | None = None,
        provider_factory: ProviderFactory | None = None,
        identity: LeaseIdentity | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.bus = bus or EventBus()
        self.service = JobService(store, settings, clock)
        self.identity = identity or LeaseIdentity.current()
        self._factory = provider_factory
        self._providers: dict[tuple[str, str], Provider] = {}
        # One AsyncOpenAI client for the whole process, shared by every model.
        self._openai_client: openai.AsyncOpenAI | None = None
        self._limiter: PoolLimiter | None = None
        self._runs: dict[int, _Run] = {}
        self._tasks: dict[int, asyncio.Task[JobSummary]] = {}
        self.org = OrgProfile.from_settings(settings)

    # Public API ------------------------------------------------------------

    async def recover(self) -> list[int]:
        """Mark jobs abandoned by dead processes as interrupted."""
        ids = await recover_abandoned_jobs(self.store, self.identity, self.clock())
        if ids:
            self.bus.publish(JobsChanged(tuple(ids)))
        return ids

    def is_running_here(self, job_id: int) -> bool:
        return job_id in self._runs

    def running_job_ids(self) -> list[int]:
        return sorted(self._runs)

    async def run(self, job_id: int) -> JobSummary:
        """Run a job's pending emails to the end in the current task; return the job.

        Cancelling the task stops the job cleanly as `cancelled`, leaving it resumable.
        """
        job = await self._acquire(job_id)
        return await self._run_acquired(job)

    async def start(self, job_id: int) -> asyncio.Task[JobSummary]:
        """Acquire the job's lease and run it in a background task."""
        if job_id in self._tasks:
            raise ConflictError(f"job {job_id} is already running in this window")
        job = await self._acquire(job_id)
        task = asyncio.create_task(self._run_acquired(job), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))
        return task

    async def cancel(self, job_id: int) -> None:
        """Cancel a job: at once if it runs here or is idle, else ask its process."""
        await self._stop_or_request(job_id, "cancel")

    async def pause(self, job_id: int) -> None:
        await self._stop_or_request(job_id, "pause")

    async def resume(self, job_id: int) -> asyncio.Task[JobSummary]:
        job = await self.service.get_job(job_id)
        if job.status != "paused":
            raise ConflictError(f"job {job_id} is {job.status}, not paused")
        return await self.start(job_id)

    async def retry(
        self,
        job_id: int,
        *,
        full: bool,
        error_kind: str | None = None,
        email_ids: Sequence[int] | None = None,
    ) -> asyncio.Task[JobSummary]:
        """Reset the job's failed (or, with full, all) emails and start it.

        `error_kind` and `email_ids` narrow the reset as in JobService.prepare_retry.
        """
        await self.service.prepare_retry(
            job_id, full=full, error_kind=error_kind, email_ids=email_ids
        )
        self.bus.publish(JobsChanged((job_id,)))
        return await self.start(job_id)

    async def delete(self, job_ids: Sequence[int]) -> int:
        """Delete jobs and their emails, cancelling running ones first.

        A job run by another process is asked to cancel. This waits up to
        STALE_AFTER_SECONDS for it to stop and raises ConflictError if it does not.
        """
        for job_id in job_ids:
            if job_id in self._runs:
                await self._stop_here(job_id, _Stop("deleted"))
        remote = [
            j.id
            for j in await self.service.list_jobs(statuses=["running"])
            if j.id in set(job_ids)
        ]
        for job_id in remote:
            await self.service.request_action(job_id, "cancel")
        if remote:
            await self._wait_until_idle(remote, seconds=STALE_AFTER_SECONDS)
        deleted = await self.service.delete_idle(list(job_ids))
        self.bus.publish(JobsChanged(tuple(job_ids)))
        return deleted

    async def generate_previews(
        self, job_id: int, donor_ids: Sequence[int], instruction: str
    ) -> list[EmailRow]:
        """Draft preview emails for up to three donors with this instruction.

        The instruction becomes the job's, and the attempt is added to its refinement
        history. Preview emails never count towards the job.
        """
        if not 1 <= len(donor_ids) <= 3:
            raise UserError("preview 1 to 3 donors at a time")
        detail = await self.service.update_instruction(job_id, instruction)
        provider = self._provider(detail.provider, detail.model)
        facts = await load_donor_facts(self.store, list(donor_ids))
        missing = [d for d in donor_ids if d not in facts]
        if missing:
            raise UserError(
                f"no donor with id {missing[0]}; choose another preview donor"
            )
        results = await asyncio.gather(
            *(
                self._draft_with_retries(provider, facts[d], detail.instruction)
                for d in donor_ids
            )
        )
        fatal = next((r for r in results if r.error and r.error.fatal_for_job), None)
        if fatal is not None and fatal.error is not None:
            raise UserError(fatal.error.message)
        now = self.clock()
        async with self.store.session() as session, session.begin():
            job = await session.get(EmailGenerationSession, job_id)
            if job is None:
                raise UserError(f"job {job_id} was deleted while previewing")
            ids: list[int] = []
            for donor_id, result in zip(donor_ids, results, strict=True):
                email = await session.scalar(
                    select(GeneratedEmail).where(
                        GeneratedEmail.session_id == job_id,
                        GeneratedEmail.donor_id == donor_id,
                        GeneratedEmail.is_preview.is_(True),
                    )
                )
                if email is None:
                    email = GeneratedEmail(
                        session_id=job_id, donor_id=donor_id, is_preview=True
                    )
                    session.add(email)
                _apply_result(email, result, now)
                await session.flush()
                ids.append(email.id)
            history = list(job.refinement_history or [])
            history.append(
                {
                    "instruction": detail.instruction,
                    "at": now.isoformat(timespec="seconds"),
                    "preview_email_ids": ids,
                }
            )
            job.refinement_history = history
            job.preview_donor_ids = list(donor_ids)
            await refresh_counts(session, job_id)
        rows = await self.service.list_emails(job_id, preview=True, limit=None)
        by_id = {row.id: row for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def aclose(
        self, *, leave_as: Literal["paused", "cancelled"] = "paused"
    ) -> None:
        """Stop every job running here (resumable) and close the providers."""
        for job_id in list(self._runs):
            await self._stop_here(
                job_id, _Stop("pause" if leave_as == "paused" else "cancel")
            )
        for provider in self._providers.values():
            try:
                await provider.aclose()
            except Exception:
                log.exception("closing provider %s failed", provider.name)
        self._providers.clear()
        if self._openai_client is not None:
            await self._openai_client.close()
            self._openai_client = None

    # Lease and lifecycle -----------------------------------------------------

    async def _acquire(self, job_id: int) -> EmailGenerationSession:
        await self.recover()
        now = self.clock()
        me = self.identity
        async with self.store.session() as session, session.begin():
            job = await session.get(EmailGenerationSession, job_id)
            if job is None:
                raise UserError(
                    f"no job with id {job_id}; list jobs with `commjobs jobs list`"
                )
            if job.status == "running":
                where = f"process {job.lease_pid} on {job.lease_host}"
                raise ConflictError(f"job {job_id} is already running ({where})")
            if job.status not in RUNNABLE:
                raise ConflictError(
                    f"job {job_id} is {job.status}; use a full retry "
                    f"(`commjobs jobs retry {job_id} --full`) to draft its "
                    "emails again"
                )
            pending = await session.scalar(
                select(func.count()).where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.is_preview.is_(False),
                    GeneratedEmail.status.in_(("pending", "generating")),
                )
            )
            if not pending:
                hint = (
                    "retry it to draft the failed ones again"
                    if job.failed_count
                    else ("use a full retry to draft them again")
                )
                raise ConflictError(f"job {job_id} has no pending emails; {hint}")
            claimed = await session.execute(
                update(EmailGenerationSession)
                .where(
                    EmailGenerationSession.id == job_id,
                    EmailGenerationSession.status.in_(RUNNABLE),
                    or_(
                        EmailGenerationSession.lease_owner.is_(None),
                        EmailGenerationSession.lease_heartbeat_at
                        < now - dt.timedelta(seconds=STALE_AFTER_SECONDS),
                    ),
                )
                .values(
                    status="running",
                    lease_owner=me.owner,
                    lease_pid=me.pid,
                    lease_host=me.host,
                    lease_heartbeat_at=now,
                    requested_action=None,
                    error_message=None,
                    finished_at=None,
                    started_at=func.coalesce(EmailGenerationSession.started_at, now),
                )
            )
            if getattr(claimed, "rowcount", 0) != 1:
                raise ConflictError(f"job {job_id} was started by another process")
            await session.execute(
                update(GeneratedEmail)
                .where(
                    GeneratedEmail.session_id == job_id,
                    GeneratedEmail.status == "generating",
                )
                .values(status="pending")
            )
            await refresh_counts(session, job_id)
        async with self.store.session() as session:
            acquired = await session.get(EmailGenerationSession, job_id)
            assert acquired is not None
        log.info("job %s started (provider %s)", job_id, acquired.provider)
        self.bus.publish(JobsChanged((job_id,)))
        return acquired

    async def _run_acquired(self, job: EmailGenerationSession) -> JobSummary:
        concurrency = min(job.concurrency or self.settings.concurrency, 256)
        run = _Run(job, workers=concurrency)
        self.limiter().ensure_capacity(concurrency)
        self._runs[job.id] = run
        try:
            provider = self._provider(job.provider, job.model)
        except UserError as exc:
            run.request_stop(_Stop("fatal", str(exc)))
            return await self._finish(run)
        writer = asyncio.create_task(self._writer(run), name=f"job-{job.id}-writer")
        feeder = asyncio.create_task(self._feeder(run), name=f"job-{job.id}-feeder")
        workers = [
            asyncio.create_task(self._worker(run, provider), name=f"job-{job.id}-w{i}")
            for i in range(run.workers)
        ]
        try:
            done_waiter = asyncio.gather(feeder, *workers)
            stop_waiter = asyncio.ensure_future(run.stopped.wait())
            waiters: set[asyncio.Future[Any]] = {done_waiter, stop_waiter}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            stop_waiter.cancel()
            if run.stop is not None:
                await _cancel_all([feeder, *workers])
                await asyncio.wait({done_waiter})
                if not done_waiter.cancelled():
                    done_waiter.exception()
            else:
                await done_waiter
        except asyncio.CancelledError:
            run.request_stop(_Stop("cancel"))
            await _cancel_all([feeder, *workers])
            await self._close_writer(run, writer)
            await self._finish(run)
            raise
        except Exception as exc:
            log.exception("job %s stopped by an unexpected error", job.id)
            run.request_stop(
                _Stop("fatal", f"internal error: {type(exc).__name__}: {exc}")
            )
            await _cancel_all([feeder, *workers])
        await self._close_writer(run, writer)
        return await self._finish(run)

    async def _close_writer(self, run: _Run, writer: asyncio.Task[None]) -> None:
        await run.results.put(_SENTINEL)
        try:
            await asyncio.shield(writer)
        except _Stop as stop:
            run.request_stop(stop)
        except asyncio.CancelledError:
            await writer

    async def _finish(self, run: _Run) -> JobSummary:
        """Release the lease and set the job's final status from its emails."""
        self._runs.pop(run.job_id, None)
        now = self.clock()
        stop = run.stop
        async with self.store.session() as session, session.begin():
            job = await session.get(EmailGenerationSession, run.job_id)
            owned = job is not None and job.lease_owner == self.identity.owner
            if job is not None and owned:
                await session.execute(
                    update(GeneratedEmail)
                    .where(
                        GeneratedEmail.session_id == run.job_id,
                        GeneratedEmail.status == "generating",
                    )
                    .values(status="pending")
                )
                total, completed, failed = await refresh_counts(session, run.job_id)
                _set_final_status(job, stop, total, completed, failed, now)
                status, error = job.status, job.error_message
        if not owned:
            # Deleted, or declared interrupted and taken over by another process.
            log.info("job %s was deleted or taken over; stopped writing", run.job_id)
            self.bus.publish(JobsChanged((run.job_id,)))
            return await self.service.get_job(run.job_id)
        log.info(
            "job %s finished: %s (%d done, %d failed)",
            run.job_id,
            status,
            completed,
            failed,
        )
        self.bus.publish(JobFinished(run.job_id, status, completed, failed, error))
        return await self.service.get_job(run.job_id)

    async def _stop_or_request(
        self, job_id: int, action: Literal["cancel", "pause"]
    ) -> None:
        if job_id in self._runs:
            await self._stop_here(job_id, _Stop(action))
            return
        job = await self.service.get_job(job_id)
        if job.status == "running":
            await self.service.request_action(job_id, action)
        elif action == "cancel":
            await self.service.cancel_idle(job_id)
        else:
            await self.service.pause_idle(job_id)
        self.bus.publish(JobsChanged((job_id,)))

    async def _stop_here(self, job_id: int, stop: _Stop) -> None:
        run = self._runs.get(job_id)
        task = self._tasks.get(job_id)
        if run is None:
            return
        run.request_stop(stop)
        if task is not None:
            try:
                await asyncio.shield(task)
            except Exception:
                log.debug("job %s task ended with an error after stop", job_id)

    async def _wait_until_idle(self, job_ids: Sequence[int], *, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            still = [
                j.id
                for j in await self.service.list_jobs(statuses=["running"])
                if j.id in job_ids
            ]
            if not still:
                return
            if time.monotonic() > deadline:
                raise ConflictError(
                    f"job {still[0]} is still running in another process; try again "
                    "when it has stopped"
                )
            await asyncio.sleep(HEARTBEAT_SECONDS / 4)

    # Workers -------------------------------------------------------------------

    def _provider(self, name: str, model: str) -> Provider:
        key = (name, model)
        if key not in self._providers:
            if self._factory is not None:
                self._providers[key] = self._factory(self.settings, name, model)
            else:
                if name == "openai" and self._openai_client is None:
                    self._openai_client = create_client(self.settings)
                self._providers[key] = create_provider(
                    self.settings,
                    provider=name,
                    model=model,
                    client=self._openai_client if name == "openai" else None,
                )
        return self._providers[key]

    def limiter(self) -> PoolLimiter:
        # Created lazily so that its asyncio primitives belong to the running loop.
        if self._limiter is None:
            self._limiter = PoolLimiter(
                concurrency=self.settings.concurrency,
                requests_per_minute=self.settings.requests_per_minute,
                tokens_per_minute=self.settings.tokens_per_minute,
            )
        return self._limiter

    async def _feeder(self, run: _Run) -> None:
        """Claim pending emails in chunks, mark them generating and queue them."""
        chunk = run.claim_size
        while run.stop is None:
            now = self.clock()
            async with self.store.session() as session, session.begin():
                rows = (
                    await session.execute(
                        select(GeneratedEmail.id, GeneratedEmail.donor_id)
                        .where(
                            GeneratedEmail.session_id == run.job_id,
                            GeneratedEmail.is_preview.is_(False),
                            GeneratedEmail.status == "pending",
                        )
                        .order_by(GeneratedEmail.id)
                        .limit(chunk)
                    )
                ).all()
                if not rows:
                    break
                await session.execute(
                    update(GeneratedEmail)
                    .where(GeneratedEmail.id.in_([r[0] for r in rows]))
                    .values(status="generating", updated_at=now)
                )
            facts = await load_donor_facts(self.store, [r[1] for r in rows])
            for email_id, donor_id in rows:
                donor = facts.get(donor_id)
                if donor is None:
                    # The donor was deleted after the job was created.
                    continue
                await run.queue.put((email_id, donor))
        for _ in range(run.workers):
            await run.queue.put(None)

    async def _worker(self, run: _Run, provider: Provider) -> None:
        while run.stop is None:
            item = await run.queue.get()
            if item is None:
                return
            email_id, facts = item
            result = await self._draft_with_retries(
                provider, facts, run.instruction, run.stopped, email_id
            )
            error = result.error
            if error is not None and error.fatal_for_job:
                run.request_stop(_Stop("fatal", error.message))
                return
            if error is not None:
                log.info(
                    "job %s email %s failed after %d attempts (%s)",
                    run.job_id,
                    email_id,
                    result.attempts,
                    error.kind,
                )
            if result.draft is not None:
                run.successes += 1
            elif error is not None and error.kind == ErrorKind.CONNECTION:
                run.connection_failures += 1
                if run.successes == 0 and run.connection_failures >= MAX_UNREACHABLE:
                    # Nothing has ever got through: every other email would fail
                    # the same way after all its retries.
                    run.request_stop(_Stop("fatal", error.message))
            await run.results.put(result)

    async def _draft_with_retries(
        self,
        provider: Provider,
        facts: DonorFacts,
        instruction: str,
        stopped: asyncio.Event | None = None,
        email_id: int = 0,
    ) -> _Result:
        """Draft one email, retrying transient errors with backoff.

        Returns a result holding either the draft or the last error; `stopped` cuts
        a backoff wait short when the job is being stopped.
        """
        # The offline provider sends nothing, so API rate limits do not apply.
        limiter = None if provider.name == "offline" else self.limiter()
        estimate = estimate_prompt_tokens(facts, instruction, self.org) + 600
        timeout = self.settings.request_timeout + TIMEOUT_MARGIN_SECONDS
        attempts = 0
        while True:
            attempts += 1
            if limiter is not None:
                await limiter.acquire(estimate)
            error: ProviderError | None = None
            draft: Draft | None = None
            try:
                draft = await asyncio.wait_for(
                    provider.draft(facts, instruction, self.org), timeout
                )
            except ProviderError as exc:
                error = exc
            except TimeoutError:
                message = f"no reply within {timeout:.0f} s"
                error = ProviderError(ErrorKind.TIMEOUT, message, transient=True)
            finally:
                if limiter is not None:
                    await limiter.release(success=error is None)
            if draft is not None:
                return _Result(email_id, attempts, draft, None, self.clock())
            assert error is not None
            if error.kind == ErrorKind.RATE_LIMITED and limiter is not None:
                limiter.slow_down(error.retry_after)
            if stopped is not None and stopped.is_set() and error.transient:
                # The job is stopping: this email goes back to pending, not failed.
                return _Result(email_id, attempts, None, None, self.clock())
            give_up = (
                error.fatal_for_job
                or not error.transient
                or attempts >= self.settings.max_attempts
            )
            if give_up:
                return _Result(email_id, attempts, None, error, self.clock())
            log.info(
                "email %s attempt %d failed (%s); retrying",
                email_id,
                attempts,
                error.kind,
            )
            delay = backoff_delay(attempts, retry_after=error.retry_after)
            if stopped is None:
                await asyncio.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), delay)
            if stopped.is_set():
                return _Result(email_id, attempts, None, None, self.clock())

    # Writer ----------------------------------------------------------------------

    async def _writer(self, run: _Run) -> None:
        """Write results in groups, heartbeat the lease and act on requested actions."""
        last_beat = 0.0
        closing = False
        failures = 0
        unwritten: list[_Result] = []
        while not closing or unwritten:
            batch: list[_Result] = []
            try:
                first = await asyncio.wait_for(run.results.get(), FLUSH_SECONDS)
                if first is _SENTINEL:
                    closing = True
                else:
                    batch.append(first)
            except TimeoutError:
                pass
            deadline = time.monotonic() + FLUSH_SECONDS
            while not closing and len(batch) < FLUSH_MAX_RESULTS:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(run.results.get(), remaining)
                except TimeoutError:
                    break
                if item is _SENTINEL:
                    closing = True
                else:
                    batch.append(item)
            unwritten.extend(batch)
            now_mono = time.monotonic()
            if unwritten or closing or now_mono - last_beat >= HEARTBEAT_SECONDS:
                try:
                    await self._flush(run, unwritten)
                except SQLAlchemyError as exc:
                    failures += 1
                    log.warning("job %s: writing results failed (%s)", run.job_id, exc)
                    if failures >= MAX_WRITE_FAILURES:
                        run.request_stop(
                            _Stop("fatal", f"cannot write to the database: {exc}")
                        )
                        return
                    continue
                failures = 0
                unwritten = []
                last_beat = now_mono

    async def _flush(self, run: _Run, batch: list[_Result]) -> None:
        now = self.clock()
        async with self.store.session() as session, session.begin():
            beat = await session.execute(
                update(EmailGenerationSession)
                .where(
                    EmailGenerationSession.id == run.job_id,
                    EmailGenerationSession.lease_owner == self.identity.owner,
                )
                .values(lease_heartbeat_at=now)
            )
            if getattr(beat, "rowcount", 0) != 1:
                exists = await session.get(EmailGenerationSession, run.job_id)
                reason: StopReason = "lease_lost" if exists is not None else "deleted"
                run.request_stop(_Stop(reason))
                return
            await _write_results(session, batch, now)
            total, completed, failed = await refresh_counts(session, run.job_id)
            action = await session.scalar(
                select(EmailGenerationSession.requested_action).where(
                    EmailGenerationSession.id == run.job_id
                )
            )
        if action == "cancel" and run.stop is None:
            run.request_stop(_Stop("cancel"))
        elif action == "pause" and run.stop is None:
            run.request_stop(_Stop("pause"))
        run.rate.add(len(batch))
        rate = run.rate.per_minute()
        pending = total - completed - failed
        eta = pending / rate * 60.0 if rate else None
        self.bus.publish(
            JobProgress(
                job_id=run.job_id,
                status="running",
                total=total,
                completed=completed,
                failed=failed,
                pending=pending,
                rate_per_minute=rate,
                eta_seconds=eta,
                finished_email_ids=tuple(r.email_id for r in batch),
                at=now,
            )
        )


def _set_final_status(
    job: EmailGenerationSession,
    stop: _Stop | None,
    total: int,
    completed: int,
    failed: int,
    now: dt.datetime,
) -> None:
    pending = total - completed - failed
    if stop is None:
        job.status = "failed" if failed or pending else "completed"
        job.error_message = (
            f"{failed} of {total} emails failed; retry them to draft them again"
            if failed
            else None
        )
    elif stop.reason == "pause":
        job.status = "paused"
    elif stop.reason in ("cancel", "deleted"):
        job.status = "cancelled"
    else:
        job.status = "failed"
        job.error_message = stop.message
    if job.status != "paused":
        job.finished_at = now
    job.lease_owner = None
    job.lease_pid = None
    job.lease_host = None
    job.lease_heartbeat_at = None
    job.requested_action = None


_SENTINEL = _Result(0, 0, None, None, dt.datetime.min)


_table = cast(Table, GeneratedEmail.__table__)
# One executemany per outcome: ORM unit-of-work per email cost more event-loop
# time than the HTTP requests themselves at high throughput.
_WRITE_COMPLETED = (
    update(_table)
    .where(_table.c.id == bindparam("b_id"))
    .values(
        status="completed",
        subject=bindparam("b_subject"),
        body=bindparam("b_body"),
        prompt_tokens=bindparam("b_prompt"),
        completion_tokens=bindparam("b_completion"),
        generated_at=bindparam("b_at"),
        attempts=_table.c.attempts + bindparam("b_attempts"),
        last_error=None,
        error_kind=None,
        # A new draft has not been sent, whatever happened to the old one.
        sent_at=None,
        updated_at=bindparam("b_now"),
    )
)
_WRITE_FAILED = (
    update(_table)
    .where(_table.c.id == bindparam("b_id"))
    .values(
        status="failed",
        error_kind=bindparam("b_kind"),
        last_error=bindparam("b_error"),
        attempts=_table.c.attempts + bindparam("b_attempts"),
        updated_at=bindparam("b_now"),
    )
)


async def _write_results(
    session: AsyncSession, batch: Sequence[_Result], now: dt.datetime
) -> None:
    completed = [
        {
            "b_id": r.email_id,
            "b_subject": r.draft.subject,
            "b_body": r.draft.body,
            "b_prompt": r.draft.prompt_tokens,
            "b_completion": r.draft.completion_tokens,
            "b_at": r.finished_at,
            "b_attempts": r.attempts,
            "b_now": now,
        }
        for r in batch
        if r.draft is not None
    ]
    failed = [
        {
            "b_id": r.email_id,
            "b_kind": str(r.error.kind),
            "b_error": r.error.message,
            "b_attempts": r.attempts,
            "b_now": now,
        }
        for r in batch
        if r.draft is None and r.error is not None
    ]
    if completed:
        await session.execute(_WRITE_COMPLETED, completed)
    if failed:
        await session.execute(_WRITE_FAILED, failed)


def _apply_result(email: GeneratedEmail, result: _Result, now: dt.datetime) -> None:
    email.attempts = (email.attempts or 0) + result.attempts
    email.updated_at = now
    if result.draft is not None:
        email.status = "completed"
        email.subject = result.draft.subject
        email.body = result.draft.body
        email.prompt_tokens = result.draft.prompt_tokens
        email.completion_tokens = result.draft.completion_tokens
        email.generated_at = result.finished_at
        email.last_error = None
        email.error_kind = None
    elif result.error is not None:
        email.status = "failed"
        email.error_kind = str(result.error.kind)
        email.last_error = result.error.message


async def _cancel_all(
    tasks: Sequence[asyncio.Task[None] | asyncio.Future[None]],
) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
