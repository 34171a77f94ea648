"""Start the TUI on the configured (or demo) database."""

from __future__ import annotations

import asyncio

from commjobs_tui.cli.runtime import Runtime


def run_tui(runtime: Runtime) -> int:
    store = runtime.open_store()
    if runtime.demo:
        from commjobs_tui.core.demo import seed_demo

        asyncio.run(_seed_and_close(store, seed_demo))
    context = runtime.context(store)
    from commjobs_tui.app import CommjobsApp

    CommjobsApp(context).run()
    return 0


async def _seed_and_close(store: object, seed: object) -> None:
    await seed(store)  # type: ignore[operator]
    await store.close()  # type: ignore[attr-defined]
