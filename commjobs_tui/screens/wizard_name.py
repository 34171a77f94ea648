"""Step 2 of the Communicate wizard: the job name."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Label, Static

from commjobs_tui.core.errors import UserError
from commjobs_tui.core.jobs import validate_job_name
from commjobs_tui.core.wizard import update_draft_job
from commjobs_tui.db.models import JOB_NAME_MAX_LENGTH
from commjobs_tui.screens.wizard_common import WizardStepScreen
from commjobs_tui.screens.wizard_instructions import InstructionsScreen

DUPLICATE_CHECK_DELAY_SECONDS = 0.2


def duplicate_warning(name: str, job_ids: list[int]) -> str:
    """Warn that other jobs share the name, naming the first few by id."""
    shown = ", ".join(str(job_id) for job_id in job_ids[:3])
    noun = "Job" if len(job_ids) == 1 else "Jobs"
    return (
        f"{noun} {shown} already named “{name}”. You can keep the name, but a "
        "distinct one is easier to find later."
    )


class JobNameScreen(WizardStepScreen):
    """Step 2: name the job. A suggested name is filled in."""

    STEP = 2
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+n",
            "next_step",
            "Next",
            tooltip="Go to the next step: write the instructions",
            id="wizard.next",
        ),
    ]

    def compose_step(self) -> ComposeResult:
        yield Static(
            Text(self.draft.summary().describe()),
            id="name-summary",
            classes="wizard-summary",
        )
        yield Label("Job name", id="name-label")
        yield Input(
            self.draft.name_for_step(self.today()),
            placeholder="for example Spring thank-you 2026",
            id="job-name",
        )
        yield Static("", id="name-error", classes="wizard-error")
        yield Static("", id="name-warning", classes="wizard-warning")
        yield Static(
            f"Required, at most {JOB_NAME_MAX_LENGTH} characters. Press enter or "
            "ctrl+n to continue, escape to go back to the donors.",
            id="name-help",
            classes="wizard-hint",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name-error", Static).display = False
        self.query_one("#name-warning", Static).display = False
        self.name_input.focus()
        self.draft.set_name(self.name_input.value, self.today())
        self.check_name(self.name_input.value, show_empty=False)

    @property
    def name_input(self) -> Input:
        return self.query_one("#job-name", Input)

    def show_error(self, message: str | None) -> None:
        error = self.query_one("#name-error", Static)
        error.display = message is not None
        error.update(Text(message or ""))

    def check_name(self, text: str, *, show_empty: bool) -> str | None:
        """Validate the name, show the result, and return the trimmed name.

        An empty name is reported only when `show_empty` is true, so that
        clearing the field to type a new name shows no error.
        """
        try:
            name = validate_job_name(text)
        except UserError as error:
            if text.strip() or show_empty:
                self.show_error(str(error))
            else:
                self.show_error(None)
            self.query_one("#name-warning", Static).display = False
            return None
        self.show_error(None)
        self.find_duplicates(name)
        return name

    @on(Input.Changed, "#job-name")
    def name_changed(self, event: Input.Changed) -> None:
        self.draft.set_name(event.value, self.today())
        self.check_name(event.value, show_empty=False)

    @work(
        group="wizard-name-check",
        exclusive=True,
        exit_on_error=False,
        description="Checking the job name",
    )
    async def find_duplicates(self, name: str) -> None:
        # Typing cancels this worker and starts another, so one query runs
        # when the typing pauses.
        await asyncio.sleep(DUPLICATE_CHECK_DELAY_SECONDS)
        job_ids = await self.context.jobs.find_jobs_named(name)
        others = [job_id for job_id in job_ids if job_id != self.draft.job_id]
        warning = self.query_one("#name-warning", Static)
        warning.display = bool(others)
        warning.update(Text(duplicate_warning(name, others) if others else ""))

    @on(Input.Submitted, "#job-name")
    def name_submitted(self) -> None:
        self.action_next_step()

    def action_next_step(self) -> None:
        name = self.check_name(self.name_input.value, show_empty=True)
        if name is None:
            self.name_input.focus()
            return
        self.go_next(name)

    @work(
        group="wizard-next",
        exclusive=True,
        exit_on_error=False,
        description="Renaming the draft job",
    )
    async def go_next(self, name: str) -> None:
        # The inline warning may not have appeared yet if enter came quickly,
        # so a duplicate name is also announced as the wizard moves on.
        job_ids = await self.context.jobs.find_jobs_named(name)
        others = [job_id for job_id in job_ids if job_id != self.draft.job_id]
        if others:
            self.notify(duplicate_warning(name, others), severity="warning")
        await update_draft_job(self.context.jobs, self.draft, name=name)
        await self.app.push_screen(InstructionsScreen(self.context, self.draft))
