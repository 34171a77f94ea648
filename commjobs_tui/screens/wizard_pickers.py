"""Dialogs of the instructions step: starter templates and preview donors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from commjobs_tui.core.wizard import (
    MAX_PREVIEW_DONORS,
    STARTER_TEMPLATES,
    SelectedDonor,
    StarterTemplate,
)
from commjobs_tui.screens import AppModalScreen

# The donor list of the dialog shows at most this many matches, by name.
MAX_LISTED_DONORS = 300


class TemplatePicker(AppModalScreen[StarterTemplate | None]):
    """A dialog listing the starter templates. Enter inserts, escape closes."""

    CSS_PATH = "../styles/wizard.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="wizard.templates.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="template-dialog", classes="wizard-dialog"):
            yield Static("Insert a starter template", classes="dialog-title")
            options = []
            for template in STARTER_TEMPLATES:
                prompt = Text(template.title, style="bold")
                prompt.append(f"\n{template.text}\n", style="dim")
                options.append(Option(prompt, id=template.key))
            yield OptionList(*options, id="template-list")
            yield Static(
                "Enter inserts the highlighted template at the cursor; edit it "
                "to fit. Escape closes.",
                classes="dialog-hint",
            )

    @on(OptionList.OptionSelected, "#template-list")
    def template_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = next(t for t in STARTER_TEMPLATES if t.key == event.option.id)
        self.dismiss(chosen)

    def action_close(self) -> None:
        self.dismiss(None)


class PreviewDonorList(OptionList):
    """The donors of the preview dialog. Space marks, enter confirms."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "screen.toggle_donor",
            "Mark",
            tooltip="Mark or unmark the highlighted donor",
            id="wizard.preview_donors.mark",
        ),
        Binding(
            "enter",
            "screen.confirm",
            "Use marked donors",
            id="wizard.preview_donors.confirm",
        ),
    ]


class PickerFilter(Input):
    """The filter of the preview dialog. Enter or down moves to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "screen.focus_list", "To list", show=False),
    ]


def donor_prompt(donor: SelectedDonor, marked: bool) -> Text:
    """Render a donor of the dialog, with ✓ when marked."""
    text = Text("✓ " if marked else "  ", style="bold green")
    text.append(f"{donor.name} <{donor.email or ''}>", style="")
    return text


class PreviewDonorPicker(AppModalScreen[list[int] | None]):
    """A dialog to choose up to three emailable donors for the previews."""

    CSS_PATH = "../styles/wizard.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="wizard.preview_donors.close"),
    ]

    def __init__(self, donors: Sequence[SelectedDonor], picked: Sequence[int]) -> None:
        super().__init__()
        self.donors = list(donors)
        self.donors_by_id = {donor.id: donor for donor in self.donors}
        self.picked = list(picked)[:MAX_PREVIEW_DONORS]
        self.match_count = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="preview-donor-dialog", classes="wizard-dialog"):
            yield Static("Choose preview donors", classes="dialog-title")
            yield PickerFilter(
                placeholder="Type to filter by name or email, then press enter",
                id="preview-donor-filter",
                compact=True,
            )
            yield PreviewDonorList(id="preview-donor-list")
            yield Static("", id="preview-donor-count", classes="dialog-hint")
            yield Static(
                "Type to filter, then enter or down moves to the list. There, "
                f"space marks a donor (at most {MAX_PREVIEW_DONORS}) and enter "
                "uses the marked donors. Escape cancels. With none marked, "
                f"previews use the first {MAX_PREVIEW_DONORS} by name.",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.show_donors("")
        self.query_one(PickerFilter).focus()

    def show_donors(self, text: str) -> None:
        needle = text.strip().casefold()
        matches = [
            donor
            for donor in self.donors
            if needle in donor.name.casefold()
            or needle in (donor.email or "").casefold()
        ]
        listing = self.query_one(PreviewDonorList)
        listing.clear_options()
        listing.add_options(
            Option(donor_prompt(donor, donor.id in self.picked), id=str(donor.id))
            for donor in matches[:MAX_LISTED_DONORS]
        )
        if matches:
            listing.highlighted = 0
        self.match_count = len(matches)
        self.update_count()

    def update_count(self) -> None:
        count = self.query_one("#preview-donor-count", Static)
        text = f"{len(self.picked)} of {MAX_PREVIEW_DONORS} marked"
        if self.match_count > MAX_LISTED_DONORS:
            text += (
                f" · showing the first {MAX_LISTED_DONORS} of "
                f"{self.match_count:,} matches, so type to narrow them"
            )
        count.update(Text(text))

    @on(Input.Changed, "#preview-donor-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.show_donors(event.value)

    @on(Input.Submitted, "#preview-donor-filter")
    def filter_submitted(self) -> None:
        self.action_focus_list()

    def action_focus_list(self) -> None:
        self.query_one(PreviewDonorList).focus()

    @on(OptionList.OptionSelected, "#preview-donor-list")
    def donor_clicked(self) -> None:
        self.action_toggle_donor()

    def action_toggle_donor(self) -> None:
        listing = self.query_one(PreviewDonorList)
        index = listing.highlighted
        if index is None:
            return
        donor_id = int(listing.get_option_at_index(index).id or 0)
        if donor_id in self.picked:
            self.picked.remove(donor_id)
        elif len(self.picked) >= MAX_PREVIEW_DONORS:
            self.notify(
                f"Previews draft at most {MAX_PREVIEW_DONORS} emails. Unmark a "
                "donor first.",
                severity="warning",
            )
            return
        else:
            self.picked.append(donor_id)
        marked = donor_id in self.picked
        donor = self.donors_by_id[donor_id]
        listing.replace_option_prompt_at_index(index, donor_prompt(donor, marked))
        self.update_count()

    def action_confirm(self) -> None:
        self.dismiss(list(self.picked))

    def action_close(self) -> None:
        self.dismiss(None)
