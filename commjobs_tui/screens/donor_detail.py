"""One donor's record: every stored field, the gift history and communications."""

from __future__ import annotations

import datetime as dt

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from commjobs_tui.core.communications import MessageRow, donor_messages
from commjobs_tui.core.context import AppContext
from commjobs_tui.core.donors import DonorDetail, get_donor
from commjobs_tui.core.prompt import format_money
from commjobs_tui.screens import SectionScreen

MESSAGE_LIMIT = 20
MISSING = "—"


def format_time(moment: dt.datetime | None) -> str:
    """Format a naive UTC time from the database for display."""
    if moment is None:
        return MISSING
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _value(text: str | None) -> Text:
    if text is None or not text.strip():
        return Text(MISSING, style="dim")
    return Text(text.strip())


def address_lines(donor: DonorDetail) -> str | None:
    """Join the address parts into lines, leaving out empty parts."""
    town = " ".join(
        part.strip()
        for part in (donor.city and f"{donor.city},", donor.state, donor.postal_code)
        if part and part.strip()
    ).rstrip(",")
    lines = [part.strip() for part in (donor.street, town, donor.country) if part]
    return "\n".join(line for line in lines if line) or None


def field_table(donor: DonorDetail) -> Table:
    """Lay out the stored fields as label and value rows."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    do_not_contact = (
        Text("Yes: never email this donor", style="bold red")
        if donor.do_not_contact
        else Text("No")
    )
    rows: list[tuple[str, Text]] = [
        ("Salutation", _value(donor.salutation)),
        ("First name", _value(donor.first_name)),
        ("Last name", _value(donor.last_name)),
        ("Organisation", _value(donor.organization_name)),
        ("Email", _value(donor.email)),
        ("Phone", _value(donor.phone)),
        ("Address", _value(address_lines(donor))),
        ("Tags", _value(donor.tags)),
        ("Do not contact", do_not_contact),
        ("External ID", _value(donor.external_id)),
        ("Created", Text(format_time(donor.created_at))),
        ("Updated", Text(format_time(donor.updated_at))),
        ("Notes", _value(donor.notes)),
    ]
    for label, value in rows:
        table.add_row(label, value)
    return table


def giving_summary(donor: DonorDetail) -> Text:
    if donor.gift_count == 0:
        return Text("No gifts recorded.", style="dim")
    noun = "gift" if donor.gift_count == 1 else "gifts"
    parts = [
        f"{donor.gift_count} {noun}",
        f"total {format_money(donor.total_cents)}",
    ]
    if donor.first_gift_on is not None:
        parts.append(f"first {donor.first_gift_on.isoformat()}")
    if donor.last_gift_on is not None and donor.last_gift_cents is not None:
        last_amount = format_money(donor.last_gift_cents)
        parts.append(f"last {donor.last_gift_on.isoformat()} ({last_amount})")
    if donor.largest_gift_cents is not None:
        parts.append(f"largest {format_money(donor.largest_gift_cents)}")
    return Text(" · ".join(parts))


def contact_flags(donor: DonorDetail) -> Text:
    """Describe what kind of record this is and whether it may be emailed."""
    flags = Text()
    flags.append("Organisation" if donor.is_organization else "Person")
    if donor.do_not_contact:
        flags.append(" · ")
        flags.append("⊘ do not contact", style="bold red")
    elif not (donor.email or "").strip():
        flags.append(" · ")
        flags.append("no email", style="italic")
    elif not donor.emailable:
        flags.append(" · ")
        flags.append(f"⚠ email {donor.email!r} is not usable", style="yellow")
    else:
        flags.append(" · can be emailed")
    return flags


class DonorDetailScreen(SectionScreen):
    """Everything stored about one donor. Escape goes back to the list."""

    SECTION = "donors"
    CSS_PATH = "../styles/donors.tcss"

    def __init__(self, context: AppContext, donor_id: int) -> None:
        super().__init__(context)
        self.donor_id = donor_id
        self.donor_name: str | None = None

    @property
    def heading(self) -> str:
        if self.donor_name is None:
            return "Donor details"
        return f"Donors › {self.donor_name}"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="donor-detail"):
            yield Static(Text("Loading donor…"), id="detail-name")
            yield Static("", id="detail-flags")
            yield Static("", id="detail-giving")
            yield Static("", id="detail-fields")
            yield Static("Gifts", id="gifts-heading", classes="detail-heading")
            gifts: DataTable[Text] = DataTable(
                id="gift-table", cursor_type="row", zebra_stripes=True
            )
            gifts.add_columns("Date", "Amount", "Campaign", "Fund")
            yield gifts
            yield Static("Communications", classes="detail-heading")
            messages: DataTable[Text] = DataTable(
                id="message-table", cursor_type="row", zebra_stripes=True
            )
            messages.add_columns("Sent", "Channel", "Subject", "Job")
            yield messages
            yield Static("", id="messages-empty")

    def on_mount(self) -> None:
        self.query_one("#donor-detail", VerticalScroll).focus()
        self.load_donor()

    @work(
        group="donor-detail",
        exclusive=True,
        exit_on_error=False,
        description="Loading the donor",
    )
    async def load_donor(self) -> None:
        donor = await get_donor(self.context.store, self.donor_id)
        messages = await donor_messages(
            self.context.store, self.donor_id, limit=MESSAGE_LIMIT
        )
        self.show_donor(donor, messages)

    def show_donor(self, donor: DonorDetail, messages: list[MessageRow]) -> None:
        self.donor_name = donor.display_name
        self.update_header()
        self.query_one("#detail-name", Static).update(
            Text(donor.display_name, style="bold")
        )
        self.query_one("#detail-flags", Static).update(contact_flags(donor))
        self.query_one("#detail-fields", Static).update(field_table(donor))
        self.query_one("#detail-giving", Static).update(giving_summary(donor))
        gifts = self.query_one("#gift-table", DataTable)
        gifts.clear()
        for gift in donor.gifts:
            gifts.add_row(
                Text(gift.donated_on.isoformat()),
                Text(format_money(gift.amount_cents, gift.currency), justify="right"),
                Text(gift.campaign or ""),
                Text(gift.fund or ""),
                key=str(gift.id),
            )
        gifts.display = bool(donor.gifts)
        self.query_one("#gifts-heading", Static).display = bool(donor.gifts)
        self.show_messages(messages)

    def show_messages(self, messages: list[MessageRow]) -> None:
        table = self.query_one("#message-table", DataTable)
        table.clear()
        for message in messages:
            table.add_row(
                Text(format_time(message.sent_at)),
                Text(message.channel),
                Text(message.subject or ""),
                Text(message.job_name or ""),
                key=str(message.id),
            )
        table.display = bool(messages)
        empty = self.query_one("#messages-empty", Static)
        empty.display = not messages
        if not messages:
            empty.update(
                Text("No communications recorded for this donor.", style="dim")
            )
        elif len(messages) == MESSAGE_LIMIT:
            empty.display = True
            empty.update(
                Text(f"Showing the newest {MESSAGE_LIMIT} communications.", style="dim")
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "donor-detail":
            self.query_one("#detail-name", Static).update(
                Text("This donor could not be loaded. Press escape to go back.")
            )
