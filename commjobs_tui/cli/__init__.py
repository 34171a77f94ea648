"""The `commjobs` command: the TUI when run bare, headless subcommands otherwise."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from commjobs_tui import __version__
from commjobs_tui.cli import config_cmd, db_cmd, donors_cmd, jobs_cmd
from commjobs_tui.cli.runtime import Runtime
from commjobs_tui.core.errors import UserError

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line naming the fix."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=default,
        help="SQLite database file (default: commjobs.db in the user data folder)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="settings TOML file (default: config.toml in the user config folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="commjobs",
        description="Draft personal donor emails as communication jobs.",
    )
    parser.add_argument(
        "--version", action="version", version=f"commjobs {__version__}"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open a separate demo database of synthetic donors (seeded on first use)",
    )
    _add_common(parser, top=True)
    parser.add_argument(
        "--provider",
        dest="global_provider",
        choices=("auto", "offline", "openai"),
        help="model provider for this run (auto: openai when a key or URL is set)",
    )
    parser.add_argument(
        "--model", dest="global_model", metavar="NAME", help="model name for this run"
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    for module in (config_cmd, db_cmd, donors_cmd, jobs_cmd):
        module.register(commands, lambda p: _add_common(p, top=False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Donor data: every file this process creates is private to its owner.
    os.umask(0o077)
    # Until the log file is set up, records go nowhere rather than to stderr
    # through logging's last-resort handler (which would print tracebacks).
    if not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
    parser = build_parser()
    args = parser.parse_args(argv)
    runtime = Runtime(args)
    try:
        handler = getattr(args, "handler", None)
        if handler is None:
            from commjobs_tui.cli.tui_cmd import run_tui

            return run_tui(runtime)
        result: int = handler(args, runtime)
        return result
    except UserError as exc:
        print(f"commjobs: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("commjobs: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`commjobs donors list | head`); stop quietly.
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:
        log.exception("unexpected error in %s", getattr(args, "command", None) or "tui")
        where = runtime.log_path or "the log file"
        print(
            f"commjobs: error: unexpected {type(exc).__name__}: {exc}; "
            f"details are in {where}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    finally:
        runtime.close()


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
