"""The result of a donor import and its plain-text rendering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class SkippedRow:
    """A data row that was not imported."""

    line: int  # 1-based physical line number in the file (the header is line 1)
    reason: str


@dataclass(frozen=True)
class RowNote:
    """A caveat on a row that was imported, such as an invalid email left out."""

    line: int
    message: str


@dataclass(frozen=True)
class ImportSummary:
    """Counts and line numbers of one import, or of a dry run of it.

    Each data row is in exactly one of `created_lines`, `updated_lines`,
    `unchanged_lines` and `skipped`, so their lengths add up to `rows_read`.
    Blank lines are not rows. A row that adds a gift to a donor created by an
    earlier row of the same file counts as updated.
    """

    path: Path
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "utf-16"
    delimiter: str
    layout: str  # export format name, e.g. "Salesforce NPSP"
    date_order: str  # e.g. "month/day (decided from 14 unambiguous dates)"
    rows_read: int
    created_lines: tuple[int, ...]
    updated_lines: tuple[int, ...]
    unchanged_lines: tuple[int, ...]
    skipped: tuple[SkippedRow, ...]
    notes: tuple[RowNote, ...]
    donors_created: int
    donors_updated: int
    donations_created: int
    # Donors in the file left without a valid email, or marked do-not-contact.
    not_emailable: int
    dry_run: bool


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def line_ranges(numbers: Sequence[int], *, max_ranges: int = 12) -> str:
    """Compress line numbers into ranges: [2, 3, 4, 9] gives "2-4, 9".

    Past `max_ranges` ranges the rest are counted instead of listed.
    """
    ranges: list[str] = []
    ordered = sorted(set(numbers))
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    if len(ranges) > max_ranges:
        rest = len(ranges) - max_ranges
        return ", ".join(ranges[:max_ranges]) + f" and {rest} more ranges"
    return ", ".join(ranges)


def format_summary(summary: ImportSummary, *, max_lines: int = 20) -> str:
    """Render the summary as plain text for the CLI and the TUI.

    At most `max_lines` skipped rows and notes are listed, skipped rows first.
    A final line counts the ones left out. For a file without data rows, the
    first line reports that in place of "Imported".
    """
    delimiter = DELIMITER_NAMES.get(summary.delimiter, repr(summary.delimiter))
    lines: list[str] = []
    if summary.rows_read == 0:
        lines.append(
            f"Nothing to import: {summary.path} has a header row but no data rows. "
            "Check that the CRM export includes the donors."
        )
    elif summary.dry_run:
        lines.append(f"Dry run of {summary.path}: nothing was written.")
    else:
        lines.append(f"Imported {summary.path}.")
    lines.append(
        f"Format: {summary.layout} ({summary.encoding}, {delimiter}-separated)."
    )
    lines.append(f"Dates: {summary.date_order}.")
    lines.append(
        f"Rows: {summary.rows_read} read, {len(summary.created_lines)} created a "
        f"donor, {len(summary.updated_lines)} updated one, "
        f"{len(summary.unchanged_lines)} changed nothing, "
        f"{len(summary.skipped)} skipped."
    )
    if summary.dry_run:
        lines.append(
            f"Donors: {summary.donors_created} to create, {summary.donors_updated} "
            f"to update. Gifts: {summary.donations_created} to add."
        )
    else:
        lines.append(
            f"Donors: {summary.donors_created} created, {summary.donors_updated} "
            f"updated. Gifts: {summary.donations_created} added."
        )
    for label, numbers in (
        ("Created from lines", summary.created_lines),
        ("Updated from lines", summary.updated_lines),
    ):
        if numbers:
            lines.append(f"{label}: {line_ranges(numbers)}.")
    if summary.not_emailable:
        count = _plural(summary.not_emailable, "donor")
        lines.append(
            f"{count} in this file cannot be emailed (no valid email, or marked "
            "do not contact)."
        )

    listed: list[str] = []
    listed.extend(
        f"  line {row.line}: skipped, {row.reason}" for row in summary.skipped
    )
    listed.extend(f"  line {note.line}: {note.message}" for note in summary.notes)
    if listed:
        lines.append("Rows to check:")
        limit = max(max_lines, 0)
        lines.extend(listed[:limit])
        hidden = len(listed) - limit
        if hidden > 0:
            lines.append(f"  ... and {hidden} more not shown.")
    return "\n".join(lines)
