"""The help dialog: every key binding of the screen it was opened from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from commjobs_tui.screens import AppModalScreen


@dataclass(frozen=True)
class KeyHelp:
    """One row of the help table: the keys, what they do, and where they work.

    `scope` is "Everywhere", "Screen", or the focused widget ("Table").
    """

    keys: str
    description: str
    scope: str


# Rows list the screen's own keys first, then the focused widget's, then the app's.
_SCREEN, _WIDGET, _APP = range(3)


def _scope_of(binding: ActiveBinding) -> tuple[int, str]:
    """Return the sort rank and the label of where a binding works."""
    node = binding.node
    if isinstance(node, App):
        return _APP, "Everywhere"
    if isinstance(node, Screen):
        return _SCREEN, "Screen"
    if isinstance(node, DataTable):
        return _WIDGET, "Table"
    if isinstance(node, Input):
        return _WIDGET, "Text field"
    return _WIDGET, type(node).__name__


def _describe(binding: Binding) -> str:
    """Prefer the tooltip, which is longer than the footer's short description."""
    text = binding.tooltip or binding.description
    if text:
        return text
    return binding.action.replace("_", " ").capitalize()


def collect_key_help(app: App[Any], bindings: Iterable[ActiveBinding]) -> list[KeyHelp]:
    """Turn a screen's active bindings into help rows, one per action and scope.

    Keys bound to the same action in the same place share a row ("q, ^q"). The
    screen's own keys come first, then the focused widget's, then the app's.
    Within each group, bindings with an id (the app's own) come before Textual's
    built-in ones. System bindings and disabled bindings are left out.
    """
    rows: dict[tuple[int, bool, str, str, str], list[str]] = {}
    for active in bindings:
        binding = active.binding
        if binding.system or not active.enabled:
            continue
        rank, scope = _scope_of(active)
        built_in = binding.id is None
        row_key = (rank, built_in, scope, _describe(binding), binding.action)
        rows.setdefault(row_key, []).append(app.get_key_display(binding))
    ordered = sorted(rows.items(), key=lambda item: item[0][:2])
    return [
        KeyHelp(keys=", ".join(keys), description=description, scope=scope)
        for (_rank, _built_in, scope, description, _action), keys in ordered
    ]


class HelpScreen(AppModalScreen[None]):
    """A dialog that lists key bindings. Escape or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close help", id="help.close"),
        Binding("question_mark", "close", "Close help", show=False),
    ]

    def __init__(self, title: str, rows: Sequence[KeyHelp]) -> None:
        super().__init__(id="help")
        self.heading = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Text(f"Keys: {self.heading}"), id="help-title")
            table: DataTable[Text] = DataTable(
                id="help-table", cursor_type="row", zebra_stripes=True
            )
            table.add_columns("Key", "Where", "Action")
            for row in self.rows:
                table.add_row(Text(row.keys), Text(row.scope), Text(row.description))
            yield table
            yield Static(
                "Escape closes this help. Number keys 1-4 switch sections "
                "unless a text field has focus.",
                id="help-hint",
            )

    def action_close(self) -> None:
        self.dismiss()
