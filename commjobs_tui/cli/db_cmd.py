"""`commjobs db upgrade|current`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from commjobs_tui.cli.runtime import Runtime
from commjobs_tui.core.errors import UserError
from commjobs_tui.db.store import head_revision, read_revision, upgrade_database


def register(
    commands: Any, add_common: Callable[[argparse.ArgumentParser], None]
) -> None:
    db = commands.add_parser("db", help="database schema version and upgrades")
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = sub.add_parser(
        "upgrade", help="back up the database, then upgrade it to the newest schema"
    )
    add_common(upgrade)
    upgrade.set_defaults(handler=_upgrade)
    current = sub.add_parser("current", help="print the database's schema revision")
    add_common(current)
    current.set_defaults(handler=_current)


def _upgrade(args: argparse.Namespace, runtime: Runtime) -> int:
    path = runtime.database_path()
    result = upgrade_database(path)
    if result.before == result.after:
        print(f"{path}: already at revision {result.after}")
    else:
        print(f"{path}: upgraded from {result.before or 'empty'} to {result.after}")
        if result.backup is not None:
            print(f"backup: {result.backup}")
    return 0


def _current(args: argparse.Namespace, runtime: Runtime) -> int:
    path = runtime.database_path()
    if path.exists() and not os.access(path, os.R_OK):
        raise UserError(f"cannot read {path}; fix its permissions (chmod 600)")
    if not path.exists():
        raise UserError(
            f"database {path} does not exist; run `commjobs db upgrade` to create it"
        )
    revision = read_revision(path)
    head = head_revision()
    state = "up to date" if revision == head else f"newest is {head}"
    print(f"{path}: revision {revision or 'none'} ({state})")
    return 0
