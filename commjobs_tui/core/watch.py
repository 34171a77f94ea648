"""Cheap change detection for job screens: other connections' commits and events.

`DataVersionWatcher` notices commits made by any other connection to the database,
including other commjobs processes. `JobUpdateCollector` gathers the engine's
events between two redraws, so that a screen applies one batch a few times a
second instead of one event at a time.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from commjobs_tui.core.events import JobEvent, JobFinished, JobProgress, JobsChanged

log = logging.getLogger(__name__)


class DataVersionWatcher:
    """Reports whether another connection has committed to a SQLite database.

    `PRAGMA data_version` returns a counter of one connection that changes when any
    other connection commits to the file, whether in this process or another one.
    The watcher keeps one connection of its own, which never writes, so the
    counter changes only for other writers. One check costs a few microseconds
    and reads no table.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None

    def _read_version(self) -> int:
        if self._connection is None:
            # The short timeout keeps a locked database from stalling the caller,
            # which runs on the UI's event loop.
            self._connection = sqlite3.connect(self.path, timeout=0.05)
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def changed(self) -> bool:
        """Return True if another connection committed since the previous call.

        The first call only records the current counter and returns False. A
        failed check (the file is locked or gone) is logged and returns False, and
        the next successful check reports any commit made in between.
        """
        try:
            version = self._read_version()
        except sqlite3.Error as exc:
            log.debug("cannot read the data version of %s: %s", self.path, exc)
            self.close()
            return False
        previous = self._version
        self._version = version
        return previous is not None and version != previous

    def close(self) -> None:
        """Close the connection. A later `changed()` opens a new one.

        A new connection has a new counter, so the first check after closing
        returns False.
        """
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._version = None


@dataclass(frozen=True)
class JobUpdates:
    """Job events gathered between two redraws, merged per job.

    `progress` has the newest progress event of each running job.
    `finished_email_ids` lists, per job, every email written since the previous
    batch. `changed_job_ids` names jobs that were created, deleted, started or
    stopped. `database_changed` is True when another connection committed to the
    database, which may be another commjobs process running a job.
    """

    progress: Mapping[int, JobProgress] = field(default_factory=dict)
    finished_email_ids: Mapping[int, frozenset[int]] = field(default_factory=dict)
    finished: tuple[JobFinished, ...] = ()
    changed_job_ids: frozenset[int] = frozenset()
    database_changed: bool = False

    @property
    def changes_job_list(self) -> bool:
        """True when jobs may have been added, removed or changed status."""
        return bool(self.finished or self.changed_job_ids or self.database_changed)

    def concerns(self, job_id: int) -> bool:
        """True when the batch may change anything shown about the job."""
        return (
            self.database_changed
            or job_id in self.progress
            or job_id in self.changed_job_ids
            or any(event.job_id == job_id for event in self.finished)
        )


class JobUpdateCollector:
    """Collects engine events and database changes until a screen takes them.

    `add` is an `EventBus` subscriber. It only stores the event, so it is cheap
    enough to run inside the engine's writer task.
    """

    def __init__(self) -> None:
        self._progress: dict[int, JobProgress] = {}
        self._email_ids: dict[int, set[int]] = {}
        self._finished: list[JobFinished] = []
        self._changed: set[int] = set()
        self._database_changed = False

    def add(self, event: JobEvent) -> None:
        if isinstance(event, JobProgress):
            self._progress[event.job_id] = event
            self._email_ids.setdefault(event.job_id, set()).update(
                event.finished_email_ids
            )
        elif isinstance(event, JobFinished):
            self._finished.append(event)
            # A finished job has no rate or ETA any more.
            self._progress.pop(event.job_id, None)
            self._changed.add(event.job_id)
        elif isinstance(event, JobsChanged):
            self._changed.update(event.job_ids)

    def note_database_change(self) -> None:
        self._database_changed = True

    def take(self) -> JobUpdates | None:
        """Return everything collected since the previous call, or None if nothing."""
        if not (
            self._progress
            or self._email_ids
            or self._finished
            or self._changed
            or self._database_changed
        ):
            return None
        updates = JobUpdates(
            progress=dict(self._progress),
            finished_email_ids={
                job_id: frozenset(ids) for job_id, ids in self._email_ids.items()
            },
            finished=tuple(self._finished),
            changed_job_ids=frozenset(self._changed),
            database_changed=self._database_changed,
        )
        self._progress.clear()
        self._email_ids.clear()
        self._finished.clear()
        self._changed.clear()
        self._database_changed = False
        return updates
