"""The Communications section: what each donor was sent, as threads of messages."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowDoesNotExist

from commjobs_tui.core.communications import (
    CHANNELS,
    MessageRow,
    ThreadRow,
    list_threads,
    thread_messages,
)
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.errors import NotFoundError
from commjobs_tui.screens import SectionScreen, section_title
from commjobs_tui.screens.donors import EmptyState, FilterInput

# The newest threads shown at once. One more is loaded to tell whether there are
# more, and the status line then suggests a filter.
THREAD_LIMIT = 500
FILTER_DEBOUNCE_SECONDS = 0.25
CHANNEL_STATE_KEY = "communications.channel"
# The channel filter cycles through these, None being all channels.
CHANNEL_FILTERS: tuple[str | None, ...] = (None, *CHANNELS)
EMPTY_MESSAGE = (
    "No communications yet: mark a job's emails as sent to record them here."
)
# DataTable puts one cell of padding on each side of every column.
CELL_PADDING = 2
SCROLLBAR_WIDTH = 2
MIN_FLEXIBLE_WIDTH = 8
# Below this average width of the shared columns, the Email column is left out so
# that donor names and subjects stay readable. The thread view shows the address.
MIN_SHARED_WIDTH = 14


@dataclass(frozen=True)
class Column:
    """A column of the thread table.

    A column with a `width` keeps it. The others share the remaining width in
    proportion to their `share`. An `optional` column is left out when the table
    is narrow.
    """

    key: str
    label: str
    width: int | None = None
    share: int = 0
    right_aligned: bool = False
    optional: bool = False


COLUMNS = (
    Column("donor", "Donor", share=3),
    Column("email", "Email", share=3, optional=True),
    Column("subject", "Subject", share=4),
    Column("messages", "Msgs", width=4, right_aligned=True),
    Column("last_sent", "Last sent", width=10),
    Column("channel", "Channel", width=7),
)


def _spare_width(columns: tuple[Column, ...], available: int) -> int:
    fixed = sum(column.width or 0 for column in columns)
    padding = CELL_PADDING * len(columns) + SCROLLBAR_WIDTH
    return available - fixed - padding


def visible_columns(available: int) -> tuple[Column, ...]:
    """Choose the columns for a table `available` cells wide."""
    shared = [column for column in COLUMNS if column.width is None]
    if _spare_width(COLUMNS, available) >= MIN_SHARED_WIDTH * len(shared):
        return COLUMNS
    return tuple(column for column in COLUMNS if not column.optional)


def column_widths(columns: tuple[Column, ...], available: int) -> dict[str, int]:
    """Fit the columns into `available` cells, none below MIN_FLEXIBLE_WIDTH.

    The table scrolls sideways when even the minimum widths do not fit.
    """
    shared = [column for column in columns if column.width is None]
    total_share = sum(column.share for column in shared)
    spare = max(_spare_width(columns, available), MIN_FLEXIBLE_WIDTH * len(shared))

    widths: dict[str, int] = {}
    assigned = 0
    for column in shared[:-1]:
        width = max(MIN_FLEXIBLE_WIDTH, spare * column.share // total_share)
        widths[column.key] = width
        assigned += width
    widths[shared[-1].key] = max(MIN_FLEXIBLE_WIDTH, spare - assigned)
    for column in columns:
        if column.width is not None:
            widths[column.key] = column.width
    return widths


def format_sent_at(moment: dt.datetime | None) -> str:
    """Format a naive UTC time from the database, to the minute."""
    if moment is None:
        return "—"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def thread_cells(thread: ThreadRow) -> dict[str, Text]:
    """Render one thread as cells by column key.

    Text objects keep donor data free of markup, and long values end in an ellipsis.
    """
    if thread.donor_email:
        email = Text(thread.donor_email, overflow="ellipsis", no_wrap=True)
    else:
        email = Text("no email", style="italic dim")
    last_sent = thread.last_sent_at.date().isoformat() if thread.last_sent_at else ""
    return {
        "donor": Text(thread.donor_name, overflow="ellipsis", no_wrap=True),
        "email": email,
        "subject": Text(
            thread.subject or "(no subject)", overflow="ellipsis", no_wrap=True
        ),
        "messages": Text(str(thread.message_count), justify="right"),
        "last_sent": Text(last_sent),
        "channel": Text(thread.last_channel or ""),
    }


def message_block(message: MessageRow) -> Text:
    """Render one message: when, how and from which job, then subject and body."""
    block = Text(format_sent_at(message.sent_at), style="bold")
    block.append(f" · {message.channel}")
    if message.job_name:
        block.append(f" · job: {message.job_name}", style="dim")
    elif message.job_id is None:
        block.append(" · job deleted", style="dim")
    block.append("\nSubject: ", style="bold")
    block.append(message.subject or "(no subject)")
    block.append("\n\n")
    if message.body:
        block.append(message.body.rstrip("\n"))
    else:
        block.append("(no body)", style="dim")
    return block


@dataclass(frozen=True)
class ThreadQuery:
    """The filters that produced the rows on screen."""

    text: str
    channel: str | None


class ThreadTable(DataTable[Text]):
    """The thread table, with enter labelled for the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open thread", id="communications.open"),
    ]

    class Resized(Message):
        """The table's size changed, so its columns may need other widths."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class CommunicationsScreen(SectionScreen):
    """The threads, newest first, narrowed by text and channel."""

    SECTION = "communications"
    CSS_PATH = "../styles/communications.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", id="communications.clear"),
        Binding("slash", "focus_filter", "Filter", id="communications.filter"),
        Binding("c", "next_channel", "Channel", id="communications.channel"),
        Binding("r", "reload", "Reload", id="communications.reload"),
    ]

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        saved_channel = context.ui_state.get(CHANNEL_STATE_KEY)
        self.channel: str | None = (
            saved_channel if saved_channel in CHANNEL_FILTERS else None
        )
        self.filter_text = ""
        self.threads: list[ThreadRow] = []
        self.more_threads = False
        self.query_shown: ThreadQuery | None = None
        self.widths: dict[str, int] = {}

    def compose_body(self) -> ComposeResult:
        yield FilterInput(
            placeholder="/ to filter by donor, email, subject or message text",
            id="thread-filter",
            compact=True,
        )
        yield Static("", id="communications-status")
        yield ThreadTable(id="thread-table", cursor_type="row", zebra_stripes=True)
        yield EmptyState("", id="communications-empty")

    def on_mount(self) -> None:
        self.query_one("#communications-status", Static).update("Loading…")
        self.table.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        # Emails marked as sent in another section show up when this one returns.
        if self.query_shown is not None:
            self.reload()

    @property
    def table(self) -> ThreadTable:
        return self.query_one("#thread-table", ThreadTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#thread-filter", FilterInput)

    def reload(self, *, delay: float = 0.0) -> None:
        """Load the threads for the current filters, replacing the rows."""
        self.load_threads(ThreadQuery(self.filter_text, self.channel), delay)

    @work(
        group="communications-list",
        exclusive=True,
        exit_on_error=False,
        description="Loading communications",
    )
    async def load_threads(self, query: ThreadQuery, delay: float) -> None:
        # Typing cancels this worker and starts another, so a pause at the start
        # lets a burst of keystrokes cost one query.
        if delay:
            await asyncio.sleep(delay)
        threads = await list_threads(
            self.context.store,
            text=query.text or None,
            channel=query.channel,
            limit=THREAD_LIMIT + 1,
        )
        self.show_threads(query, threads)

    def show_threads(self, query: ThreadQuery, threads: list[ThreadRow]) -> None:
        self.query_shown = query
        self.more_threads = len(threads) > THREAD_LIMIT
        self.threads = threads[:THREAD_LIMIT]
        self.fill_table()
        self.update_status()

    def fill_table(self) -> None:
        """Rebuild the table to fit its width, keeping the highlighted thread."""
        table = self.table
        highlighted = self.highlighted_thread_id()
        available = self.query_one("#section-body").size.width
        columns = visible_columns(available)
        self.widths = column_widths(columns, available)
        table.clear(columns=True)
        for column in columns:
            table.add_column(
                Text(column.label, justify="right" if column.right_aligned else "left"),
                width=self.widths[column.key],
                key=column.key,
            )
        for thread in self.threads:
            cells = thread_cells(thread)
            table.add_row(
                *(cells[column.key] for column in columns), key=str(thread.id)
            )
        if highlighted is not None:
            with contextlib.suppress(RowDoesNotExist):
                table.move_cursor(row=table.get_row_index(str(highlighted)))

    @on(ThreadTable.Resized)
    def table_resized(self) -> None:
        # The width changes with the terminal and when the sidebar is compacted.
        if self.query_shown is None:
            return
        available = self.query_one("#section-body").size.width
        if column_widths(visible_columns(available), available) != self.widths:
            self.fill_table()

    def highlighted_thread_id(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def update_status(self) -> None:
        status = self.query_one("#communications-status", Static)
        empty = self.query_one("#communications-empty", EmptyState)
        channel = self.channel or "all"
        count = len(self.threads)
        if self.more_threads:
            summary = f"Showing the {count:,} newest threads, filter to find older ones"
        else:
            summary = f"{count:,} thread" + ("" if count == 1 else "s")
        status.update(Text(f"{summary} · channel: {channel}"))

        empty.display = not self.threads
        self.table.display = bool(self.threads)
        if self.threads:
            if self.focused is None or self.focused is empty:
                self.table.focus()
            return
        # The message takes focus, so that keys such as c reach the screen and
        # are not typed into the filter.
        if not self.filter_input.has_focus:
            empty.focus()
        if self.filter_text or self.channel:
            described = f"“{self.filter_text}”" if self.filter_text else "the filter"
            if self.channel:
                described += f" on channel {self.channel}"
            empty.update(
                Text(
                    f"No threads match {described}. Press escape to clear the "
                    "text, or c to change the channel."
                )
            )
        else:
            empty.update(Text(EMPTY_MESSAGE))

    @on(DataTable.RowSelected, "#thread-table")
    def open_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        thread = next(
            (row for row in self.threads if str(row.id) == event.row_key.value), None
        )
        if thread is not None:
            self.app.push_screen(ThreadScreen(self.context, thread))

    @on(Input.Changed, "#thread-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        # A cleared filter shows all threads at once.
        self.reload(delay=FILTER_DEBOUNCE_SECONDS if self.filter_text else 0.0)

    @on(Input.Submitted, "#thread-filter")
    def filter_submitted(self) -> None:
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.filter_text) or self.filter_input.has_focus
        return super().check_action(action, parameters)

    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        if self.filter_input.value:
            self.filter_input.value = ""
        self.table.focus()

    def action_next_channel(self) -> None:
        position = CHANNEL_FILTERS.index(self.channel)
        self.channel = CHANNEL_FILTERS[(position + 1) % len(CHANNEL_FILTERS)]
        self.context.ui_state.set(CHANNEL_STATE_KEY, self.channel)
        self.reload()

    def action_reload(self) -> None:
        self.reload()


class ThreadScreen(SectionScreen):
    """The messages of one thread, oldest first. Escape goes back to the list."""

    SECTION = "communications"
    CSS_PATH = "../styles/communications.tcss"

    def __init__(self, context: AppContext, thread: ThreadRow) -> None:
        super().__init__(context)
        self.thread = thread

    def compose_body(self) -> ComposeResult:
        thread = self.thread
        yield Static(Text(thread.subject or "(no subject)"), id="thread-subject")
        recipient = Text(thread.donor_name)
        if thread.donor_email:
            recipient.append(f" <{thread.donor_email}>")
        yield Static(recipient, id="thread-donor")
        with VerticalScroll(id="thread-messages"):
            yield Static(Text("Loading messages…"), id="thread-loading")

    @property
    def heading(self) -> str:
        return f"{section_title(self.SECTION)} › {self.thread.donor_name}"

    def on_mount(self) -> None:
        self.query_one("#thread-messages", VerticalScroll).focus()
        self.load_messages()

    @work(
        group="communications-thread",
        exclusive=True,
        exit_on_error=False,
        description="Loading the thread",
    )
    async def load_messages(self) -> None:
        try:
            messages = await thread_messages(self.context.store, self.thread.id)
        except NotFoundError as error:
            self.query_one("#thread-loading", Static).update(Text(str(error)))
            return
        await self.show_messages(messages)

    async def show_messages(self, messages: list[MessageRow]) -> None:
        container = self.query_one("#thread-messages", VerticalScroll)
        await container.remove_children()
        if not messages:
            await container.mount(
                Static(Text("This thread has no messages.", style="dim"))
            )
            return
        await container.mount_all(
            Static(message_block(message), classes="thread-message")
            for message in messages
        )
