"""The import dialog: a CSV path, a dry-run preview and the import itself."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import UserError
from commjobs_tui.core.importer import format_summary, import_donors
from commjobs_tui.screens import AppModalScreen

log = logging.getLogger(__name__)

SUMMARY_MAX_LINES = 40


class ImportPathError(UserError):
    """The path typed in the import dialog cannot be imported."""


def resolve_import_path(text: str, *, cwd: Path | None = None) -> Path:
    """Expand `~` and check that the path names a readable file.

    A relative path is taken from `cwd`, the current folder by default. Raises
    ImportPathError naming the path and the fix. The importer checks the content.
    """
    typed = text.strip()
    if not typed:
        raise ImportPathError("Enter the path of a CSV file exported from your CRM.")
    path = Path(typed).expanduser()
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    if not path.exists():
        raise ImportPathError(f"{path} not found. Check the folder and file name.")
    if path.is_dir():
        raise ImportPathError(
            f"{path} is a folder. Enter the path of the CSV file inside it."
        )
    if not path.is_file():
        raise ImportPathError(f"{path} is not a regular file. Enter a CSV file.")
    if not os.access(path, os.R_OK):
        raise ImportPathError(
            f"permission denied reading {path}. Make the file readable for your "
            "user (chmod u+r) or copy it to a folder you can read."
        )
    return path


class ImportDonorsScreen(AppModalScreen[bool]):
    """Import donors from a CSV file. Dismisses with True if anything was written."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape", "close", "Close", tooltip="Close this dialog", id="import.close"
        ),
    ]

    def __init__(self, context: AppContext) -> None:
        super().__init__(id="import-donors")
        self.context = context
        self.imported = False
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="import-dialog"):
            yield Static("Import donors from a CSV file", id="import-title")
            yield Static(
                "Export donors and gifts from your CRM as CSV and enter the file's "
                "path. Preview reads the file and writes nothing. Importing the "
                "same file again adds nothing new.",
                id="import-help",
            )
            yield Input(placeholder="~/Downloads/donors.csv", id="import-path")
            yield Static("", id="import-error")
            with Horizontal(id="import-buttons"):
                yield Button("Preview", id="import-preview")
                yield Button("Import", id="import-run", variant="primary")
                yield Button("Close", id="import-close")
            with VerticalScroll(id="import-result"):
                yield Static("", id="import-summary")

    def on_mount(self) -> None:
        self.query_one("#import-error", Static).display = False
        self.query_one("#import-result", VerticalScroll).display = False
        self.query_one("#import-path", Input).focus()

    def show_error(self, message: str) -> None:
        error = self.query_one("#import-error", Static)
        error.update(Text(message))
        error.display = True

    def clear_error(self) -> None:
        self.query_one("#import-error", Static).display = False

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button_id in ("#import-preview", "#import-run"):
            self.query_one(button_id, Button).disabled = busy
        result = self.query_one("#import-result", VerticalScroll)
        result.loading = busy
        if busy:
            result.display = True

    def start(self, *, dry_run: bool) -> None:
        if self.busy:
            return
        typed = self.query_one("#import-path", Input).value
        try:
            path = resolve_import_path(typed)
        except ImportPathError as error:
            self.show_error(str(error))
            return
        self.clear_error()
        self.set_busy(True)
        self.run_import(path, dry_run=dry_run)

    @work(
        group="import",
        exclusive=True,
        exit_on_error=False,
        description="Importing donors",
    )
    async def run_import(self, path: Path, *, dry_run: bool) -> None:
        try:
            summary = await import_donors(self.context.store, path, dry_run=dry_run)
        except UserError as error:
            # The file's problem is shown beside the path, where it can be fixed.
            log.warning("import rejected: %s", error)
            self.query_one("#import-result", VerticalScroll).display = False
            self.show_error(str(error))
            return
        finally:
            self.set_busy(False)
        if not dry_run:
            self.imported = True
        text = format_summary(summary, max_lines=SUMMARY_MAX_LINES)
        self.query_one("#import-summary", Static).update(Text(text))
        self.query_one("#import-result", VerticalScroll).display = True

    @on(Input.Changed, "#import-path")
    def path_changed(self) -> None:
        self.clear_error()

    @on(Input.Submitted, "#import-path")
    def path_submitted(self) -> None:
        self.start(dry_run=True)

    @on(Button.Pressed, "#import-preview")
    def preview_pressed(self) -> None:
        self.start(dry_run=True)

    @on(Button.Pressed, "#import-run")
    def import_pressed(self) -> None:
        self.start(dry_run=False)

    @on(Button.Pressed, "#import-close")
    def close_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        # Closing mid-import could hide whether the import was written, so the
        # dialog stays until the import ends.
        if self.busy:
            self.notify("The import is still running. Close this dialog when it ends.")
            return
        self.dismiss(self.imported)
