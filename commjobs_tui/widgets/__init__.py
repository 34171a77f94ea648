"""Widgets shared by the screens."""

from commjobs_tui.widgets.sidebar import SECTIONS, Section, Sidebar

__all__ = ["SECTIONS", "Section", "Sidebar"]
