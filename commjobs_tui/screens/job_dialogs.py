"""Dialogs of the job screens: confirmations, the bulk menu, pickers and export."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from commjobs_tui.core.communications import record_export
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import UserError
from commjobs_tui.core.export import (
    EXPORT_FORMATS,
    ExportFormat,
    ExportResult,
    export_job,
)
from commjobs_tui.core.jobs import JobDetail, JobSummary
from commjobs_tui.screens import AppModalScreen
from commjobs_tui.widgets.job_status import plural

log = logging.getLogger(__name__)

CSS_PATH = "../styles/jobs.tcss"
# Dialogs list this many jobs by name and count the rest.
NAMED_JOBS_SHOWN = 5
EXPORT_FOLDER_STATE_KEY = "jobs.export_folder"
FORMAT_DESCRIPTIONS: dict[ExportFormat, str] = {
    "csv": "CSV: one row per email, for spreadsheets and mail merge",
    "jsonl": "JSON Lines: one JSON object per email",
    "eml": "EML: one .eml file per email, in a folder",
    "mbox": "mbox: one mailbox file that mail clients import",
}
MAX_SLUG_LENGTH = 40


def describe_jobs(jobs: Sequence[JobSummary]) -> str:
    """Name up to NAMED_JOBS_SHOWN jobs as “Name” (id) and count the rest."""
    named = [f"“{job.name}” ({job.id})" for job in jobs[:NAMED_JOBS_SHOWN]]
    rest = len(jobs) - len(named)
    if rest > 0:
        named.append(f"{rest:,} more")
    if len(named) <= 1:
        return "".join(named)
    return f"{', '.join(named[:-1])} and {named[-1]}"


class ConfirmDialog(AppModalScreen[bool]):
    """Ask before an action. Dismisses with True only on an explicit confirm.

    y or the confirm button confirms. Escape, n or the other button goes back.
    A dangerous action starts with focus on the button that goes back, so an
    enter pressed out of habit changes nothing.
    """

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "back", "Go back", tooltip="Close without doing anything"),
        Binding("y", "confirm", "Confirm", tooltip="Do what the dialog describes"),
    ]

    def __init__(
        self,
        title: str,
        lines: Sequence[str | Text],
        *,
        confirm_label: str,
        danger: bool = False,
        back_label: str = "Go back",
    ) -> None:
        super().__init__(classes="job-dialog")
        self.heading = title
        self.lines = list(lines)
        self.confirm_label = confirm_label
        self.back_label = back_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box" + (" -danger" if self.danger else "")):
            yield Static(Text(self.heading), classes="dialog-title")
            with VerticalScroll(classes="dialog-text"):
                for line in self.lines:
                    text = line if isinstance(line, Text) else Text(line)
                    yield Static(text, classes="dialog-line")
            yield Static(
                Text(f"y: {self.confirm_label} · escape: {self.back_label}"),
                classes="dialog-hint",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error" if self.danger else "primary",
                )
                yield Button(self.back_label, id="back")

    def on_mount(self) -> None:
        self.query_one("#back" if self.danger else "#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.dismiss(False)


BULK_ACTIONS: tuple[tuple[str, str], ...] = (
    ("delete", "Delete the marked jobs and their emails…"),
    ("retry", "Retry the failed emails of the marked jobs…"),
    ("full_retry", "Full retry: draft every email of the marked jobs again…"),
    ("cancel", "Cancel the marked jobs…"),
)


class ChoiceDialog(AppModalScreen[str | None]):
    """Pick one option from a list; dismisses with its id, or None on escape."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", tooltip="Close without choosing"),
    ]

    def __init__(
        self,
        title: str,
        options: Sequence[Option],
        *,
        hint: str,
        intro: str | None = None,
    ) -> None:
        super().__init__(classes="job-dialog")
        self.heading = title
        self.options = list(options)
        self.hint = hint
        self.intro = intro

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Text(self.heading), classes="dialog-title")
            if self.intro is not None:
                yield Static(Text(self.intro), classes="dialog-line")
            yield OptionList(*self.options, id="choice-options")
            yield Static(self.hint, classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#choice-options", OptionList).focus()

    @on(OptionList.OptionSelected, "#choice-options")
    def option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)


