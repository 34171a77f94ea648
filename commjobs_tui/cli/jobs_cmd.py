"""`commjobs jobs ...`: create, run and manage communication jobs headless."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from commjobs_tui.cli.progress import ProgressLine
from commjobs_tui.cli.runtime import Runtime
from commjobs_tui.core.context import system_clock
from commjobs_tui.core.errors import UserError
from commjobs_tui.core.jobs import JOB_STATUSES, DonorSelection, JobDetail, JobSummary

if TYPE_CHECKING:
    from commjobs_tui.core.engine import JobRunner

T = TypeVar("T")


def register(
    commands: Any, add_common: Callable[[argparse.ArgumentParser], None]
) -> None:
    jobs = commands.add_parser("jobs", help="create, run and manage communication jobs")
    sub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="create a job for a selection of donors")
    create.add_argument(
        "--name", required=True, help="job name, at most 255 characters"
    )
    text = create.add_mutually_exclusive_group(required=True)
    text.add_argument(
        "--instructions", metavar="TEXT", help="what the emails should do"
    )
    text.add_argument(
        "--instructions-file",
        metavar="FILE",
        type=Path,
        help="read the instructions from FILE",
    )
    create.add_argument(
        "--donors",
        default="all",
        metavar="all|ID,ID,...",
        help="donors to write to (default: all); donors without email are left out",
    )
    create.add_argument(
        "--provider", choices=("offline", "openai"), help="model provider"
    )
    create.add_argument("--model", help="model name (openai provider)")
    create.add_argument(
        "--concurrency", type=int, metavar="N", help="requests in flight (default 8)"
    )
    create.add_argument("--run", action="store_true", help="run the job now")
    create.set_defaults(handler=_create)

    for name, helptext, handler in (
        ("run", "run a job's pending emails (resumes an interrupted job)", _run),
        ("cancel", "cancel a job; it stays resumable with retry", _cancel),
        ("pause", "pause a running or pending job", _pause),
        ("resume", "resume a paused job and run it", _resume),
    ):
        parser = sub.add_parser(name, help=helptext)
        parser.add_argument("job_id", type=int, metavar="ID")
        parser.set_defaults(handler=handler)
        add_common(parser)

    retry = sub.add_parser(
        "retry", help="draft the job's failed and unfinished emails again, then run it"
    )
    retry.add_argument("job_id", type=int, metavar="ID")
    retry.add_argument(
        "--full",
        action="store_true",
        help="discard every email of the job and redo all",
    )
    retry.set_defaults(handler=_retry)

    delete = sub.add_parser("delete", help="delete a job and all its emails")
    delete.add_argument("job_id", type=int, metavar="ID")
    delete.add_argument("--yes", action="store_true", help="confirm the deletion")
    delete.set_defaults(handler=_delete)

    lst = sub.add_parser("list", help="list jobs, newest first")
    lst.add_argument(
        "--status", choices=JOB_STATUSES, help="only jobs with this status"
    )
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.set_defaults(handler=_list)

    show = sub.add_parser("show", help="show one job")
    show.add_argument("job_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(handler=_show)

    export = sub.add_parser("export", help="write a job's completed emails to a file")
    export.add_argument("job_id", type=int, metavar="ID")
    export.add_argument(
        "--format", required=True, choices=("csv", "jsonl", "eml", "mbox"), dest="fmt"
    )
    export.add_argument(
        "--out", required=True, type=Path, help="output file (a folder for eml)"
    )
    export.set_defaults(handler=_export)

    for parser in (create, retry, delete, lst, show, export):
        add_common(parser)


def _with_runner(
    args: argparse.Namespace,
    runtime: Runtime,
    work: Callable[[JobRunner], Awaitable[T]],
    *,
    concurrency: int | None = None,
) -> T:
    settings = runtime.loaded.settings
    if concurrency is not None:
        settings = settings.model_copy(update={"concurrency": concurrency})
    store = runtime.open_store()

    async def go() -> T:
        from commjobs_tui.core.engine import JobRunner

        # SIGTERM stops a run the way Ctrl-C does: cancelled and resumable.
        task = asyncio.current_task()
        if task is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(
                    signal.SIGTERM, task.cancel
                )
        runner = JobRunner(store, settings, clock=system_clock)
        try:
            await runner.recover()
            return await work(runner)
        finally:
            await runner.aclose(leave_as="cancelled")
            await store.close()

    try:
        return asyncio.run(go())
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


async def _run_with_progress(runner: JobRunner, job_id: int) -> JobSummary:
    line = ProgressLine(job_id)
    unsubscribe = runner.bus.subscribe(line)
    try:
        return await runner.run(job_id)
    finally:
        unsubscribe()
        line.close()


def _run_and_report(
    args: argparse.Namespace,
    runtime: Runtime,
    prepare: Callable[[JobRunner], Awaitable[int]],
    concurrency: int | None = None,
) -> int:
    job_id_box: list[int] = []

    async def work(runner: JobRunner) -> JobSummary:
        job_id = await prepare(runner)
        job_id_box.append(job_id)
        return await _run_with_progress(runner, job_id)

    try:
        summary = _with_runner(args, runtime, work, concurrency=concurrency)
    except KeyboardInterrupt:
        if job_id_box:
            print(
                f"cancelled job {job_id_box[0]}; resume it with "
                f"`commjobs jobs retry {job_id_box[0]}`",
                file=sys.stderr,
            )
        raise
    _print_outcome(summary)
    return 0 if summary.status == "completed" else 1


def _print_outcome(job: JobSummary) -> None:
    print(
        f"job {job.id} {job.name!r}: {job.status}; {job.completed} completed, "
        f"{job.failed} failed, {job.pending} pending, {job.skipped} left out"
    )
    if job.error:
        print(f"  {job.error}")


def _read_instructions(args: argparse.Namespace) -> str:
    if args.instructions is not None:
        return str(args.instructions)
    path: Path = args.instructions_file.expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"instructions file {path} not found; check the path") from None
    except IsADirectoryError:
        raise UserError(
            f"instructions file {path} is a folder; name a text file"
        ) from None
    except UnicodeDecodeError:
        raise UserError(
            f"instructions file {path} is not UTF-8 text; save it as UTF-8"
        ) from None
    except OSError as exc:
        raise UserError(
            f"cannot read instructions file {path}: {exc.strerror}"
        ) from None


def parse_donor_selection(raw: str) -> DonorSelection:
    text = raw.strip()
    if text.lower() == "all":
        return DonorSelection(kind="all")
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise UserError(
                f"--donors: {part!r} is not a donor id; use 'all' or ids like 12,15,40"
            )
        ids.append(int(part))
    if not ids:
        raise UserError("--donors is empty; use 'all' or ids like 12,15,40")
    return DonorSelection(kind="ids", ids=tuple(ids))


def _create(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = runtime.loaded.settings
    selection = parse_donor_selection(args.donors)
    instruction = _read_instructions(args)
    provider = args.provider or settings.effective_provider
    if args.model is not None and not args.model.strip():
        raise UserError("--model is empty; name a model such as gpt-4.1-mini")
    model = args.model or settings.model
    if provider == "openai":
        from commjobs_tui.core.providers import check_endpoint

        # Catch a missing key or a bad base URL before a job is created.
        check_endpoint(settings)

    async def create(runner: JobRunner) -> int:
        job = await runner.service.create_job(
            name=args.name,
            instruction=instruction,
            selection=selection,
            provider=provider,
            model=model,
            concurrency=args.concurrency,
        )
        print(
            f"created job {job.id} {job.name!r}: {plural(job.total, 'email')}, "
            f"{job.skipped} donors left out (no email or do-not-contact)"
        )
        return job.id

    if args.run:
        return _run_and_report(args, runtime, create, concurrency=args.concurrency)
    _with_runner(args, runtime, create)
    return 0


def _run(args: argparse.Namespace, runtime: Runtime) -> int:
    async def prepare(runner: JobRunner) -> int:
        return int(args.job_id)

    return _run_and_report(args, runtime, prepare)


def _retry(args: argparse.Namespace, runtime: Runtime) -> int:
    async def prepare(runner: JobRunner) -> int:
        count = await runner.service.prepare_retry(args.job_id, full=args.full)
        print(f"job {args.job_id}: {count} emails to draft")
        return int(args.job_id)

    return _run_and_report(args, runtime, prepare)


def _resume(args: argparse.Namespace, runtime: Runtime) -> int:
    async def prepare(runner: JobRunner) -> int:
        job = await runner.service.get_job(args.job_id)
        if job.status != "paused":
            raise UserError(
                f"job {args.job_id} is {job.status}, not paused; "
                f"use `commjobs jobs run {args.job_id}` or retry"
            )
        return int(args.job_id)

    return _run_and_report(args, runtime, prepare)


def _cancel(args: argparse.Namespace, runtime: Runtime) -> int:
    async def work(runner: JobRunner) -> str:
        await runner.cancel(args.job_id)
        job = await runner.service.get_job(args.job_id)
        if job.status == "running":
            return f"job {args.job_id}: cancel requested; its process stops it shortly"
        return f"job {args.job_id}: {job.status}"

    print(_with_runner(args, runtime, work))
    return 0


def _pause(args: argparse.Namespace, runtime: Runtime) -> int:
    async def work(runner: JobRunner) -> str:
        await runner.pause(args.job_id)
        job = await runner.service.get_job(args.job_id)
        if job.status == "running":
            return f"job {args.job_id}: pause requested; its process pauses it shortly"
        return f"job {args.job_id}: {job.status}"

    print(_with_runner(args, runtime, work))
    return 0


def _delete(args: argparse.Namespace, runtime: Runtime) -> int:
    if not args.yes:
        raise UserError(
            f"deleting job {args.job_id} removes all its emails; add --yes to confirm"
        )

    async def work(runner: JobRunner) -> str:
        job = await runner.service.get_job(args.job_id)
        emails = await runner.delete([args.job_id])
        return f"deleted job {job.id} {job.name!r} and its {emails} emails"

    print(_with_runner(args, runtime, work))
    return 0


def job_json(job: JobSummary) -> dict[str, Any]:
    def iso(value: dt.datetime | None) -> str | None:
        return None if value is None else value.isoformat(timespec="seconds") + "Z"

    data: dict[str, Any] = {
        "id": job.id,
        "name": job.name,
        "status": job.status,
        "total": job.total,
        "completed": job.completed,
        "failed": job.failed,
        "pending": job.pending,
        "skipped": job.skipped,
        "provider": job.provider,
        "model": job.model,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "error": job.error,
        "prompt_tokens": job.prompt_tokens,
        "completion_tokens": job.completion_tokens,
        "estimated_cost_usd": (
            None if job.estimated_cost_usd is None else round(job.estimated_cost_usd, 6)
        ),
    }
    if isinstance(job, JobDetail):
        data["instruction"] = job.instruction
        data["refinement_history"] = list(job.refinement_history)
        data["error_kinds"] = job.error_kinds
    return data


def _list(args: argparse.Namespace, runtime: Runtime) -> int:
    async def work(runner: JobRunner) -> list[JobSummary]:
        statuses = [args.status] if args.status else None
        return await runner.service.list_jobs(statuses=statuses)

    jobs = _with_runner(args, runtime, work)
    if args.json:
        print(json.dumps([job_json(j) for j in jobs], indent=2))
        return 0
    if not jobs:
        if args.status:
            print(f"no {args.status} jobs; `commjobs jobs list` shows every job")
        else:
            print("no jobs; create one with `commjobs jobs create`")
        return 0
    for job in jobs:
        progress = f"{job.done}/{job.total}"
        print(
            f"{job.id:>5}  {job.status:<11}  {progress:>13}  {job.failed:>4} failed  "
            f"{job.provider}/{job.model}  {job.name}"
        )
    return 0


def _show(args: argparse.Namespace, runtime: Runtime) -> int:
    async def work(runner: JobRunner) -> JobDetail:
        return await runner.service.get_job(args.job_id)

    job = _with_runner(args, runtime, work)
    if args.json:
        print(json.dumps(job_json(job), indent=2))
        return 0
    for key, value in job_json(job).items():
        if key == "refinement_history":
            shown = plural(len(value), "preview")
        elif value is None:
            shown = "-"
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        else:
            shown = str(value)
        print(f"{key:<18} {shown}")
    return 0


def _export(args: argparse.Namespace, runtime: Runtime) -> int:
    from commjobs_tui.core.communications import record_export
    from commjobs_tui.core.export import export_job

    async def work(runner: JobRunner) -> str:
        out = args.out.expanduser()
        result = await export_job(runner.store, args.job_id, args.fmt, out)
        await record_export(
            runner.store,
            args.job_id,
            fmt=args.fmt,
            at=system_clock(),
            email_ids=result.email_ids,
        )
        written = plural(result.count, "email")
        lines = [f"wrote {written} to {result.path} ({result.format})"]
        if result.skipped_no_email:
            lines.append(f"left out {result.skipped_no_email} without a valid email")
        if result.skipped_do_not_contact:
            lines.append(
                f"left out {result.skipped_do_not_contact} marked do not contact"
            )
        return "\n".join(lines)

    print(_with_runner(args, runtime, work))
    return 0
