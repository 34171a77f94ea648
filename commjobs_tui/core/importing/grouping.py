"""Grouping the rows of one file by donor, and identifying their gifts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from commjobs_tui.core.importing.rows import GiftRow, ParsedRow, limit_id

MAX_SOURCE_REF_LENGTH = 200  # Donation.source_ref is String(200)
NAME_FIELDS = ("first_name", "last_name", "organization_name")


@dataclass
class DonorGroup:
    """The rows of one donor in file order, with their values merged.

    For each field the last non-empty value in the file wins, and `values`
    stores it with the line that set it. A later row with the same value does
    not take the line over.

    First, last and organisation names follow another rule unless both rows
    have the same CRM id. There the value with more letters and digits wins
    ("Mary" over "M."), and the later one wins a tie. Rows with the same CRM id
    are versions of one CRM record, so the later name wins, as for a renamed
    donor.
    """

    external_id: str | None = None
    external_id_line: int | None = None
    emails: list[str] = field(default_factory=list)
    name_key: tuple[str, str, str] | None = None
    postal_code: str = ""
    lines: list[int] = field(default_factory=list)
    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    do_not_contact_line: int | None = None
    gift_rows: list[GiftRow] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)

    def add(self, row: ParsedRow) -> None:
        same_record = row.external_id is not None and (
            row.external_id == self.external_id
        )
        self.lines.append(row.line)
        if row.external_id is not None and self.external_id is None:
            self.external_id = row.external_id
            self.external_id_line = row.line
        if row.email is not None and row.email not in self.emails:
            self.emails.append(row.email)
        if self.name_key is None:
            self.name_key = row.name_key
        self.postal_code = self.postal_code or row.fields.get("postal_code", "")
        for name, value in row.fields.items():
            current = self.values.get(name)
            if current is None or _replaces(name, value, current[0], same_record):
                self.values[name] = (value, row.line)
        if row.do_not_contact and self.do_not_contact_line is None:
            self.do_not_contact_line = row.line
        if row.gift is not None:
            self.gift_rows.append(row.gift)
        self.notes.extend((row.line, note) for note in row.notes)

    @property
    def first_line(self) -> int:
        return self.lines[0]


def _replaces(name: str, value: str, current: str, same_record: bool) -> bool:
    """Return whether a later row's `value` of field `name` replaces `current`."""
    if value == current:
        return False
    if same_record or name not in NAME_FIELDS:
        return True
    return _completeness(value) >= _completeness(current)


def _completeness(name: str) -> int:
    return sum(1 for char in name if char.isalnum())


def group_rows(rows: Iterable[ParsedRow]) -> list[DonorGroup]:
    """Group rows that describe the same donor, in order of first appearance.

    Rows belong together when they share the CRM's donor id. A row without one
    joins a group with the same email. A row without id and email joins a group
    with the same first, last and organisation name, unless both have postal
    codes that differ. A row whose id differs from its email group's id starts
    its own group, so two household members who share an email stay two donors.
    """
    groups: list[DonorGroup] = []
    by_id: dict[str, DonorGroup] = {}
    by_email: dict[str, DonorGroup] = {}
    by_name: dict[tuple[str, str, str], DonorGroup] = {}
    for row in rows:
        group = _find_group(row, by_id, by_email, by_name)
        if group is None:
            group = DonorGroup()
            groups.append(group)
        group.add(row)
        if group.external_id is not None:
            by_id.setdefault(group.external_id, group)
        for email in group.emails:
            by_email.setdefault(email, group)
        if row.name_key is not None:
            by_name.setdefault(row.name_key, group)
    return groups


def _find_group(
    row: ParsedRow,
    by_id: dict[str, DonorGroup],
    by_email: dict[str, DonorGroup],
    by_name: dict[tuple[str, str, str], DonorGroup],
) -> DonorGroup | None:
    if row.external_id is not None and row.external_id in by_id:
        return by_id[row.external_id]
    if row.email is not None and row.email in by_email:
        email_group = by_email[row.email]
        if email_group.external_id is None or row.external_id is None:
            return email_group
        return None
    if row.external_id is None and row.email is None and row.name_key is not None:
        name_group = by_name.get(row.name_key)
        postal_code = row.fields.get("postal_code", "")
        if name_group is None or not (postal_code and name_group.postal_code):
            return name_group
        return name_group if postal_code == name_group.postal_code else None
    return None


def identify_gifts(gifts: Iterable[GiftRow]) -> list[tuple[GiftRow, str]]:
    """Pair each gift of one donor with its `Donation.source_ref`.

    A gift with an id in the file gets "gift:<id>". Others get "fp:" and a hash
    of date, amount, campaign, fund and the number of identical gifts before it
    in the file. So two equal gifts on one day stay two gifts, and a re-export
    of the same gifts gives the same references.

    NOTE: a gift without an id whose campaign or fund is later edited in the
    CRM gets a new reference, so importing the new export adds it again.
    """
    seen: dict[tuple[str, ...], int] = {}
    identified: list[tuple[GiftRow, str]] = []
    for gift in gifts:
        if gift.gift_id:
            reference = f"gift:{gift.gift_id}"
        else:
            key = (
                gift.donated_on.isoformat(),
                str(gift.amount_cents),
                gift.campaign or "",
                gift.fund or "",
            )
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            text = "\x1f".join((*key, str(occurrence)))
            reference = "fp:" + hashlib.sha256(text.encode()).hexdigest()[:32]
        identified.append((gift, limit_id(reference, MAX_SOURCE_REF_LENGTH)))
    return identified
