"""Engine throughput against a bare asyncio.gather over the same client and server.

Run from the repository root:

    python -m bench.bench_engine --emails 400 --concurrency 8 --latency 0.1

Both sides send the same chat-completions requests through one shared
`openai.AsyncOpenAI` client to the local fake server (tests/fakeapi.py) with a
fixed reply latency. The server runs in its own process so that it does not
compete with the client for this process's GIL. The engine also claims, writes
and counts every email in SQLite, so the ratio shows what that bookkeeping
costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import openai
from pydantic import SecretStr

from commjobs_tui.core.engine import JobRunner
from commjobs_tui.core.jobs import DonorSelection
from commjobs_tui.core.prompt import OrgProfile, build_messages, load_donor_facts
from commjobs_tui.core.providers import OpenAIProvider, Provider, create_client
from commjobs_tui.core.providers.openai_provider import RESPONSE_FORMAT
from commjobs_tui.core.settings import Settings
from commjobs_tui.db.models import Donation, Donor
from commjobs_tui.db.store import Store, upgrade_database

INSTRUCTION = "Thank each donor for their most recent gift"


def clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


async def seed(store: Store, count: int) -> list[int]:
    ids: list[int] = []
    async with store.session() as session, session.begin():
        for index in range(count):
            donor = Donor(
                first_name=f"Bench{index:05d}",
                last_name="Donor",
                email=f"bench{index:05d}@example.org",
            )
            session.add(donor)
            await session.flush()
            session.add(
                Donation(
                    donor_id=donor.id,
                    amount_cents=2_500 + index,
                    donated_on=dt.date(2025, 5, 1),
                    source_ref=f"bench:{index}",
                )
            )
            ids.append(donor.id)
    return ids


async def bare_gather(
    client: openai.AsyncOpenAI,
    store: Store,
    donor_ids: list[int],
    settings: Settings,
    concurrency: int,
    *,
    typed: bool = False,
) -> float:
    """Send one request per donor with a semaphore; return the seconds taken.

    By default requests go through the client's generic `post`, as the engine's
    provider sends them; `typed` uses `chat.completions.create` instead.
    """
    org = OrgProfile.from_settings(settings)
    facts = await load_donor_facts(store, donor_ids)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(donor_id: int) -> None:
        messages = build_messages(facts[donor_id], INSTRUCTION, org)
        async with semaphore:
            if typed:
                await client.chat.completions.create(
                    model=settings.model,
                    messages=messages,  # type: ignore[arg-type]
                    response_format=RESPONSE_FORMAT,
                )
                return
            body = {
                "model": settings.model,
                "messages": messages,
                "response_format": RESPONSE_FORMAT,
            }
            await client.post("/chat/completions", cast_to=bytes, body=body)

    started = time.perf_counter()
    await asyncio.gather(*(one(d) for d in donor_ids))
    return time.perf_counter() - started


async def engine_run(
    client: openai.AsyncOpenAI, store: Store, settings: Settings, concurrency: int
) -> float:
    """Create a job for every donor and run it with the engine; return the seconds."""

    def factory(s: Settings, name: str, model: str) -> Provider:
        return OpenAIProvider(s, model=model, client=client)

    runner = JobRunner(store, settings, clock=clock, provider_factory=factory)
    job = await runner.service.create_job(
        name="Benchmark",
        instruction=INSTRUCTION,
        selection=DonorSelection(kind="all"),
        provider="openai",
        model=settings.model,
        concurrency=concurrency,
    )
    started = time.perf_counter()
    result = await runner.run(job.id)
    elapsed = time.perf_counter() - started
    await runner.aclose()
    if result.status != "completed":
        raise SystemExit(f"engine run ended {result.status}: {result.error}")
    return elapsed


@contextlib.contextmanager
def server_process(latency: float) -> Iterator[str]:
    """Start `python -m tests.fakeapi` on a free port; yield its base URL."""
    command = [sys.executable, "-m", "tests.fakeapi", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--latency", str(latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"fake server did not start: {line!r}")
        yield line.removeprefix("listening on ")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


async def main_async(args: argparse.Namespace) -> None:
    with (
        server_process(args.latency) as base_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings = Settings(
            provider="openai",
            base_url=base_url,
            openai_api_key=SecretStr("sk-bench-not-a-real-key"),
            model="gpt-bench",
            concurrency=args.concurrency,
            requests_per_minute=1_000_000,
            tokens_per_minute=1_000_000_000,
        )
        path = Path(tmp) / "bench.db"
        upgrade_database(path, backup=False)
        store = Store(path)
        donor_ids = await seed(store, args.emails)
        client = create_client(settings)
        # Warm up connections so neither side pays for them.
        await bare_gather(
            client, store, donor_ids[: args.concurrency], settings, args.concurrency
        )
        bare_times: list[float] = []
        typed_times: list[float] = []
        engine_times: list[float] = []
        for _ in range(args.rounds):
            bare_times.append(
                await bare_gather(client, store, donor_ids, settings, args.concurrency)
            )
            typed_times.append(
                await bare_gather(
                    client, store, donor_ids, settings, args.concurrency, typed=True
                )
            )
            engine_times.append(
                await engine_run(client, store, settings, args.concurrency)
            )
        await client.close()
        await store.close()
    bare = statistics.median(bare_times)
    typed = statistics.median(typed_times)
    engine = statistics.median(engine_times)
    ideal = args.emails * args.latency / args.concurrency
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"emails={args.emails} concurrency={args.concurrency} latency={args.latency}s "
        f"rounds={args.rounds} ideal={ideal:.2f}s"
    )
    print(f"bare gather: median {bare:.2f}s of {_fmt(bare_times)}")
    print(f"bare create: median {typed:.2f}s of {_fmt(typed_times)}")
    print(f"engine:      median {engine:.2f}s of {_fmt(engine_times)}")
    print(f"engine / bare throughput:        {bare / engine:.3f}")
    print(f"engine / (concurrency/latency):  {ideal / engine:.3f}")
    print(f"engine / bare create throughput: {typed / engine:.3f}")
    print(f"bare / (concurrency/latency):    {ideal / bare:.3f}")


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating runs of each"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
