"""The sidebar that lists the app's sections and switches between them by click."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label


@dataclass(frozen=True)
class Section:
    """One top-level part of the app: its app mode, title and number key."""

    mode: str
    title: str
    key: str


SECTIONS = (
    Section("donors", "Donors", "1"),
    Section("communicate", "Communicate", "2"),
    Section("jobs", "Communication Jobs", "3"),
    Section("communications", "Communications", "4"),
)


class SidebarItem(Horizontal):
    """One section's entry: its key and title. A click selects the section."""

    def __init__(self, section: Section, *, active: bool) -> None:
        super().__init__(
            id=f"sidebar-{section.mode}", classes="-active" if active else ""
        )
        self.section = section
        self.tooltip = f"{section.title} (key {section.key})"

    def compose(self) -> ComposeResult:
        yield Label(self.section.key, classes="sidebar-key")
        yield Label(self.section.title, classes="sidebar-title")

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(Sidebar.SectionSelected(self.section.mode))


class Sidebar(Vertical):
    """The list of sections, with the current one highlighted.

    It never takes focus, because the number keys switch sections from the
    keyboard. On a screen with the "-narrow" class it shows the keys alone.
    """

    # Unscoped, so that the "-narrow" rules can match the screen above the sidebar.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    Sidebar {
        width: 22;
        height: 1fr;
        padding: 1 0;
        background: $panel;
    }
    Sidebar SidebarItem {
        width: 1fr;
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
        color: $text-muted;
    }
    Sidebar SidebarItem:hover {
        background: $boost;
        color: $text;
    }
    Sidebar SidebarItem.-active {
        background: $accent 30%;
        color: $text;
        text-style: bold;
    }
    Sidebar .sidebar-key {
        width: 2;
        text-style: bold;
    }
    Sidebar .sidebar-title {
        width: 1fr;
    }
    .-narrow Sidebar {
        width: 5;
    }
    .-narrow Sidebar .sidebar-title {
        display: none;
    }
    """

    class SectionSelected(Message):
        """A section was clicked in the sidebar."""

        def __init__(self, mode: str) -> None:
            super().__init__()
            self.mode = mode

    def __init__(self, active: str) -> None:
        super().__init__()
        self.active = active

    def compose(self) -> ComposeResult:
        for section in SECTIONS:
            yield SidebarItem(section, active=section.mode == self.active)
