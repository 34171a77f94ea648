"""`commjobs donors import|list`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from commjobs_tui.cli.runtime import Runtime


def register(
    commands: Any, add_common: Callable[[argparse.ArgumentParser], None]
) -> None:
    donors = commands.add_parser("donors", help="import and list donors")
    sub = donors.add_subparsers(dest="donors_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import",
        help="import donors and gifts from a CRM export (CSV); safe to repeat",
    )
    imp.add_argument("file", type=Path, help="CSV file exported from the CRM")
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would change and write nothing",
    )
    add_common(imp)
    imp.set_defaults(handler=_import)
    lst = sub.add_parser("list", help="list donors with their giving totals")
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.add_argument(
        "--filter",
        metavar="TEXT",
        help="only donors whose name, email or tags contain TEXT",
    )
    add_common(lst)
    lst.set_defaults(handler=_list)


def _import(args: argparse.Namespace, runtime: Runtime) -> int:
    from commjobs_tui.core.importer import format_summary, import_donors

    store = runtime.open_store()

    async def go() -> str:
        try:
            summary = await import_donors(
                store, args.file.expanduser(), dry_run=args.dry_run
            )
            return format_summary(summary)
        finally:
            await store.close()

    print(asyncio.run(go()))
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _list(args: argparse.Namespace, runtime: Runtime) -> int:
    from commjobs_tui.core.donors import list_donors
    from commjobs_tui.core.prompt import format_money

    store = runtime.open_store()
    today = dt.date.today()

    async def go() -> list[Any]:
        try:
            return list(await list_donors(store, text=args.filter, today=today))
        finally:
            await store.close()

    rows = asyncio.run(go())
    if args.json:
        print(
            json.dumps(
                [dataclasses.asdict(r) for r in rows], default=_json_default, indent=2
            )
        )
        return 0
    if not rows:
        if args.filter:
            print(f"no donors match {args.filter!r}")
        else:
            print("no donors; import a CSV with `commjobs donors import FILE`")
        return 0
    for row in rows:
        last = (
            f"{row.last_gift_on} {format_money(row.last_gift_cents or 0)}"
            if row.last_gift_on
            else "no gifts"
        )
        email = row.email or "(no email)"
        total = format_money(row.total_cents)
        print(
            f"{row.id:>6}  {row.display_name:<32.32}  {email:<36.36}  "
            f"{row.gift_count:>3} gifts  {total:>12}  last {last}"
        )
    return 0