class BulkActionMenu(ChoiceDialog):
    """Choose what to do with the marked jobs; dismisses with the action's key."""

    def __init__(self, jobs: Sequence[JobSummary]) -> None:
        super().__init__(
            f"Bulk actions for {plural(len(jobs), 'marked job')}",
            [Option(label, id=key) for key, label in BULK_ACTIONS],
            hint="Each action asks for confirmation first. Escape closes this menu.",
            intro=describe_jobs(jobs),
        )
        self.jobs = list(jobs)


class ErrorKindPicker(ChoiceDialog):
    """Choose which kind of failure to retry; dismisses with the error kind."""

    def __init__(self, job: JobDetail) -> None:
        # NOTE: JobService names failures without a stored kind "unknown", and a
        # retry of that kind matches no email. The engine stores a kind with
        # every failure, so only rows written by other tools can lack one.
        kinds = sorted(job.error_kinds.items(), key=lambda item: (-item[1], item[0]))
        super().__init__(
            f"Retry one kind of failure of “{job.name}”",
            [
                Option(Text(f"{kind}: {plural(count, 'email')}"), id=kind)
                for kind, count in kinds
            ],
            hint=(
                "Enter retries the emails that failed this way, and the job runs "
                "again. Escape closes."
            ),
        )
        self.job = job


