"""Settings, logging and the store for one CLI invocation, opened on first use."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import UserError
from commjobs_tui.core.logging_setup import configure_logging
from commjobs_tui.core.settings import LoadedSettings, load_settings, user_state_dir
from commjobs_tui.core.uistate import UiState
from commjobs_tui.db.store import Store, UpgradeResult, upgrade_database

log = logging.getLogger(__name__)


class Runtime:
    """Lazily loads settings and opens the database for a command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._loaded: LoadedSettings | None = None
        self.log_path: Path | None = None
        self.upgrade: UpgradeResult | None = None

    def cli_overrides(self) -> dict[str, Any]:
        overrides: dict[str, Any] = {}
        raw = getattr(self.args, "db", None)
        if raw is not None:
            if not raw.strip():
                raise UserError("--db is empty; give it a database file name")
            overrides["db"] = Path(raw).expanduser()
        if getattr(self.args, "global_provider", None):
            overrides["provider"] = self.args.global_provider
        if getattr(self.args, "global_model", None):
            overrides["model"] = self.args.global_model
        return overrides

    @property
    def loaded(self) -> LoadedSettings:
        if self._loaded is None:
            config = getattr(self.args, "config", None)
            self._loaded = load_settings(
                self.cli_overrides(),
                config_file=Path(config).expanduser() if config else None,
            )
            self.log_path = configure_logging(self._loaded.settings.log_level)
        return self._loaded

    @property
    def demo(self) -> bool:
        return bool(getattr(self.args, "demo", False))

    def database_path(self) -> Path:
        settings = self.loaded.settings
        # The demo never opens the configured database (COMMJOBS_DB or the file),
        # so synthetic donors cannot land in real data; only an explicit --db wins.
        if self.demo and not getattr(self.args, "db", None):
            from commjobs_tui.core.demo import demo_database_path

            return demo_database_path()
        return settings.database_path

    def open_store(self) -> Store:
        """Upgrade the database (backing it up first) and return a store on it.

        Jobs left running by a process that has since died are marked interrupted.
        """
        path = self.database_path()
        self.upgrade = upgrade_database(path)
        if self.upgrade.backup is not None:
            log.info("database backup written before upgrade: %s", self.upgrade.backup)
        store = Store(path)
        asyncio.run(_recover(store))
        return store

    def context(self, store: Store) -> AppContext:
        return AppContext(
            settings=self.loaded.settings,
            store=store,
            ui_state=UiState(user_state_dir() / "ui.json"),
            demo=self.demo,
        )

    def close(self) -> None:
        logging.shutdown()


async def _recover(store: Store) -> None:
    from commjobs_tui.core.context import system_clock
    from commjobs_tui.core.leases import LeaseIdentity, recover_abandoned_jobs

    try:
        await recover_abandoned_jobs(store, LeaseIdentity.current(), system_clock())
    finally:
        # Connections belong to this event loop; the next command starts another.
        await store.engine.dispose()
