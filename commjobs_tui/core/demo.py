"""The demo database: a separate file seeded with synthetic donors.

The donors, gifts and past threads come from data/demo_donors.json, which
scripts/make_demo_data.py generates. All of it is invented.

NOTE: gift dates are fixed and end on 30 November 2026. Lapsed and recent donors
look right when today is near 1 December 2026, and more donors look lapsed as real
time passes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, false, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from commjobs_tui.core.errors import UserError
from commjobs_tui.core.settings import user_data_dir
from commjobs_tui.db.models import (
    Base,
    CommunicationMessage,
    CommunicationThread,
    Donation,
    Donor,
)
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

DEMO_DATABASE_NAME = "demo.db"
DEMO_DATA_FILE = "demo_donors.json"
DEMO_DATA_VERSION = 1

DONOR_FIELDS = (
    "external_id",
    "salutation",
    "first_name",
    "last_name",
    "organization_name",
    "email",
    "phone",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "notes",
)


class DemoDataError(UserError):
    """The demo data file shipped with commjobs is missing or invalid."""


@dataclass(frozen=True)
class DemoRows:
    """Column values for each table, ready for bulk inserts.

    Donations and threads carry the index of their donor in `donors`, and messages
    the index of their thread in `threads`. Ids are assigned at insert time.
    """

    donors: list[dict[str, Any]]
    donations: list[tuple[int, dict[str, Any]]]
    threads: list[tuple[int, dict[str, Any]]]
    messages: list[tuple[int, dict[str, Any]]]


def demo_database_path() -> Path:
    """Return the demo database file in the user data folder, without creating it."""
    return user_data_dir() / DEMO_DATABASE_NAME


def read_demo_data() -> bytes:
    """Read the demo data file from the installed package.

    Raises DemoDataError when the file is missing from the installation.
    """
    resource = resources.files("commjobs_tui").joinpath("data", DEMO_DATA_FILE)
    try:
        return resource.read_bytes()
    except OSError as exc:
        raise DemoDataError(
            f"cannot read the demo data file commjobs_tui/data/{DEMO_DATA_FILE} "
            f"({exc.strerror or exc}); reinstall commjobs"
        ) from None


def parse_demo_data(raw: bytes) -> DemoRows:
    """Convert the demo JSON document into column values.

    Raises DemoDataError naming the first invalid donor.
    """
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise DemoDataError(
            f"the demo data file is not valid JSON ({exc}); reinstall commjobs"
        ) from None
    version = document.get("version") if isinstance(document, dict) else None
    if version != DEMO_DATA_VERSION:
        raise DemoDataError(
            f"the demo data file has version {version!r}, but this commjobs reads "
            f"version {DEMO_DATA_VERSION}; reinstall commjobs"
        )
    rows = DemoRows(donors=[], donations=[], threads=[], messages=[])
    for index, record in enumerate(document.get("donors", [])):
        try:
            _add_donor(rows, index, record)
        except (KeyError, TypeError, ValueError) as exc:
            raise DemoDataError(
                f"donor {index} in the demo data file is invalid "
                f"({type(exc).__name__}: {exc}); reinstall commjobs"
            ) from None
    if not rows.donors:
        raise DemoDataError("the demo data file contains no donors; reinstall commjobs")
    return rows


def _add_donor(rows: DemoRows, index: int, record: dict[str, Any]) -> None:
    donor = {field: record[field] for field in DONOR_FIELDS}
    tags = record["tags"]
    if not isinstance(tags, list):
        raise TypeError(f"tags must be a list, not {type(tags).__name__}")
    # Comma-separated without spaces, the form the tags column stores.
    donor["tags"] = ",".join(tags) or None
    donor["do_not_contact"] = bool(record["do_not_contact"])
    rows.donors.append(donor)

    for number, gift in enumerate(record["donations"], 1):
        amount = gift["amount_cents"]
        if not isinstance(amount, int) or amount <= 0:
            raise ValueError(f"amount_cents must be a positive integer: {amount!r}")
        donation = {
            "amount_cents": amount,
            "donated_on": dt.date.fromisoformat(gift["donated_on"]),
            "campaign": gift["campaign"],
            "fund": gift["fund"],
            "source_ref": f"{donor['external_id']}:gift:{number:03d}",
        }
        rows.donations.append((index, donation))

    for thread in record["threads"]:
        thread_index = len(rows.threads)
        rows.threads.append((index, {"subject": thread["subject"]}))
        for message in thread["messages"]:
            values = {
                "channel": message["channel"],
                "direction": message["direction"],
                "subject": message["subject"],
                "body": message["body"],
                "sent_at": dt.datetime.fromisoformat(message["sent_at"]),
            }
            rows.messages.append((thread_index, values))


async def seed_demo(store: Store) -> int:
    """Insert the demo donors, gifts and threads if the donors table is empty.

    Returns the number of donors inserted, or 0 when the table already had donors.
    Everything is inserted in one transaction, so a failure leaves the table empty.
    Raises DemoDataError when the packaged data file is missing or invalid.
    """
    rows = parse_demo_data(read_demo_data())
    async with store.session() as session, session.begin():
        # A write statement first takes SQLite's write lock, so two processes that
        # seed the same new file at once cannot both find the table empty.
        await session.execute(
            delete(Donor).where(false()).execution_options(synchronize_session=False)
        )
        existing = await session.scalar(select(func.count()).select_from(Donor))
        if existing:
            log.info("demo database %s already has %d donors", store.path, existing)
            return 0
        await _insert_rows(session, rows)
    log.info(
        "seeded demo database %s: %d donors, %d gifts, %d threads, %d messages",
        store.path,
        len(rows.donors),
        len(rows.donations),
        len(rows.threads),
        len(rows.messages),
    )
    return len(rows.donors)


async def _insert_rows(session: AsyncSession, rows: DemoRows) -> None:
    # Ids are assigned here, after max(id), so that each table is one executemany
    # call. The write lock taken by seed_demo keeps other writers out meanwhile.
    # Asking SQLite for RETURNING ids in input order instead makes SQLAlchemy 2.1
    # send one INSERT per row.
    first_donor_id = await _next_id(session, Donor.id)
    donors = [
        {**values, "id": first_donor_id + index}
        for index, values in enumerate(rows.donors)
    ]
    await session.execute(insert(_table(Donor)), donors)

    if rows.donations:
        donations = [
            {**values, "donor_id": first_donor_id + donor}
            for donor, values in rows.donations
        ]
        await session.execute(insert(_table(Donation)), donations)

    if rows.threads:
        first_thread_id = await _next_id(session, CommunicationThread.id)
        threads = [
            {
                **values,
                "id": first_thread_id + index,
                "donor_id": first_donor_id + donor,
            }
            for index, (donor, values) in enumerate(rows.threads)
        ]
        await session.execute(insert(_table(CommunicationThread)), threads)
        messages = [
            {**values, "thread_id": first_thread_id + thread}
            for thread, values in rows.messages
        ]
        if messages:
            await session.execute(insert(_table(CommunicationMessage)), messages)


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


async def _next_id(session: AsyncSession, column: InstrumentedAttribute[int]) -> int:
    current = await session.scalar(select(func.max(column)))
    return (current or 0) + 1
