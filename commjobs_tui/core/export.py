"""Export a communication job's completed emails as CSV, JSON Lines, EML or mbox.

Every file is created private to its owner (0600) under a temporary name and renamed
into place when complete, so a failed export leaves no partial file behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import mailbox
import os
import re
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal, get_args

from sqlalchemy import select

from commjobs_tui.core.communications import to_naive_utc
from commjobs_tui.core.donors import display_name
from commjobs_tui.core.errors import NotFoundError, UserError
from commjobs_tui.db.models import Donor, EmailGenerationSession, GeneratedEmail
from commjobs_tui.db.store import Store

log = logging.getLogger(__name__)

ExportFormat = Literal["csv", "jsonl", "eml", "mbox"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)

CSV_COLUMNS = (
    "donor_name",
    "email",
    "subject",
    "body",
    "job_id",
    "job_name",
    "donor_id",
    "email_id",
    "generated_at",
)
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
JOB_HEADER = "X-Commjobs-Job"
# Message-ID domain when no sender address is given. ".invalid" is a reserved
# top-level domain, so the ids cannot clash with those of a real host.
FALLBACK_MESSAGE_ID_DOMAIN = "commjobs.invalid"
# Message policy for headers in raw UTF-8 (RFC 6532) rather than RFC 2047 encoded
# words, which an address may not contain. Only a recipient with a non-ASCII local
# part gets it, because some older mail readers expect ASCII headers.
# NOTE: a mail reader without RFC 6532 support may show those headers garbled.
UTF8_HEADER_POLICY = policy.default.clone(utf8=True)
MAX_FILE_STEM_LENGTH = 60
_PRIVATE_DIR_MODE = 0o700


@dataclass(frozen=True)
class ExportResult:
    """Outcome of one export.

    `count` records were written, and `email_ids` lists their generated emails.
    `skipped_no_email` counts emails left out of an EML or mbox export because the
    donor has no valid email address. CSV and JSON Lines keep those rows with an
    empty address. `skipped_do_not_contact` counts emails left out of every format
    because the donor is marked do not contact.
    """

    path: Path
    format: str
    count: int
    skipped_no_email: int
    skipped_do_not_contact: int = 0
    email_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ExportRecord:
    """One completed email with the donor and job it belongs to."""

    email_id: int
    job_id: int
    job_name: str
    donor_id: int
    donor_name: str
    email: str | None
    subject: str
    body: str
    generated_at: dt.datetime | None
    do_not_contact: bool

    def as_dict(self) -> dict[str, Any]:
        """Map each of CSV_COLUMNS to its value, the time in ISO 8601 or None."""
        return {
            "donor_name": self.donor_name,
            "email": self.email,
            "subject": self.subject,
            "body": self.body,
            "job_id": self.job_id,
            "job_name": self.job_name,
            "donor_id": self.donor_id,
            "email_id": self.email_id,
            "generated_at": (
                self.generated_at.isoformat() if self.generated_at else None
            ),
        }


def neutralize_formula(cell: str) -> str:
    """Prefix a quote to a cell that a spreadsheet would otherwise run as a formula."""
    if cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


async def load_export_records(store: Store, job_id: int) -> list[ExportRecord]:
    """Load the job's completed, non-preview emails in email id order.

    Raises NotFoundError if the job does not exist and UserError if it has no
    completed emails.
    """
    statement = (
        select(
            GeneratedEmail.id,
            GeneratedEmail.donor_id,
            GeneratedEmail.subject,
            GeneratedEmail.body,
            GeneratedEmail.generated_at,
            Donor.first_name,
            Donor.last_name,
            Donor.organization_name,
            Donor.email,
            Donor.do_not_contact,
        )
        .join(Donor, Donor.id == GeneratedEmail.donor_id)
        .where(
            GeneratedEmail.session_id == job_id,
            GeneratedEmail.status == "completed",
            GeneratedEmail.is_preview.is_(False),
        )
        .order_by(GeneratedEmail.id)
    )
    async with store.session() as session:
        job = await session.get(EmailGenerationSession, job_id)
        if job is None:
            raise NotFoundError(
                f"communication job {job_id} not found; reload the job list and "
                "pick an existing job"
            )
        rows = (await session.execute(statement)).all()

    if not rows:
        raise UserError(
            f"communication job {job_id} ({job.job_name}) has no completed emails "
            "to export; run the job or retry its failed emails first"
        )
    return [
        ExportRecord(
            email_id=row.id,
            job_id=job_id,
            job_name=job.job_name,
            donor_id=row.donor_id,
            donor_name=display_name(
                row.first_name,
                row.last_name,
                row.organization_name,
                donor_id=row.donor_id,
            ),
            email=row.email.strip() if row.email and row.email.strip() else None,
            subject=row.subject or "",
            body=row.body or "",
            generated_at=row.generated_at,
            do_not_contact=row.do_not_contact,
        )
        for row in rows
    ]


def _recipient(record: ExportRecord) -> Address | None:
    """Build the To address, or None if the donor's address is missing or invalid.

    RFC 6532 allows non-ASCII characters wherever the local part allows an ASCII
    letter, but the email package of Python 3.11 rejects them in `addr_spec`. So
    the syntax is checked on a copy with each of them replaced by "x", and a
    non-ASCII local part must be a plain dot-atom such as "zoë.ü".
    """
    if record.email is None:
        return None
    recipient_name = _single_line(record.donor_name)
    local_part, at, domain = record.email.rpartition("@")
    ascii_local_part = "".join(char if char.isascii() else "x" for char in local_part)
    try:
        address = Address(addr_spec=f"{ascii_local_part}{at}{domain}")
        if not address.username or not address.domain:
            return None
        username = address.username
        if not local_part.isascii():
            if username != ascii_local_part:
                return None
            username = local_part
        # Header encoding needs an ASCII domain, so international domains are
        # converted to their IDNA ("xn--") form.
        domain = address.domain.encode("idna").decode("ascii")
        return Address(recipient_name, username, domain)
    except (ValueError, IndexError, UnicodeError):
        # The email package raises ValueError subclasses for malformed addresses
        # and IndexError for some truncated ones.
        return None


def _sender(from_address: str | None) -> Address | None:
    if from_address is None or not from_address.strip():
        return None
    try:
        sender = Address(addr_spec=from_address.strip())
    except (ValueError, IndexError):
        sender = None
    if sender is None or not sender.username or not sender.domain:
        raise UserError(
            f"invalid sender address {from_address!r}; give a full address such "
            "as name@example.org"
        )
    return sender


def _single_line(text: str) -> str:
    """Collapse line breaks and runs of whitespace, which a header cannot contain."""
    return " ".join(text.split())


def build_message(
    record: ExportRecord,
    recipient: Address,
    *,
    sender: Address | None,
    date: dt.datetime,
) -> EmailMessage:
    """Build the RFC 5322 message for one record.

    The Message-ID is derived from the email id, so exporting the same email again
    gives the same id and a mail client can recognise the duplicate. A missing
    sender leaves out the From header, which the mail client fills in. A
    recipient with a non-ASCII local part gets headers in UTF-8 (RFC 6532).
    """
    if recipient.username.isascii():
        message = EmailMessage(policy=policy.default)
    else:
        message = EmailMessage(policy=UTF8_HEADER_POLICY)
    if sender is not None:
        message["From"] = sender
    message["To"] = recipient
    message["Subject"] = _single_line(record.subject)
    message["Date"] = format_datetime(to_naive_utc(date).replace(tzinfo=dt.UTC))
    domain = sender.domain if sender is not None else FALLBACK_MESSAGE_ID_DOMAIN
    message["Message-ID"] = (
        f"<commjobs.job{record.job_id}.email{record.email_id}@{domain}>"
    )
    message[JOB_HEADER] = str(record.job_id)
    message.set_content(record.body)
    return message


def eml_file_name(record: ExportRecord) -> str:
    """Name an EML file after the donor and the email id, in ASCII letters only.

    The email id makes the name unique among the job's emails and stable, so a
    second export of the same job into the same folder replaces the first.
    """
    ascii_name = (
        unicodedata.normalize("NFKD", record.donor_name)
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    stem = stem[:MAX_FILE_STEM_LENGTH].rstrip("-") or "donor"
    return f"{stem}-{record.email_id}.eml"


def _check_not_stdout(out: Path) -> None:
    if str(out) == "-":
        raise UserError(
            "export cannot write to standard output ('-'); name a file such as "
            "emails.csv"
        )


def _resolve_output_file(out: Path) -> Path:
    """Return the regular file that an export to `out` replaces.

    A symlink is followed, so the file it points to is replaced and the link
    stays. A device, FIFO or socket is rejected, because the rename that ends
    the export would replace that node with a regular file of donor data.
    """
    if out.is_dir():
        raise UserError(
            f"{out} is a folder; give a file name inside it, such as "
            f"{out / 'emails.csv'}"
        )
    if out.exists() and not out.is_file():
        raise UserError(
            f"{out} is {_describe_special_file(out)}, not a regular file; give the "
            "path of a file to create or replace, such as emails.csv"
        )
    try:
        target = out.resolve() if out.is_symlink() else out
    except (OSError, RuntimeError):
        # Python 3.11 raises RuntimeError for a symlink loop, later versions OSError.
        raise UserError(
            f"{out} is a symlink that cannot be followed (a loop); remove the link "
            "or choose another path"
        ) from None
    if not target.parent.is_dir():
        raise UserError(
            f"output folder {target.parent} does not exist; create it or choose "
            "another path"
        )
    return target


def _describe_special_file(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _write_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a private temporary file beside `out`, then rename it."""
    descriptor, temporary_name = tempfile.mkstemp(
        dir=out.parent, prefix=f".{out.name}.", suffix=".part"
    )
    os.close(descriptor)
    temporary = Path(temporary_name)
    try:
        write(temporary)
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_csv(path: Path, records: Sequence[ExportRecord]) -> None:
    # The byte order mark makes Excel read the file as UTF-8 rather than as the
    # local code page, so accented names display correctly.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for record in records:
            values = record.as_dict()
            writer.writerow(
                neutralize_formula(
                    "" if values[column] is None else str(values[column])
                )
                for column in CSV_COLUMNS
            )
        handle.flush()
        os.fsync(handle.fileno())


