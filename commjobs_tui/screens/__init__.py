"""Screens of the app, and the base classes that give them the app's frame.

Each section (Donors, Communicate, Communication Jobs, Communications) is an app
mode with its own screen stack. Its first screen is built as `ScreenClass(context)`.
Screens that subclass `SectionScreen` get the header, the sidebar and the footer,
and their failed workers reach the app's single failure handler.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from commjobs_tui.core.context import AppContext
from commjobs_tui.widgets.sidebar import SECTIONS, Sidebar

ResultType = TypeVar("ResultType")


def section_title(mode: str) -> str:
    """Return the title of the section with this mode name, or the name itself."""
    for section in SECTIONS:
        if section.mode == mode:
            return section.title
    return mode


def forward_worker_failure(screen: Screen[Any], event: Worker.StateChanged) -> None:
    """Pass a failed worker's state change on to the app.

    Worker.StateChanged does not bubble (Textual 8.2), so the app's handler sees
    only its own workers unless screens pass failures on.
    """
    if event.state is WorkerState.ERROR:
        screen.app.post_message(Worker.StateChanged(event.worker, event.state))


class SectionScreen(Screen[None]):
    """A screen inside one section: header, sidebar, the body, and footer.

    Subclasses set SECTION to their section's mode name and yield their widgets
    from `compose_body`. Escape goes back when the screen was pushed on top of
    the section's first screen.
    """

    SECTION: ClassVar[str] = ""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "back",
            "Back",
            tooltip="Go back to the previous screen",
            id="section.back",
        ),
    ]

    def __init__(
        self,
        context: AppContext,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.context = context

    @property
    def heading(self) -> str:
        """The name of this screen in the header and the help dialog."""
        return section_title(self.SECTION)

    def on_mount(self) -> None:
        self.update_header()

    def update_header(self) -> None:
        """Show the screen's heading and the open database in the header."""
        self.sub_title = f"{self.heading} · {self.app.sub_title}"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="frame"):
            yield Sidebar(active=self.SECTION)
            with Vertical(id="section-body"):
                yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        """Yield the widgets of the section body."""
        yield from ()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.is_current and len(self.app.screen_stack) > 1
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.dismiss()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_failure(self, event)


class AppModalScreen(ModalScreen[ResultType]):
    """A dialog over the current screen whose failed workers reach the app."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        forward_worker_failure(self, event)
