"""Start the TUI on the configured (or demo) database."""

from __future__ import annotations

import asyncio

from commjobs_tui.cli.runtime import Runtime
from commjobs_tui.db.store import Store


def run_tui(runtime: Runtime) -> int:
    store = runtime.open_store()
    if runtime.demo:
        asyncio.run(_seed_and_close(store))
    context = runtime.context(store)
    from commjobs_tui.app import CommjobsApp

    CommjobsApp(context).run()
    return 0


async def _seed_and_close(store: Store) -> None:
    """Seed an empty demo database, then drop connections bound to this loop."""
    from commjobs_tui.core.demo import seed_demo

    await seed_demo(store)
    await store.close()