class InstructionsDialog(AppModalScreen[None]):
    """The job's instructions and each earlier version tried in previews."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,i", "close", "Close", tooltip="Close the instructions"),
    ]

    def __init__(self, job: JobDetail) -> None:
        super().__init__(classes="job-dialog")
        self.job = job

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -tall"):
            yield Static(
                Text(f"Instructions of “{self.job.name}”"), classes="dialog-title"
            )
            with VerticalScroll(id="instructions-scroll", classes="dialog-text"):
                yield Static(Text(self.job.instruction), id="instructions-text")
                yield Static(
                    Text("Refinement history", style="bold underline"),
                    classes="dialog-heading",
                )
                yield Static(refinement_text(self.job), id="refinement-text")
            yield Static("Escape closes.", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#instructions-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


def refinement_text(job: JobDetail) -> Text:
    """List each instruction tried in previews, oldest first, with its time."""
    if not job.refinement_history:
        return Text("No previews were drafted before the job started.", style="dim")
    text = Text()
    for number, entry in enumerate(job.refinement_history, start=1):
        at = str(entry.get("at") or "unknown time").replace("T", " ")
        previews = entry.get("preview_email_ids") or []
        text.append(f"{number}. {at} UTC, {plural(len(previews), 'preview')}\n")
        text.append(f"{entry.get('instruction') or ''}\n\n", style="italic")
    text.rstrip()
    return text


def slugify(name: str) -> str:
    """Turn a job name into a lower-case ASCII file name stem."""
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    )
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return stem[:MAX_SLUG_LENGTH].rstrip("-") or "job"


def default_export_name(job: JobSummary, fmt: ExportFormat) -> str:
    """Name the export after the job: a file, or a folder for EML."""
    stem = f"{slugify(job.name)}-job{job.id}"
    if fmt == "eml":
        return f"{stem}-eml"
    return f"{stem}.{fmt}"


def resolve_export_path(typed: str, *, cwd: Path) -> Path:
    """Expand `~`, take a relative path from `cwd`, and reject an empty path."""
    text = typed.strip()
    if not text:
        raise UserError(
            "Enter where to write the export, for example ~/exports/emails.csv."
        )
    path = Path(text).expanduser()
    return path if path.is_absolute() else cwd / path


class ExportDialog(AppModalScreen[ExportResult | None]):
    """Choose a format and a path, then export the job's completed emails.

    Problems with the path show in the dialog, which stays open so the path can
    be fixed. An existing file or folder is replaced only after a second press.
    """

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", tooltip="Close without exporting"),
    ]

    def __init__(self, context: AppContext, job: JobSummary, *, cwd: Path) -> None:
        super().__init__(classes="job-dialog")
        self.context = context
        self.job = job
        self.cwd = cwd
        saved = context.ui_state.get(EXPORT_FOLDER_STATE_KEY)
        self.folder = Path(saved) if isinstance(saved, str) and saved else cwd
        self.format: ExportFormat = "csv"
        self.replace_confirmed: Path | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(
                Text(f"Export “{self.job.name}” ({self.job.id})"),
                classes="dialog-title",
            )
            yield Static(self.scope_text(), classes="dialog-line")
            with RadioSet(id="export-format"):
                for fmt in EXPORT_FORMATS:
                    yield RadioButton(
                        FORMAT_DESCRIPTIONS[fmt], value=fmt == self.format, name=fmt
                    )
            yield Static(
                "Save to (a folder for EML; ~ is your home folder):",
                classes="dialog-hint",
            )
            yield Input(
                str(self.folder / default_export_name(self.job, self.format)),
                id="export-path",
                compact=True,
            )
            yield Static("", id="export-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-run", variant="primary")
                yield Button("Go back", id="export-close")

    def scope_text(self) -> Text:
        completed = plural(self.job.completed, "completed email")
        text = Text(
            f"Writes the {completed}. Donors marked do not contact are left out."
        )
        if self.job.status == "running":
            text.append(
                " The job is still running, so later emails are not included.",
                style="bold",
            )
        return text

    def on_mount(self) -> None:
        self.query_one("#export-error", Static).display = False
        self.query_one("#export-format", RadioSet).focus()

    @property
    def path_input(self) -> Input:
        return self.query_one("#export-path", Input)

    def show_error(self, message: str) -> None:
        error = self.query_one("#export-error", Static)
        error.update(Text(message))
        error.display = True

    def clear_error(self) -> None:
        self.query_one("#export-error", Static).display = False

    @on(RadioSet.Changed, "#export-format")
    def format_changed(self, event: RadioSet.Changed) -> None:
        chosen = event.pressed.name
        if chosen not in EXPORT_FORMATS:
            return
        old_name = default_export_name(self.job, self.format)
        self.format = chosen
        current = Path(self.path_input.value.strip()).expanduser()
        # A path the user typed is kept. Only the suggested name follows the format.
        if current.name == old_name:
            new_name = default_export_name(self.job, self.format)
            self.path_input.value = str(current.with_name(new_name))

    @on(Input.Changed, "#export-path")
    def path_changed(self) -> None:
        self.replace_confirmed = None
        self.clear_error()

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-run")
    def export_pressed(self) -> None:
        if self.busy:
            return
        try:
            path = resolve_export_path(self.path_input.value, cwd=self.cwd)
        except UserError as error:
            self.show_error(str(error))
            return
        if path.exists() and self.replace_confirmed != path:
            kind = "folder" if path.is_dir() else "file"
            action = (
                "Files of the same name in it are replaced"
                if self.format == "eml" and path.is_dir()
                else "It will be replaced"
            )
            self.replace_confirmed = path
            self.show_error(
                f"The {kind} {path} already exists. {action}: press Export again "
                "to go ahead, or change the path."
            )
            return
        self.clear_error()
        self.busy = True
        self.query_one("#export-run", Button).disabled = True
        self.run_export(path, self.format)

    @work(group="export", exclusive=True, exit_on_error=False, description="Exporting")
    async def run_export(self, path: Path, fmt: ExportFormat) -> None:
        try:
            result = await export_job(
                self.context.store, self.job.id, fmt, path, now=self.context.clock()
            )
            # Exports appear in each donor's thread, as exports from the CLI do.
            await record_export(
                self.context.store,
                self.job.id,
                fmt=fmt,
                at=self.context.clock(),
                email_ids=result.email_ids,
            )
        except UserError as error:
            log.warning("export of job %s rejected: %s", self.job.id, error)
            self.show_error(str(error))
            return
        finally:
            self.busy = False
            self.query_one("#export-run", Button).disabled = False
        self.context.ui_state.set(EXPORT_FOLDER_STATE_KEY, str(path.parent))
        self.dismiss(result)

    @on(Button.Pressed, "#export-close")
    def action_close(self) -> None:
        if self.busy:
            self.notify("The export is still being written. Wait until it ends.")
            return
        self.dismiss(None)


def export_message(result: ExportResult) -> str:
    """Summarise an export for a notification, naming what was left out."""
    noun = "email" if result.count == 1 else "emails"
    message = f"Wrote {result.count:,} {noun} to {result.path} ({result.format})."
    left_out: list[str] = []
    if result.skipped_no_email:
        left_out.append(f"{result.skipped_no_email:,} without a valid email address")
    if result.skipped_do_not_contact:
        left_out.append(f"{result.skipped_do_not_contact:,} marked do not contact")
    if left_out:
        message += f" Left out: {' and '.join(left_out)}."
    return message
