"""The quick segments of the wizard's first step: toggles with editable values."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Checkbox, Input, Label

from commjobs_tui.core.donors import DonorSegment
from commjobs_tui.core.errors import UserError
from commjobs_tui.core.uistate import UiState
from commjobs_tui.core.wizard import parse_dollars, parse_months, whole_dollars

VALUES_STATE_KEY = "wizard.segment_values"
MONTHS_PATTERN = r"\d{0,4}"
DOLLARS_PATTERN = r"[\d,]{0,12}(\.\d{0,2})?"


@dataclass(frozen=True)
class SegmentSpec:
    """One quick segment: its key, toggle label, default value and unit label."""

    key: str
    label: str
    default: str | None = None
    unit: str = ""
    pattern: str = MONTHS_PATTERN


SEGMENTS = (
    SegmentSpec("lapsed", "Lapsed over", "12", "months"),
    SegmentSpec("recent", "Gave in last", "12", "months"),
    SegmentSpec("total", "Total at least $", "1000", pattern=DOLLARS_PATTERN),
    SegmentSpec("email", "Has email"),
)


class SegmentToggle(Checkbox):
    """A compact checkbox that shows ✓ when on, so its state does not rely on color."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(label, id=id, compact=True)
        self.BUTTON_INNER = " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "✓" if self.value else " "
        super().watch_value()


class SegmentBar(Horizontal):
    """Toggles for the quick segments, with their months or amount editable.

    It posts `SegmentBar.Changed` when a toggle flips or the value of a segment
    that is on changes. The values typed are remembered in `ui_state`.
    """

    class Changed(Message):
        """The segment the bar describes may have changed."""

    def __init__(self, ui_state: UiState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ui_state = ui_state

    def compose(self) -> ComposeResult:
        saved = self.ui_state.get(VALUES_STATE_KEY)
        values = saved if isinstance(saved, dict) else {}
        for spec in SEGMENTS:
            with Horizontal(classes="segment"):
                yield SegmentToggle(spec.label, id=f"segment-{spec.key}")
                if spec.default is None:
                    continue
                value = values.get(spec.key)
                yield Input(
                    value if isinstance(value, str) else spec.default,
                    id=f"segment-{spec.key}-value",
                    classes="segment-value",
                    restrict=spec.pattern,
                    compact=True,
                    tooltip=f"{spec.label} {spec.unit}".strip(),
                )
                if spec.unit:
                    yield Label(spec.unit, classes="segment-unit")

    def is_on(self, key: str) -> bool:
        return self.query_one(f"#segment-{key}", Checkbox).value

    def value(self, key: str) -> str:
        return self.query_one(f"#segment-{key}-value", Input).value

    def read(self) -> DonorSegment | None:
        """Build the segment from the toggles that are on, or None if none is.

        Raises UserError naming the segment whose value is invalid.
        """
        lapsed = recent = total = None
        if self.is_on("lapsed"):
            lapsed = parse_months(self.value("lapsed"), "Lapsed over")
        if self.is_on("recent"):
            recent = parse_months(self.value("recent"), "Gave in last")
        if self.is_on("total"):
            total = parse_dollars(self.value("total"), "Total at least")
        segment = DonorSegment(
            lapsed_months=lapsed,
            gave_within_months=recent,
            min_total_cents=total,
            has_email=True if self.is_on("email") else None,
        )
        if segment == DonorSegment():
            return None
        return segment

    def focus_first(self) -> None:
        self.query_one(Checkbox).focus()

    @on(Checkbox.Changed)
    def toggle_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())

    @on(Input.Changed)
    def value_changed(self, event: Input.Changed) -> None:
        event.stop()
        key = (event.input.id or "").removeprefix("segment-").removesuffix("-value")
        saved = self.ui_state.get(VALUES_STATE_KEY)
        values = dict(saved) if isinstance(saved, dict) else {}
        values[key] = event.value
        self.ui_state.set(VALUES_STATE_KEY, values)
        if self.is_on(key):
            self.post_message(self.Changed())


def describe_segment(segment: DonorSegment | None) -> str:
    """Describe a segment in words for the status line, or "" for none."""
    if segment is None:
        return ""
    parts = []
    if segment.lapsed_months is not None:
        parts.append(f"lapsed over {segment.lapsed_months} months")
    if segment.gave_within_months is not None:
        parts.append(f"gave in the last {segment.gave_within_months} months")
    if segment.min_total_cents is not None:
        parts.append(f"total at least {whole_dollars(segment.min_total_cents)}")
    if segment.has_email:
        parts.append("has an email")
    return ", ".join(parts)


def read_segment(bar: SegmentBar) -> tuple[DonorSegment | None, str | None]:
    """Read the bar; return the segment and None, or None and the error message."""
    try:
        return bar.read(), None
    except UserError as error:
        return None, str(error)
