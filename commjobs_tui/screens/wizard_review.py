"""Step 4 of the Communicate wizard: review the job and start it."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.jobs import JobDetail
from commjobs_tui.core.wizard import (
    JobEstimate,
    WizardDraft,
    describe_provider,
    review_draft,
)
from commjobs_tui.screens.wizard_common import WizardStepScreen

log = logging.getLogger(__name__)

SECTION_MODE = WizardStepScreen.SECTION


def describe_cost(estimate: JobEstimate) -> Text:
    """Describe the estimated tokens and cost, saying that it is an estimate."""
    if estimate.offline:
        return Text("Nothing to pay: offline drafts use local templates, no model.")
    per_email = estimate.completion_tokens_per_email
    source = (
        "the previews' average"
        if estimate.completion_from_previews
        else "an assumed size"
    )
    text = Text(
        f"About {estimate.prompt_tokens:,} prompt tokens and "
        f"{estimate.completion_tokens:,} completion tokens "
        f"({per_email:,} per email, from {source}). "
    )
    if estimate.cost_usd is None:
        text.append(
            f"No price is configured for model {estimate.model}, so the cost is "
            "unknown. Add it under [prices] in the config file.",
            style="yellow",
        )
    else:
        text.append(f"Estimated cost: ${estimate.cost_usd:,.2f}.", style="bold")
    text.append(" This is an estimate; retries cost extra.", style="dim")
    return text


def review_table(job: JobDetail, estimate: JobEstimate) -> Table:
    """Lay out the facts of the job to start as a two-column table."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("Job", Text(f"{job.name} (job {job.id}, pending)"))
    emails = "email" if job.total == 1 else "emails"
    donors = Text(f"{job.total:,} {emails} to draft")
    if job.skipped:
        noun = "donor" if job.skipped == 1 else "donors"
        donors.append(
            f" · {job.skipped:,} selected {noun} skipped (no usable email "
            "address, or marked do not contact)"
        )
    table.add_row("Donors", donors)
    table.add_row("Provider", Text(describe_provider(job.provider, job.model)))
    table.add_row("Estimate", describe_cost(estimate))
    rounds = len(job.refinement_history)
    if rounds:
        previews = f"{rounds} {'round' if rounds == 1 else 'rounds'}"
    else:
        previews = "none (no preview was drafted)"
    table.add_row("Previews", Text(previews))
    table.add_row("Instructions", Text(job.instruction))
    return table


async def show_started_job(app: App[Any], context: AppContext, job_id: int) -> None:
    """Show the started job, then reset the wizard to a fresh first step.

    This runs as an app callback, not in a wizard screen, because resetting the
    section removes every wizard screen. The job is shown first, so the operator
    does not wait for the reset.
    """
    # Imported here because the first step imports the later steps.
    from commjobs_tui.screens.communicate import CommunicateScreen

    if hasattr(app, "action_open_job"):
        await app.run_action(f"open_job({job_id})")
    else:
        await app.run_action("switch_section('jobs')")
    if app.current_mode == SECTION_MODE:
        # The job could not be shown, so the reset has to leave the section.
        await app.run_action("new_job")
        return
    await app.remove_mode(SECTION_MODE)
    app.add_mode(SECTION_MODE, partial(CommunicateScreen, context))


class ReviewScreen(WizardStepScreen):
    """Step 4: what the job will do and cost; confirming starts it."""

    STEP = 4
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+n",
            "start_job",
            "Start job",
            tooltip="Start drafting every email of the job",
            id="wizard.start",
        ),
    ]

    def __init__(self, context: AppContext, draft: WizardDraft) -> None:
        super().__init__(context, draft)
        self.job: JobDetail | None = None
        self.starting = False

    def compose_step(self) -> ComposeResult:
        with VerticalScroll(id="review-pane"):
            yield Static(Text("Preparing the review…"), id="review-facts")
        with Horizontal(id="review-actions"):
            yield Button("Start job", id="start-job", variant="primary", disabled=True)
            yield Static(
                "Enter or ctrl+n starts the job; it keeps running when you leave "
                "this screen. Escape goes back to change anything.",
                id="review-hint",
                classes="wizard-hint",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.load_review()

    @work(
        group="wizard-review",
        exclusive=True,
        exit_on_error=False,
        description="Preparing the review",
    )
    async def load_review(self) -> None:
        job, estimate = await review_draft(
            self.context.runner, self.draft, self.context.settings, self.today()
        )
        self.job = job
        self.query_one("#review-facts", Static).update(review_table(job, estimate))
        button = self.query_one("#start-job", Button)
        button.disabled = False
        button.focus()

    @on(Button.Pressed, "#start-job")
    def start_pressed(self) -> None:
        self.action_start_job()

    def action_start_job(self) -> None:
        if self.job is None:
            self.notify(
                "The review is still being prepared. Start the job when it shows.",
                severity="warning",
            )
            return
        if self.starting:
            return
        self.starting = True
        self.query_one("#start-job", Button).disabled = True
        self.start_job(self.job)

    @work(
        group="wizard-start",
        exclusive=True,
        exit_on_error=False,
        description="Starting the job",
    )
    async def start_job(self, job: JobDetail) -> None:
        try:
            await self.context.runner.start(job.id)
        except Exception:
            self.starting = False
            self.query_one("#start-job", Button).disabled = False
            raise
        log.info("started job %s from the wizard", job.id)
        self.notify(
            f"Started job {job.id}, “{job.name}”: drafting {job.total:,} emails."
        )
        self.app.call_later(show_started_job, self.app, self.context, job.id)
