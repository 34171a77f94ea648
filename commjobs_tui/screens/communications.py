"""The Communications section, which is not built yet."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from commjobs_tui.screens import SectionScreen


class CommunicationsScreen(SectionScreen):
    """Placeholder for the Communications section."""

    SECTION = "communications"

    def compose_body(self) -> ComposeResult:
        yield Static("Communications is not available yet.", classes="placeholder")
