"""Opening the database: permissions, pragmas, backup and Alembic upgrade."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from commjobs_tui.core.errors import UserError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class DatabaseError(UserError):
    """The database cannot be opened or migrated."""


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _set_migration_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Batch mode rebuilds a table by DROP and rename. With foreign keys on, the DROP
    # would cascade and delete every dependent row, such as a job's emails.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def sync_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", hide_parameters=True)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def migration_engine(path: Path) -> Engine:
    """Engine for Alembic: foreign keys off while tables are rebuilt."""
    engine = create_engine(f"sqlite:///{path}", hide_parameters=True)
    event.listen(engine, "connect", _set_migration_pragmas)
    return engine


def run_alembic(path: Path, action: str, revision: str) -> None:
    """Run `alembic upgrade|downgrade REVISION` on the file, then check foreign keys."""
    engine = migration_engine(path)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            getattr(command, action)(config, revision)
            problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise DatabaseError(
                    f"migration of {path} left {len(problems)} broken references; "
                    "the change was rolled back"
                )
    finally:
        engine.dispose()


def ensure_private_dir(folder: Path) -> None:
    """Create the folder (0700) if missing; tighten a folder the app created earlier."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        raise DatabaseError(
            f"{folder} is a file, not a folder; choose another --db path"
        ) from None
    except OSError as exc:
        raise DatabaseError(
            f"cannot create folder {folder}: {exc.strerror}; choose another --db path"
        ) from None


def make_private(path: Path) -> None:
    """Set 0600 on the database file and its WAL and shared-memory files."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            os.chmod(candidate, PRIVATE_FILE_MODE)


def current_revision(path: Path) -> str | None:
    """Read the Alembic revision through a read-only connection that changes nothing."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).fetchone()
        if has_table is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])
    finally:
        conn.close()


def backup_database(path: Path, *, now: dt.datetime | None = None) -> Path:
    """Copy the database beside itself with SQLite's backup API; return the copy."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
        counter += 1
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    os.close(fd)
    source = sqlite3.connect(path)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    os.chmod(target, PRIVATE_FILE_MODE)
    return target


@dataclass(frozen=True)
class UpgradeResult:
    """Outcome of opening the database: revisions before and after, and the backup."""

    before: str | None
    after: str
    backup: Path | None


def check_database_path(path: Path) -> None:
    """Raise DatabaseError if `path` cannot be a database file (empty, a folder)."""
    if not str(path).strip():
        raise DatabaseError("the database path is empty; give --db a file name")
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder; give --db a database file name")


def read_revision(path: Path) -> str | None:
    """Return the file's Alembic revision, rejecting files that are not ours.

    A SQLite file with tables but no alembic_version table belongs to another
    program, so it is rejected rather than turned into a commjobs database.
    """
    check_database_path(path)
    try:
        revision = current_revision(path)
        if revision is None and _has_tables(path):
            raise DatabaseError(
                f"{path} is a SQLite database of another program; "
                "choose another --db path"
            )
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            f"{path} is not a commjobs database ({exc}); choose another --db path"
        ) from None
    return revision


def _has_tables(path: Path) -> bool:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master"
            " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'alembic_version'"
        ).fetchone()
        return row is not None
    finally:
        conn.close()


def upgrade_database(path: Path, *, backup: bool = True) -> UpgradeResult:
    """Bring the database to the newest revision, creating it if missing.

    A database written by a newer commjobs is rejected and left untouched. An existing
    database that needs upgrading is copied to a timestamped backup first.
    """
    check_database_path(path)
    ensure_private_dir(path.parent)
    existed = path.exists() and path.stat().st_size > 0
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseError(
            f"cannot read and write {path}; fix its permissions (chmod 600) "
            "or choose another --db path"
        )
    if not existed:
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create {path}: {exc.strerror}; choose another --db path"
            ) from None
        os.close(fd)
    before = read_revision(path) if existed else None
    head = head_revision()
    script = ScriptDirectory.from_config(alembic_config())
    if before is not None and before != head:
        try:
            script.get_revision(before)
        except Exception:
            raise DatabaseError(
                f"{path} was written by a newer version of commjobs (revision "
                f"{before}); upgrade commjobs to open it. The file was not changed."
            ) from None
    backup_path: Path | None = None
    if before != head:
        if existed and backup:
            backup_path = backup_database(path)
            log.info("backed up database before upgrade to %s", backup_path)
        run_alembic(path, "upgrade", "head")
        log.info("database upgraded from %s to %s", before, head)
    make_private(path)
    return UpgradeResult(before=before, after=head, backup=backup_path)


class Store:
    """The async engine and session factory for one database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # hide_parameters keeps donor fields out of error messages and the log.
        self.engine: AsyncEngine = create_async_engine(
            f"sqlite+aiosqlite:///{path}", hide_parameters=True
        )
        event.listen(self.engine.sync_engine, "connect", _set_sqlite_pragmas)
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def close(self) -> None:
        await self.engine.dispose()


def open_store(path: Path, *, backup: bool = True) -> tuple[Store, UpgradeResult]:
    """Migrate the database file, then return a Store on it."""
    result = upgrade_database(path, backup=backup)
    return Store(path), result
