"""`commjobs config show|path`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from commjobs_tui.cli.runtime import Runtime
from commjobs_tui.core.settings import describe_settings


def register(
    commands: Any, add_common: Callable[[argparse.ArgumentParser], None]
) -> None:
    config = commands.add_parser("config", help="show the effective settings")
    sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = sub.add_parser(
        "show", help="print each setting, its value and where it came from"
    )
    add_common(show)
    show.set_defaults(handler=_show)
    path = sub.add_parser("path", help="print the settings file's path")
    add_common(path)
    path.set_defaults(handler=_path)


def _show(args: argparse.Namespace, runtime: Runtime) -> int:
    loaded = runtime.loaded
    rows = describe_settings(loaded)
    width = max(len(name) for name, _, _ in rows)
    print(f"# settings file: {loaded.config_file}")
    for name, value, source in rows:
        print(f"{name:<{width}}  {value}  [{source}]")
    return 0


def _path(args: argparse.Namespace, runtime: Runtime) -> int:
    print(runtime.loaded.config_file)
    return 0
