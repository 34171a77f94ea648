"""Everything a front end (CLI or TUI) needs, built once in main() and passed in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from commjobs_tui.core.settings import Settings
from commjobs_tui.core.uistate import UiState
from commjobs_tui.db.store import Store

if TYPE_CHECKING:
    # The engine pulls in the openai client, which takes about a second to import.
    from commjobs_tui.core.engine import JobRunner
    from commjobs_tui.core.jobs import JobService


def system_clock() -> dt.datetime:
    """Current time as naive UTC, the form the database stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class AppContext:
    """Settings, store and shared services of one process.

    `clock` returns naive UTC; tests pass a frozen one so screens render the same
    every run. `demo` is true when the demo database is open.
    """

    settings: Settings
    store: Store
    ui_state: UiState = field(default_factory=lambda: UiState(None))
    clock: Callable[[], dt.datetime] = system_clock
    demo: bool = False
    runner_factory: Callable[[AppContext], JobRunner] | None = None
    _runner: JobRunner | None = field(default=None, repr=False)

    @property
    def db_path(self) -> Path:
        return self.store.path

    @property
    def runner(self) -> JobRunner:
        """The process's job runner, created on first use (on the running loop)."""
        if self._runner is None:
            if self.runner_factory is not None:
                self._runner = self.runner_factory(self)
            else:
                from commjobs_tui.core.engine import JobRunner

                self._runner = JobRunner(self.store, self.settings, clock=self.clock)
        return self._runner

    @property
    def jobs(self) -> JobService:
        return self.runner.service
