"""Pieces shared by the four steps of the Communicate wizard."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from commjobs_tui.core.context import AppContext
from commjobs_tui.core.wizard import WizardDraft
from commjobs_tui.screens import SectionScreen

STEP_TITLES = ("Select donors", "Job name", "Instructions", "Review")


def step_bar_text(step: int) -> Text:
    """Render the list of steps with the current one highlighted."""
    text = Text()
    for number, title in enumerate(STEP_TITLES, start=1):
        if number > 1:
            text.append("  ›  ", style="dim")
        label = f"{number} {title}"
        if number == step:
            text.append(label, style="bold reverse")
        elif number < step:
            text.append(label)
        else:
            text.append(label, style="dim")
    return text


class WizardStepScreen(SectionScreen):
    """One step of the wizard. Every step shares the same `WizardDraft`.

    Subclasses set STEP and yield their widgets from `compose_step`. Escape goes
    back a step; the draft keeps what was entered.
    """

    SECTION = "communicate"
    CSS_PATH = "../styles/wizard.tcss"
    STEP: ClassVar[int] = 1

    def __init__(self, context: AppContext, draft: WizardDraft) -> None:
        super().__init__(context)
        self.draft = draft

    @property
    def heading(self) -> str:
        title = STEP_TITLES[self.STEP - 1]
        text = f"Communicate · Step {self.STEP} of {len(STEP_TITLES)}: {title}"
        if self.STEP >= 3 and self.draft.name:
            text += f" · {self.draft.name}"
        return text

    def today(self) -> dt.date:
        return self.context.clock().date()

    def compose_body(self) -> ComposeResult:
        yield Static(step_bar_text(self.STEP), classes="wizard-steps")
        yield from self.compose_step()

    def compose_step(self) -> ComposeResult:
        """Yield the widgets of this step, below the list of steps."""
        yield from ()