def _write_jsonl(path: Path, records: Sequence[ExportRecord]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _write_mbox(
    path: Path,
    messages: Sequence[EmailMessage],
    *,
    sender: Address | None,
    date: dt.datetime,
) -> None:
    # Every "From " separator line names a sender. MAILER-DAEMON is the usual
    # placeholder when the export has none.
    envelope_sender = sender.addr_spec if sender is not None else "MAILER-DAEMON"
    envelope_time = to_naive_utc(date).timetuple()
    box = mailbox.mbox(path, create=False)
    try:
        for message in messages:
            entry = mailbox.mboxMessage(message)
            entry.set_from(envelope_sender, envelope_time)
            box.add(entry)
        box.flush()
    finally:
        box.close()


def _write_eml_folder(out: Path, files: Sequence[tuple[str, EmailMessage]]) -> None:
    """Write one EML file per message into `out`, creating the folder (0700).

    The files are written into a private temporary folder first. A new `out` is
    that folder renamed. Into an existing `out` the files are moved one by one,
    replacing files of the same name.
    """
    if out.exists() and not out.is_dir():
        raise UserError(
            f"{out} is a file, but an EML export writes one file per email into a "
            "folder; choose a folder path"
        )
    if not out.parent.is_dir():
        raise UserError(
            f"output folder {out.parent} does not exist; create it or choose "
            "another path"
        )
    staging = Path(
        tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    )
    try:
        for name, message in files:
            descriptor = os.open(
                staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
            )
            with os.fdopen(descriptor, "wb") as handle:
                # RFC 5322 lines end in CRLF, which the SMTP policies write.
                if message.policy is UTF8_HEADER_POLICY:
                    handle.write(message.as_bytes(policy=policy.SMTPUTF8))
                else:
                    handle.write(message.as_bytes(policy=policy.SMTP))
                handle.flush()
                os.fsync(handle.fileno())
        if not out.exists():
            os.chmod(staging, _PRIVATE_DIR_MODE)
            os.rename(staging, out)
            return
        for name, _message in files:
            os.replace(staging / name, out / name)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_error(out: Path, exc: OSError) -> UserError:
    if isinstance(exc, PermissionError):
        return UserError(
            f"cannot write {out}: permission denied; choose a folder you can write to"
        )
    reason = exc.strerror or type(exc).__name__
    return UserError(
        f"cannot write {out}: {reason}; free some space or choose another path"
    )


async def export_job(
    store: Store,
    job_id: int,
    fmt: ExportFormat,
    out: Path,
    *,
    from_address: str | None = None,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write the job's completed, non-preview emails to `out` in format `fmt`.

    CSV, JSON Lines and mbox write one file at `out` and overwrite an existing
    regular file. If `out` is a symlink, the file it points to is overwritten and
    the link kept. EML writes one `.eml` file per email into the folder `out`,
    creating it if missing and replacing files of the same name. `from_address`
    becomes the From header of EML and mbox messages, and `now` (default: the
    current time) is their Date. Donors marked do not contact are left out of
    every format. Donors without a valid address are left out of EML and mbox
    only.

    Raises UserError with a one-line message if the job does not exist, has no
    completed emails, leaves nothing to export, or `out` cannot be written: it is
    "-" (standard output), a device, FIFO or socket, or in a missing folder.
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError(
            f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}"
        )
    _check_not_stdout(out)
    sender = _sender(from_address)
    date = now if now is not None else dt.datetime.now(dt.UTC)
    records = await load_export_records(store, job_id)

    allowed = [record for record in records if not record.do_not_contact]
    skipped_do_not_contact = len(records) - len(allowed)
    skipped_no_email = 0
    messages: list[tuple[ExportRecord, EmailMessage]] = []
    if fmt in ("eml", "mbox"):
        for record in allowed:
            recipient = _recipient(record)
            if recipient is None:
                skipped_no_email += 1
                continue
            messages.append(
                (record, build_message(record, recipient, sender=sender, date=date))
            )
        written = [record for record, _message in messages]
    else:
        written = allowed

    if not written:
        raise UserError(
            f"nothing to export from communication job {job_id}: of its "
            f"{len(records)} completed emails, {skipped_do_not_contact} go to donors "
            f"marked do not contact and {skipped_no_email} to donors without a "
            "valid email address"
        )

    try:
        if fmt == "eml":
            _write_eml_folder(
                out,
                [(eml_file_name(record), message) for record, message in messages],
            )
        else:
            target = _resolve_output_file(out)
            if fmt == "csv":
                _write_atomically(target, lambda path: _write_csv(path, written))
            elif fmt == "jsonl":
                _write_atomically(target, lambda path: _write_jsonl(path, written))
            else:
                _write_atomically(
                    target,
                    lambda path: _write_mbox(
                        path,
                        [message for _record, message in messages],
                        sender=sender,
                        date=date,
                    ),
                )
    except OSError as exc:
        log.warning("export of job %d as %s to %s failed: %s", job_id, fmt, out, exc)
        raise _write_error(out, exc) from None

    log.info(
        "exported %d emails of job %d as %s to %s (skipped: %d without a valid "
        "address, %d do not contact)",
        len(written),
        job_id,
        fmt,
        out,
        skipped_no_email,
        skipped_do_not_contact,
    )
    return ExportResult(
        path=out,
        format=fmt,
        count=len(written),
        skipped_no_email=skipped_no_email,
        skipped_do_not_contact=skipped_do_not_contact,
        email_ids=tuple(record.email_id for record in written),
    )
