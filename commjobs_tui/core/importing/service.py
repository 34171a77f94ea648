"""Importing donors and gifts from a CRM export in one transaction.

The import reads and cleans the whole file first, then loads the donors it may
match with a few batched queries, plans every change in memory and writes the
plan with bulk statements. A dry run stops after planning, so it computes the
same summary and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from commjobs_tui.core.importing.dates import decide_date_order
from commjobs_tui.core.importing.grouping import DonorGroup, group_rows, identify_gifts
from commjobs_tui.core.importing.layouts import NAME_FIELDS, NPSP, Field, map_columns
from commjobs_tui.core.importing.money import decide_decimal_comma
from commjobs_tui.core.importing.rows import (
    DONOR_FIELDS,
    FileRules,
    GiftRow,
    NpspIdentity,
    ParsedRow,
    parse_row,
)
from commjobs_tui.core.importing.source import ImportFileError, Table, read_table
from commjobs_tui.core.importing.summary import ImportSummary, RowNote, SkippedRow
from commjobs_tui.db.models import Donation, Donor, utcnow
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

# Values per IN (...) list. SQLite builds before 3.32 allow 999 bound variables.
QUERY_CHUNK_SIZE = 500
# Header names listed in the error for a file without donor columns.
MAX_HEADERS_LISTED = 12
_LOOKS_LIKE_DATA = re.compile(r"@|^[\d$€£().,/\- ]+$")


@dataclass(frozen=True)
class PreparedFile:
    """A file read, cleaned and grouped by donor, before any database access."""

    table: Table
    layout_name: str
    date_order: str
    rows_read: int
    groups: list[DonorGroup]
    skipped: list[SkippedRow]


@dataclass
class ExistingDonor:
    """The stored values of a donor the file may update."""

    id: int
    external_id: str | None
    do_not_contact: bool
    values: dict[str, str | None]
    source_refs: set[str] = field(default_factory=set)


@dataclass
class DonorPlan:
    """The planned writes for one donor group, and the lines that cause them."""

    group: DonorGroup
    existing: ExistingDonor | None
    changes: dict[str, Any]
    new_gifts: list[tuple[GiftRow, str]]
    changed_lines: set[int]
    emailable: bool


async def import_donors(
    store: Store, path: Path, *, dry_run: bool = False
) -> ImportSummary:
    """Import the donors and gifts of a CRM export (CSV) into the database.

    Re-importing a file creates no duplicates: each donor is matched by the
    CRM's id (stored with a layout prefix, e.g. "npsp:11:andrea"), then by
    email. A donor with no id and no email is matched by first, last and
    organisation name, and by postal code when both sides have one. Updates
    fill and change fields but never blank a stored value, and never clear
    do-not-contact. Raises ImportFileError, with nothing written, when the file
    cannot be read or the database rejects the write.
    """
    prepared = await asyncio.to_thread(prepare_file, path)
    log.info(
        "importing %s (%s, %d rows, dry run: %s)",
        path,
        prepared.layout_name,
        prepared.rows_read,
        dry_run,
    )
    try:
        async with store.session() as session, session.begin():
            existing = await _load_candidates(session, prepared.groups)
            plans = _plan(prepared.groups, existing)
            if not dry_run:
                await _apply(session, plans)
    except IntegrityError as exc:
        log.warning("import of %s failed on a constraint: %s", path, exc.orig)
        raise ImportFileError(
            f"the database changed while importing {path}, so nothing was "
            "imported; run the import again"
        ) from None
    except OperationalError as exc:
        log.warning("import of %s failed: %s", path, exc.orig)
        raise ImportFileError(
            f"cannot write to the database ({exc.orig}), so nothing from {path} "
            "was imported; close other commjobs windows and try again"
        ) from None
    summary = _summarize(path, prepared, plans, dry_run=dry_run)
    log.info(
        "import of %s %s: %d donors created, %d updated, %d gifts added, "
        "%d rows skipped",
        path,
        "planned" if dry_run else "done",
        summary.donors_created,
        summary.donors_updated,
        summary.donations_created,
        len(summary.skipped),
    )
    return summary


def prepare_file(path: Path) -> PreparedFile:
    """Read, clean and group the rows of a file. Raises ImportFileError."""
    table = read_table(path)
    columns = map_columns(table.header)
    if not any(columns.has(name) for name in (*NAME_FIELDS, Field.EMAIL)):
        raise ImportFileError(_describe_unknown_header(path, table))

    date_order = decide_date_order(
        columns.value(record.cells, Field.DATE) for record in table.records
    )
    decimal_comma = decide_decimal_comma(
        columns.value(record.cells, Field.AMOUNT) for record in table.records
    )
    rules = FileRules(
        columns=columns, date_order=date_order, decimal_comma=decimal_comma
    )
    npsp = NpspIdentity() if columns.layout is NPSP else None

    parsed: list[ParsedRow] = []
    skipped: list[SkippedRow] = []
    for record in table.records:
        result = parse_row(record, rules, npsp)
        if isinstance(result, SkippedRow):
            skipped.append(result)
        else:
            parsed.append(result)
    return PreparedFile(
        table=table,
        layout_name=columns.layout.name,
        date_order=date_order.description,
        rows_read=len(table.records),
        groups=group_rows(parsed),
        skipped=skipped,
    )


def _describe_unknown_header(path: Path, table: Table) -> str:
    names = [name for name in table.header if name]
    listed = ", ".join(f"'{name}'" for name in names[:MAX_HEADERS_LISTED])
    if len(names) > MAX_HEADERS_LISTED:
        listed += f" and {len(names) - MAX_HEADERS_LISTED} more"
    fix = (
        "name the columns for the donor's name (Name, or First Name and Last "
        "Name), Organization or Email, then import again"
    )
    if any(_LOOKS_LIKE_DATA.search(name) for name in names):
        fix = (
            "the first line looks like data, so add a header line such as "
            "Name,Email,Amount,Date above it"
        )
    return (
        f"{path} has no donor columns; line {table.header_line} has {listed}. "
        f"To fix it, {fix}"
    )


async def _select_in_chunks(
    values: Iterable[str],
    select_chunk: Callable[[list[str]], Awaitable[list[ExistingDonor]]],
) -> list[ExistingDonor]:
    ordered = sorted(set(values))
    donors: list[ExistingDonor] = []
    for start in range(0, len(ordered), QUERY_CHUNK_SIZE):
        donors.extend(await select_chunk(ordered[start : start + QUERY_CHUNK_SIZE]))
    return donors


async def _load_candidates(
    session: AsyncSession, groups: Sequence[DonorGroup]
) -> dict[int, ExistingDonor]:
    """Load the stored donors that share an id, email or name with the groups,
    with the source references of their gifts."""
    columns = [
        Donor.id,
        Donor.external_id,
        Donor.do_not_contact,
        *(getattr(Donor, name) for name in DONOR_FIELDS),
    ]

    async def load(condition: ColumnElement[bool]) -> list[ExistingDonor]:
        result = await session.execute(select(*columns).where(condition))
        return [
            ExistingDonor(
                id=row[0],
                external_id=row[1],
                do_not_contact=bool(row[2]),
                values=dict(zip(DONOR_FIELDS, row[3:], strict=True)),
            )
            for row in result.all()
        ]

    async def by_external_id(chunk: list[str]) -> list[ExistingDonor]:
        return await load(Donor.external_id.in_(chunk))

    async def by_email(chunk: list[str]) -> list[ExistingDonor]:
        return await load(func.lower(Donor.email).in_(chunk))

    async def by_name(chunk: list[str]) -> list[ExistingDonor]:
        return await load(
            or_(
                func.lower(Donor.last_name).in_(chunk),
                func.lower(Donor.organization_name).in_(chunk),
                func.lower(Donor.first_name).in_(chunk),
            )
        )

    external_ids = [g.external_id for g in groups if g.external_id is not None]
    emails = [email for g in groups for email in g.emails]
    names = [_lookup_name(g.name_key) for g in groups if _needs_name_match(g)]
    found: dict[int, ExistingDonor] = {}
    for donors in (
        await _select_in_chunks(external_ids, by_external_id),
        await _select_in_chunks(emails, by_email),
        await _select_in_chunks(names, by_name),
    ):
        for donor in donors:
            found.setdefault(donor.id, donor)

    donor_ids = sorted(found)
    for start in range(0, len(donor_ids), QUERY_CHUNK_SIZE):
        chunk = donor_ids[start : start + QUERY_CHUNK_SIZE]
        result = await session.execute(
            select(Donation.donor_id, Donation.source_ref).where(
                Donation.donor_id.in_(chunk)
            )
        )
        for donor_id, source_ref in result.all():
            if source_ref is not None:
                found[donor_id].source_refs.add(source_ref)
    return found


def _needs_name_match(group: DonorGroup) -> bool:
    return group.external_id is None and not group.emails and group.name_key is not None


def _lookup_name(name_key: tuple[str, str, str] | None) -> str:
    """Return the name the database lookup uses: last name, organisation or first."""
    assert name_key is not None
    first, last, organization = name_key
    return last or organization or first


def _name_key(donor: ExistingDonor) -> tuple[str, str, str]:
    values = donor.values
    return (
        (values["first_name"] or "").casefold(),
        (values["last_name"] or "").casefold(),
        (values["organization_name"] or "").casefold(),
    )


def _same_crm(left: str, right: str) -> bool:
    return left.split(":", 1)[0] == right.split(":", 1)[0]


def _match(
    groups: Sequence[DonorGroup], candidates: dict[int, ExistingDonor]
) -> list[ExistingDonor | None]:
    """Pair each group with a stored donor, or None for a new donor.

    Ids are matched first for every group, then emails, then names, and a
    stored donor is matched at most once. An email match is skipped when both
    sides have different ids from the same CRM, because they are two people
    who share an address.
    """
    by_external_id: dict[str, ExistingDonor] = {}
    by_email: dict[str, list[ExistingDonor]] = {}
    by_name: dict[tuple[str, str, str], list[ExistingDonor]] = {}
    for donor in sorted(candidates.values(), key=lambda d: d.id):
        if donor.external_id is not None:
            by_external_id[donor.external_id] = donor
        email = donor.values["email"]
        if email:
            by_email.setdefault(email.lower(), []).append(donor)
        by_name.setdefault(_name_key(donor), []).append(donor)

    matches: list[ExistingDonor | None] = [None] * len(groups)
    claimed: set[int] = set()

    def claim(index: int, donor: ExistingDonor) -> None:
        matches[index] = donor
        claimed.add(donor.id)

    for index, group in enumerate(groups):
        if group.external_id is not None and group.external_id in by_external_id:
            claim(index, by_external_id[group.external_id])
    for index, group in enumerate(groups):
        if matches[index] is not None:
            continue
        for email in group.emails:
            email_match = next(
                (
                    d
                    for d in by_email.get(email, [])
                    if d.id not in claimed and not _has_other_id(group, d)
                ),
                None,
            )
            if email_match is not None:
                claim(index, email_match)
                break
    for index, group in enumerate(groups):
        if matches[index] is not None or not _needs_name_match(group):
            continue
        assert group.name_key is not None
        for donor in by_name.get(group.name_key, []):
            if donor.id not in claimed and _same_postal_area(group, donor):
                claim(index, donor)
                break
    return matches


def _same_postal_area(group: DonorGroup, donor: ExistingDonor) -> bool:
    """Return False only when both sides have a postal code and they differ."""
    stored = donor.values["postal_code"]
    return not (group.postal_code and stored) or group.postal_code == stored


def _has_other_id(group: DonorGroup, donor: ExistingDonor) -> bool:
    if group.external_id is None or donor.external_id is None:
        return False
    return _same_crm(group.external_id, donor.external_id)


def _plan(
    groups: Sequence[DonorGroup], candidates: dict[int, ExistingDonor]
) -> list[DonorPlan]:
    plans: list[DonorPlan] = []
    for group, existing in zip(groups, _match(groups, candidates), strict=True):
        if existing is None:
            plans.append(_plan_new(group))
        else:
            plans.append(_plan_update(group, existing))
    return plans


def _plan_new(group: DonorGroup) -> DonorPlan:
    changes: dict[str, Any] = {name: None for name in DONOR_FIELDS}
    changes.update({name: value for name, (value, _) in group.values.items()})
    changes["external_id"] = group.external_id
    changes["do_not_contact"] = group.do_not_contact_line is not None
    new_gifts = _new_gifts(group, set())
    changed_lines = {line for _, line in group.values.values()}
    changed_lines.update(gift.line for gift, _ in new_gifts)
    if group.do_not_contact_line is not None:
        changed_lines.add(group.do_not_contact_line)
    changed_lines.discard(group.first_line)
    return DonorPlan(
        group=group,
        existing=None,
        changes=changes,
        new_gifts=new_gifts,
        changed_lines=changed_lines,
        emailable=changes["email"] is not None and not changes["do_not_contact"],
    )


def _plan_update(group: DonorGroup, existing: ExistingDonor) -> DonorPlan:
    changes: dict[str, Any] = {}
    changed_lines: set[int] = set()
    for name, (value, line) in group.values.items():
        stored = existing.values[name]
        if name == "email" and stored is not None and stored.lower() == value:
            continue
        if stored != value:
            changes[name] = value
            changed_lines.add(line)
    if existing.external_id is None and group.external_id is not None:
        changes["external_id"] = group.external_id
        assert group.external_id_line is not None
        changed_lines.add(group.external_id_line)
    do_not_contact = existing.do_not_contact
    if group.do_not_contact_line is not None and not existing.do_not_contact:
        changes["do_not_contact"] = True
        changed_lines.add(group.do_not_contact_line)
        do_not_contact = True
    new_gifts = _new_gifts(group, existing.source_refs)
    changed_lines.update(gift.line for gift, _ in new_gifts)
    email = changes.get("email", existing.values["email"])
    return DonorPlan(
        group=group,
        existing=existing,
        changes=changes,
        new_gifts=new_gifts,
        changed_lines=changed_lines,
        emailable=email is not None and not do_not_contact,
    )


def _new_gifts(group: DonorGroup, stored_refs: set[str]) -> list[tuple[GiftRow, str]]:
    """Return the group's gifts whose references are neither stored nor repeated
    earlier in the file (a gift id listed twice)."""
    seen = set(stored_refs)
    new: list[tuple[GiftRow, str]] = []
    for gift, reference in identify_gifts(group.gift_rows):
        if reference not in seen:
            seen.add(reference)
            new.append((gift, reference))
    return new


async def _apply(session: AsyncSession, plans: Sequence[DonorPlan]) -> None:
    """Write the plans with bulk statements."""
    now = utcnow()
    donor_ids: dict[int, int] = {}
    created = [plan for plan in plans if plan.existing is None]
    if created:
        # SQLAlchemy 2.1 sends INSERT ... RETURNING one row at a time on SQLite
        # when the ids must come back in order, so the ids are chosen here the
        # way SQLite chooses a rowid: the largest one plus one. A writer that
        # commits in between makes the INSERT fail, and nothing is written.
        last_id = await session.scalar(select(func.max(Donor.id))) or 0
        rows: list[dict[str, Any]] = []
        for donor_id, plan in enumerate(created, start=last_id + 1):
            donor_ids[id(plan)] = donor_id
            rows.append({"id": donor_id, **plan.changes})
        await session.execute(insert(Donor).execution_options(render_nulls=True), rows)

    updates: list[dict[str, Any]] = []
    for plan in plans:
        if plan.existing is not None:
            donor_ids[id(plan)] = plan.existing.id
            if plan.changes:
                updates.append(
                    {"id": plan.existing.id, **plan.changes, "updated_at": now}
                )
    # Statements with the same columns run as one executemany.
    updates.sort(key=lambda values: sorted(values))
    for _, batch in groupby(updates, key=lambda values: sorted(values)):
        await session.execute(update(Donor), list(batch))

    donations = [
        {
            "donor_id": donor_ids[id(plan)],
            "amount_cents": gift.amount_cents,
            "currency": gift.currency,
            "donated_on": gift.donated_on,
            "campaign": gift.campaign,
            "fund": gift.fund,
            "source_ref": reference,
        }
        for plan in plans
        for gift, reference in plan.new_gifts
    ]
    if donations:
        await session.execute(
            insert(Donation).execution_options(render_nulls=True), donations
        )


def _summarize(
    path: Path, prepared: PreparedFile, plans: Sequence[DonorPlan], *, dry_run: bool
) -> ImportSummary:
    created: list[int] = []
    updated: list[int] = []
    unchanged: list[int] = []
    notes: list[RowNote] = []
    for plan in plans:
        lines = plan.group.lines
        if plan.existing is None:
            created.append(lines[0])
            lines = lines[1:]
        for line in lines:
            (updated if line in plan.changed_lines else unchanged).append(line)
        notes.extend(RowNote(line, message) for line, message in plan.group.notes)
    notes.sort(key=lambda note: note.line)
    return ImportSummary(
        path=path,
        encoding=prepared.table.encoding,
        delimiter=prepared.table.delimiter,
        layout=prepared.layout_name,
        date_order=prepared.date_order,
        rows_read=prepared.rows_read,
        created_lines=tuple(sorted(created)),
        updated_lines=tuple(sorted(updated)),
        unchanged_lines=tuple(sorted(unchanged)),
        skipped=tuple(prepared.skipped),
        notes=tuple(notes),
        donors_created=sum(1 for plan in plans if plan.existing is None),
        donors_updated=sum(
            1 for plan in plans if plan.existing is not None and plan.changed_lines
        ),
        donations_created=sum(len(plan.new_gifts) for plan in plans),
        not_emailable=sum(1 for plan in plans if not plan.emailable),
        dry_run=dry_run,
    )
