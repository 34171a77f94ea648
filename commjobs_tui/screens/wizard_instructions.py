"""Step 3 of the Communicate wizard: write the instructions and preview drafts."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, TextArea

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import UserError
from commjobs_tui.core.jobs import EmailRow, validate_instruction
from commjobs_tui.core.wizard import StarterTemplate, WizardDraft, preview_draft
from commjobs_tui.screens.wizard_common import WizardStepScreen
from commjobs_tui.screens.wizard_pickers import PreviewDonorPicker, TemplatePicker
from commjobs_tui.screens.wizard_review import ReviewScreen


def preview_email(row: EmailRow) -> RenderableType:
    """Render one preview email: the donor, then the subject and body or the error."""
    heading = f"{row.donor_name} <{row.donor_email or 'no email'}>"
    parts: list[RenderableType] = [Rule(Text(heading), align="left", style="dim")]
    if row.status == "completed":
        parts.append(Text.assemble(("Subject: ", "bold"), row.subject or ""))
        parts.append(Text(""))
        parts.append(Text(row.body or ""))
    else:
        reason = row.last_error or "no draft was returned"
        parts.append(Text(f"Preview failed: {reason}", style="bold red"))
    parts.append(Text(""))
    return Group(*parts)


def history_lines(history: Sequence[dict[str, Any]]) -> Text:
    """Render the refinement history, oldest first, one entry per preview."""
    noun = "preview" if len(history) == 1 else "previews"
    text = Text(f"Refinement history ({len(history)} {noun})", style="bold")
    for number, entry in enumerate(history, start=1):
        instruction = " ".join(str(entry.get("instruction", "")).split())
        stamp = str(entry.get("at", ""))
        with contextlib.suppress(ValueError):
            stamp = dt.datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC")
        text.append(f"\n{number}. ", style="bold")
        text.append(f"{stamp}  ", style="dim")
        text.append(instruction)
    return text


class InstructionsScreen(WizardStepScreen):
    """Step 3: the instructions, starter templates, previews and their history."""

    STEP = 3
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+r",
            "preview",
            "Preview",
            tooltip="Draft preview emails for up to 3 donors with these instructions",
            id="wizard.preview",
        ),
        Binding(
            "ctrl+t",
            "templates",
            "Templates",
            tooltip="Insert a starter template at the cursor",
            id="wizard.templates",
        ),
        Binding(
            "ctrl+o",
            "choose_preview_donors",
            "Preview donors",
            tooltip="Choose which donors the previews are drafted for",
            id="wizard.preview_donors",
        ),
        Binding(
            "ctrl+n",
            "next_step",
            "Next",
            tooltip="Go to the next step: review and start the job",
            id="wizard.next",
        ),
    ]

    def __init__(self, context: AppContext, draft: WizardDraft) -> None:
        super().__init__(context, draft)
        self.previewing = False

    def compose_step(self) -> ComposeResult:
        yield Static(
            "Instructions: what should each email say? The model also gets the "
            "donor's name and giving.",
            id="instruction-label",
        )
        yield TextArea(
            self.draft.instruction,
            id="instruction",
            soft_wrap=True,
            tab_behavior="focus",
            placeholder="For example: Thank each donor for their most recent gift.",
        )
        yield Static("", id="preview-donors", classes="wizard-status")
        yield Static("", id="preview-status", classes="wizard-status")
        with VerticalScroll(id="preview-pane"):
            yield Static("", id="preview-emails")
            yield Static("", id="preview-history")

    def on_mount(self) -> None:
        super().on_mount()
        self.editor.focus()
        self.editor.move_cursor(self.editor.document.end)
        self.show_preview_donors()
        self.show_previews()

    @property
    def editor(self) -> TextArea:
        return self.query_one("#instruction", TextArea)

    # Showing ---------------------------------------------------------------

    def show_preview_donors(self) -> None:
        donors = self.draft.preview_donors()
        names = ", ".join(donor.name for donor in donors) or "nobody"
        self.query_one("#preview-donors", Static).update(
            Text(f"Preview donors (ctrl+o to choose): {names}")
        )

    def show_previews(self) -> None:
        draft = self.draft
        status = self.query_one("#preview-status", Static)
        if self.previewing:
            status.update(Text("Drafting previews…", style="italic"))
        elif not draft.previews:
            status.update(
                Text(
                    "No preview yet. Press ctrl+r to draft emails for the preview "
                    "donors, then refine the instructions and preview again."
                )
            )
        elif draft.previews_are_current():
            rounds = len(draft.history)
            count = len(draft.previews)
            noun = "email" if count == 1 else "emails"
            status.update(
                Text(
                    f"Preview {rounds} of this job: {count} {noun}. "
                    "Tab to the preview to scroll; the refinement history is "
                    "below the emails."
                )
            )
        else:
            status.update(
                Text(
                    "The instructions changed since this preview. Press ctrl+r to "
                    "preview again.",
                    style="yellow",
                )
            )
        emails = self.query_one("#preview-emails", Static)
        emails.update(Group(*(preview_email(row) for row in draft.previews)))
        history = self.query_one("#preview-history", Static)
        history.display = bool(draft.history)
        history.update(history_lines(draft.history))

    # Editing ---------------------------------------------------------------

    @on(TextArea.Changed, "#instruction")
    def instruction_changed(self, event: TextArea.Changed) -> None:
        was_current = self.draft.previews_are_current()
        self.draft.instruction = event.text_area.text
        if was_current != self.draft.previews_are_current():
            self.show_previews()

    def action_templates(self) -> None:
        def chosen(template: StarterTemplate | None) -> None:
            if template is not None:
                self.insert_template(template)

        self.app.push_screen(TemplatePicker(), chosen)

    def insert_template(self, template: StarterTemplate) -> None:
        editor = self.editor
        if not editor.text.strip():
            editor.load_text(template.text)
            editor.move_cursor(editor.document.end)
        else:
            editor.insert(template.text)
        self.draft.instruction = editor.text
        editor.focus()

    def action_choose_preview_donors(self) -> None:
        donors = self.draft.emailable_donors()
        if not donors:
            self.notify(
                "None of the selected donors can be emailed, so none can be previewed.",
                severity="warning",
            )
            return

        def chosen(donor_ids: list[int] | None) -> None:
            if donor_ids is None:
                return
            self.draft.preview_donor_ids = donor_ids
            self.show_preview_donors()

        # Only the operator's own picks start marked. With none, previews use
        # the first donors by name, as the dialog says.
        emailable = {donor.id for donor in donors}
        picked = [i for i in self.draft.preview_donor_ids if i in emailable]
        self.app.push_screen(PreviewDonorPicker(donors, picked), chosen)

    # Previews --------------------------------------------------------------

    def instruction_error(self) -> str | None:
        try:
            validate_instruction(self.draft.instruction)
        except UserError as error:
            return str(error)
        return None

    def action_preview(self) -> None:
        if self.previewing:
            self.notify("A preview is already being drafted.", severity="warning")
            return
        error = self.instruction_error()
        if error is not None:
            self.notify(error, title="Instructions", severity="error")
            self.editor.focus()
            return
        self.previewing = True
        self.show_previews()
        self.run_preview()

    @work(
        group="wizard-preview",
        exclusive=True,
        exit_on_error=False,
        description="Drafting previews",
    )
    async def run_preview(self) -> None:
        try:
            await preview_draft(
                self.context.runner, self.draft, self.context.settings, self.today()
            )
        finally:
            self.previewing = False
            self.show_previews()
        self.query_one("#preview-pane", VerticalScroll).scroll_home(animate=False)

    def action_next_step(self) -> None:
        error = self.instruction_error()
        if error is not None:
            self.notify(error, title="Instructions", severity="error")
            self.editor.focus()
            return
        if self.previewing:
            self.notify(
                "Wait for the preview to finish, then continue.", severity="warning"
            )
            return
        self.app.push_screen(ReviewScreen(self.context, self.draft))
