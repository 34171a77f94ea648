"""Export of a job's completed emails as CSV, JSON Lines, EML files and mbox."""

from __future__ import annotations

import csv
import datetime as dt
import email
import errno
import json
import mailbox
import os
import re
import stat
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from commjobs_tui.core.errors import NotFoundError, UserError
from commjobs_tui.core.export import export_job
from commjobs_tui.db.store import Store
from tests.jobdata import GENERATED_AT, add_donor, add_email, add_job

NOW = dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def read_utf8_message(data: bytes) -> EmailMessage:
    """Parse a message whose headers may be raw UTF-8 (RFC 6532).

    The bytes parser of Python 3.11 leaves raw UTF-8 in address headers as
    surrogate escapes, but the text parser decodes it.
    """
    message = email.message_from_string(data.decode("utf-8"), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def plain_body(message: Any) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


async def job_with_two_emails(store: Store) -> tuple[int, list[int]]:
    """A job with emails to José García and to a charity trust."""
    job_id = await add_job(store, "Spring appeal")
    jose = await add_donor(store, "José", "García", "jose@example.org")
    trust = await add_donor(
        store, None, None, "grants@trust.example.org", organization_name="Ōtaki Trust"
    )
    first = await add_email(
        store,
        job_id,
        jose,
        subject="Gracias, José",
        body="Querido José,\n\n¡Gracias!\n",
    )
    second = await add_email(store, job_id, trust, subject="Thank you, trustees")
    return job_id, [first, second]


async def test_csv_parses_back_with_unicode(store: Store, tmp_path: Path) -> None:
    job_id, email_ids = await job_with_two_emails(store)
    out = tmp_path / "spring.csv"

    result = await export_job(store, job_id, "csv", out)

    assert result.path == out
    assert result.format == "csv"
    assert result.count == 2
    assert result.skipped_no_email == 0
    assert result.email_ids == tuple(email_ids)
    rows = read_csv(out)
    assert len(rows) == 2
    assert rows[0]["donor_name"] == "José García"
    assert rows[0]["email"] == "jose@example.org"
    assert rows[0]["subject"] == "Gracias, José"
    assert rows[0]["body"] == "Querido José,\n\n¡Gracias!\n"
    assert rows[0]["job_id"] == str(job_id)
    assert rows[0]["job_name"] == "Spring appeal"
    assert rows[0]["email_id"] == str(email_ids[0])
    assert rows[0]["generated_at"] == GENERATED_AT.isoformat()
    assert rows[1]["donor_name"] == "Ōtaki Trust"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert mode_of(out) == 0o600


async def test_csv_neutralises_formula_cells(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store, "=cmd|' /C calc'!A0")
    donor = await add_donor(store, "-2", "@SUM(A1:A9)", "+1@example.org")
    await add_email(
        store,
        job_id,
        donor,
        subject='=HYPERLINK("http://127.0.0.1/x","click")',
        body="\t=1+1",
    )
    other = await add_donor(store, "Plain", "Name", "plain@example.org")
    await add_email(store, job_id, other, subject="\r=2+2", body="a-b = c")
    out = tmp_path / "injection.csv"

    await export_job(store, job_id, "csv", out)

    rows = read_csv(out)
    assert rows[0]["donor_name"] == "'-2 @SUM(A1:A9)"
    assert rows[0]["email"] == "'+1@example.org"
    assert rows[0]["subject"] == '\'=HYPERLINK("http://127.0.0.1/x","click")'
    assert rows[0]["body"] == "'\t=1+1"
    assert rows[0]["job_name"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["subject"] == "'\r=2+2"
    assert rows[1]["body"] == "a-b = c"
    assert rows[1]["donor_name"] == "Plain Name"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


async def test_jsonl_keeps_raw_values(store: Store, tmp_path: Path) -> None:
    job_id, email_ids = await job_with_two_emails(store)
    formula = await add_donor(store, "=Eve", "Formula", "eve@example.org")
    await add_email(store, job_id, formula, subject="+1")
    out = tmp_path / "spring.jsonl"

    result = await export_job(store, job_id, "jsonl", out)

    lines = out.read_text(encoding="utf-8").splitlines()
    assert result.count == 3
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[0]["donor_name"] == "José García"
    assert records[0]["job_id"] == job_id
    assert records[0]["email_id"] == email_ids[0]
    assert records[0]["generated_at"] == GENERATED_AT.isoformat()
    assert records[0]["body"] == "Querido José,\n\n¡Gracias!\n"
    assert records[2]["donor_name"] == "=Eve Formula"
    assert records[2]["subject"] == "+1"
    assert "José" in lines[0]
    assert mode_of(out) == 0o600


async def test_eml_folder_messages_parse_back(store: Store, tmp_path: Path) -> None:
    job_id, email_ids = await job_with_two_emails(store)
    out = tmp_path / "drafts"

    result = await export_job(
        store, job_id, "eml", out, from_address="office@charity.example.org", now=NOW
    )

    assert result.count == 2
    assert mode_of(out) == 0o700
    files = sorted(out.iterdir())
    assert [path.name for path in files] == [
        f"jose-garcia-{email_ids[0]}.eml",
        f"otaki-trust-{email_ids[1]}.eml",
    ]
    for path in files:
        assert mode_of(path) == 0o600
        assert re.fullmatch(r"[a-z0-9-]+\.eml", path.name)
    message = read_eml(files[0])
    assert message["To"].addresses[0].display_name == "José García"
    assert message["To"].addresses[0].addr_spec == "jose@example.org"
    assert message["From"] == "office@charity.example.org"
    assert message["Subject"] == "Gracias, José"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == (
        f"<commjobs.job{job_id}.email{email_ids[0]}@charity.example.org>"
    )
    assert message["X-Commjobs-Job"] == str(job_id)
    # EML files use CRLF line ends, which the parser keeps in the body.
    assert plain_body(message) == "Querido José,\r\n\r\n¡Gracias!\r\n"


async def test_eml_skips_missing_and_invalid_addresses(
    store: Store, tmp_path: Path
) -> None:
    job_id, _ids = await job_with_two_emails(store)
    for address in (None, "", "not-an-address", "two words@example.org"):
        donor = await add_donor(store, "No", "Address", address)
        await add_email(store, job_id, donor)
    out = tmp_path / "drafts"

    result = await export_job(store, job_id, "eml", out)

    assert result.count == 2
    assert result.skipped_no_email == 4
    assert len(list(out.iterdir())) == 2


async def test_csv_keeps_rows_without_address(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store)
    donor = await add_donor(store, "Letter", "Only", None)
    await add_email(store, job_id, donor)
    out = tmp_path / "letters.csv"

    result = await export_job(store, job_id, "csv", out)

    assert result.count == 1
    assert result.skipped_no_email == 0
    assert read_csv(out)[0]["email"] == ""


async def test_eml_headers_flatten_line_breaks(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store)
    donor = await add_donor(
        store, "Mallory\r\nBcc: x@example.net", "Smith", "m@example.org"
    )
    await add_email(
        store, job_id, donor, subject="Hello\nBcc: victim@example.net\n\nInjected"
    )
    out = tmp_path / "drafts"

    await export_job(store, job_id, "eml", out)

    (path,) = out.iterdir()
    message = read_eml(path)
    assert message["Bcc"] is None
    assert message["Subject"] == "Hello Bcc: victim@example.net Injected"
    assert message["To"].addresses[0].addr_spec == "m@example.org"
    assert message["To"].addresses[0].display_name == (
        "Mallory Bcc: x@example.net Smith"
    )
    assert "Thank you for your gift." in plain_body(message)


async def test_eml_international_domain_uses_idna(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store)
    donor = await add_donor(store, "Jürgen", "Müller", "juergen@bücher.example")
    await add_email(store, job_id, donor)
    out = tmp_path / "drafts"

    result = await export_job(store, job_id, "eml", out)

    (path,) = out.iterdir()
    assert result.count == 1
    assert read_eml(path)["To"].addresses[0].domain == "xn--bcher-kva.example"


async def test_eml_into_existing_folder_replaces(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    out = tmp_path / "drafts"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")

    await export_job(store, job_id, "eml", out)
    await export_job(store, job_id, "eml", out)

    names = names_in(out)
    assert len(names) == 3
    assert "notes.txt" in names
    assert not any(name.endswith(".part") for name in names_in(tmp_path))


async def test_message_id_stable_across_exports(store: Store, tmp_path: Path) -> None:
    job_id, email_ids = await job_with_two_emails(store)

    await export_job(store, job_id, "eml", tmp_path / "first")
    await export_job(store, job_id, "eml", tmp_path / "second")

    name = f"jose-garcia-{email_ids[0]}.eml"
    first = read_eml(tmp_path / "first" / name)
    second = read_eml(tmp_path / "second" / name)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@commjobs.invalid>")
    assert first["From"] is None


async def test_mbox_parses_back(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    out = tmp_path / "spring.mbox"

    result = await export_job(
        store, job_id, "mbox", out, from_address="office@charity.example.org", now=NOW
    )

    assert result.count == 2
    assert mode_of(out) == 0o600
    box = mailbox.mbox(out, create=False)
    try:
        messages = list(box)
    finally:
        box.close()
    assert len(messages) == 2
    assert messages[0].get_from().startswith("office@charity.example.org ")
    parsed = email.message_from_bytes(messages[0].as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Gracias, José"
    assert parsed["To"].addresses[0].display_name == "José García"
    assert parsed["X-Commjobs-Job"] == str(job_id)
    assert plain_body(parsed) == "Querido José,\n\n¡Gracias!\n"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "mbox", "eml"])
async def test_previews_and_unfinished_excluded(
    store: Store, tmp_path: Path, fmt: Any
) -> None:
    job_id = await add_job(store)
    recipient = await add_donor(store, "Kept", "Donor", "kept@example.org")
    kept_email_id = await add_email(store, job_id, recipient)
    await add_email(store, job_id, recipient, subject="Preview", is_preview=True)
    for status in ("failed", "pending", "generating"):
        donor = await add_donor(store, status, "Donor", f"{status}@example.org")
        await add_email(store, job_id, donor, status=status, subject=status)

    result = await export_job(store, job_id, fmt, tmp_path / f"out.{fmt}")

    assert result.count == 1
    assert result.email_ids == (kept_email_id,)


async def test_do_not_contact_excluded(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    blocked = await add_donor(
        store, "Do", "Not", "dnc@example.org", do_not_contact=True
    )
    await add_email(store, job_id, blocked)
    out = tmp_path / "spring.csv"

    result = await export_job(store, job_id, "csv", out)

    assert result.count == 2
    assert result.skipped_do_not_contact == 1
    assert "dnc@example.org" not in out.read_text(encoding="utf-8-sig")


async def test_existing_file_is_overwritten(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    out = tmp_path / "spring.csv"
    out.write_text("old content\n")
    out.chmod(0o644)

    await export_job(store, job_id, "csv", out)

    assert len(read_csv(out)) == 2
    assert "old content" not in out.read_text(encoding="utf-8-sig")
    assert mode_of(out) == 0o600


async def test_missing_job_raises_not_found(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="communication job 404 not found"):
        await export_job(store, 404, "csv", tmp_path / "out.csv")


async def test_job_without_completed_emails(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store, "Winter appeal")
    donor = await add_donor(store)
    await add_email(store, job_id, donor, status="failed")
    await add_email(store, job_id, donor, is_preview=True)

    with pytest.raises(UserError) as caught:
        await export_job(store, job_id, "csv", tmp_path / "out.csv")

    message = str(caught.value)
    assert f"communication job {job_id} (Winter appeal) has no completed" in message
    assert "\n" not in message
    assert not (tmp_path / "out.csv").exists()


async def test_nothing_left_to_export(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store)
    donor = await add_donor(store, "No", "Address", None)
    await add_email(store, job_id, donor)

    with pytest.raises(UserError, match="without a valid email address"):
        await export_job(store, job_id, "mbox", tmp_path / "out.mbox")

    assert not (tmp_path / "out.mbox").exists()


async def test_missing_output_folder(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    for fmt in ("csv", "eml"):
        out = tmp_path / "missing" / f"out.{fmt}"
        with pytest.raises(UserError, match=r"output folder .*missing does not exist"):
            await export_job(store, job_id, fmt, out)
    assert not (tmp_path / "missing").exists()


async def test_output_path_is_folder(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    out = tmp_path / "folder"
    out.mkdir()

    with pytest.raises(UserError, match="is a folder; give a file name"):
        await export_job(store, job_id, "csv", out)

    assert list(out.iterdir()) == []


async def test_eml_output_path_is_file(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    out = tmp_path / "drafts.txt"
    out.write_text("not a folder")

    with pytest.raises(UserError, match="is a file, but an EML export"):
        await export_job(store, job_id, "eml", out)

    assert out.read_text() == "not a folder"


async def test_invalid_sender_address(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)

    with pytest.raises(UserError, match="invalid sender address 'office'"):
        await export_job(store, job_id, "eml", tmp_path / "d", from_address="office")


async def test_unknown_format(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)

    with pytest.raises(UserError, match="unknown export format 'xlsx'"):
        await export_job(store, job_id, "xlsx", tmp_path / "x")  # type: ignore[arg-type]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
async def test_read_only_folder_denied(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)

    with pytest.raises(UserError, match="permission denied"):
        await export_job(store, job_id, "csv", folder / "out.csv")


async def test_permission_error_message(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, _ids = await job_with_two_emails(store)

    def deny(*_args: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", deny)
    out = tmp_path / "out.csv"

    with pytest.raises(UserError) as caught:
        await export_job(store, job_id, "csv", out)

    assert str(caught.value) == (
        f"cannot write {out}: permission denied; choose a folder you can write to"
    )
    assert names_in(tmp_path) == ["data", "home"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "mbox", "eml"])
async def test_disk_full_leaves_no_partial_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: Any
) -> None:
    job_id, _ids = await job_with_two_emails(store)
    out = tmp_path / "exports" / f"out.{fmt}"
    out.parent.mkdir()
    if fmt != "eml":
        out.write_text("previous export")

    def disk_full(_descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    # mbox files are flushed by the mailbox module without fsync, so the failure
    # is injected at the rename that every format ends with.
    monkeypatch.setattr(os, "fsync", disk_full)
    if fmt == "mbox":
        monkeypatch.setattr(os, "replace", lambda *_args: disk_full(0))

    with pytest.raises(UserError, match="No space left on device"):
        await export_job(store, job_id, fmt, out)

    remaining = names_in(out.parent)
    if fmt == "eml":
        assert remaining == []
    else:
        assert remaining == [out.name]
        assert out.read_text() == "previous export"


async def test_fifo_output_rejected(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout-link"
    link.symlink_to(fifo)

    for out in (fifo, link):
        with pytest.raises(UserError) as caught:
            await export_job(store, job_id, "csv", out)
        message = str(caught.value)
        assert message.startswith(f"{out} is a FIFO (named pipe), not a regular file")
        assert "\n" not in message

    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert link.is_symlink()


async def test_symlink_output_replaces_target(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    target = tmp_path / "exports" / "spring.csv"
    target.parent.mkdir()
    target.write_text("old content\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)

    result = await export_job(store, job_id, "csv", link)

    assert result.path == link
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert len(read_csv(target)) == 2
    assert mode_of(target) == 0o600
    assert names_in(target.parent) == ["spring.csv"]


async def test_dangling_symlink_creates_target(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    target = tmp_path / "spring.jsonl"
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)

    await export_job(store, job_id, "jsonl", link)

    assert link.is_symlink()
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2


async def test_symlink_loop_rejected(store: Store, tmp_path: Path) -> None:
    job_id, _ids = await job_with_two_emails(store)
    first = tmp_path / "first.csv"
    second = tmp_path / "second.csv"
    first.symlink_to(second)
    second.symlink_to(first)

    with pytest.raises(UserError, match="symlink that cannot be followed"):
        await export_job(store, job_id, "csv", first)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "mbox", "eml"])
async def test_dash_output_rejected(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: Any
) -> None:
    job_id, _ids = await job_with_two_emails(store)
    monkeypatch.chdir(tmp_path)

    with pytest.raises(UserError) as caught:
        await export_job(store, job_id, fmt, Path("-"))

    assert "standard output ('-'); name a file" in str(caught.value)
    assert not (tmp_path / "-").exists()


async def test_eml_non_ascii_local_part(store: Store, tmp_path: Path) -> None:
    job_id, email_ids = await job_with_two_emails(store)
    donor = await add_donor(store, "Zoë", "Über", "zoë.ü@exämple.org")
    utf8_email_id = await add_email(store, job_id, donor, subject="Danke, Zoë")
    for invalid in ('"ü x"@example.org', "ü..x@example.org", "ü@"):
        other = await add_donor(store, "Not", "Valid", invalid)
        await add_email(store, job_id, other)
    out = tmp_path / "drafts"

    result = await export_job(store, job_id, "eml", out)

    assert result.count == 3
    assert result.skipped_no_email == 3
    path = out / f"zoe-uber-{utf8_email_id}.eml"
    data = path.read_bytes()
    assert "To: Zoë Über <zoë.ü@xn--exmple-cua.org>\r\n".encode() in data
    assert "Subject: Danke, Zoë\r\n".encode() in data
    message = read_utf8_message(data)
    assert message["To"].addresses[0].username == "zoë.ü"
    assert message["To"].addresses[0].domain == "xn--exmple-cua.org"
    assert message["Subject"] == "Danke, Zoë"
    assert plain_body(message).endswith("Thank you for your gift.\r\n")
    # Messages to ASCII addresses keep RFC 2047 encoded words in the headers.
    ascii_data = (out / f"jose-garcia-{email_ids[0]}.eml").read_bytes()
    headers, _blank_line, _body = ascii_data.partition(b"\r\n\r\n")
    assert b"=?utf-8?q?Jos=C3=A9_Garc=C3=ADa?=" in headers
    assert headers.isascii()


async def test_mbox_non_ascii_local_part(store: Store, tmp_path: Path) -> None:
    job_id = await add_job(store)
    donor = await add_donor(store, "Zoë", "Über", "ü@exämple.org")
    await add_email(store, job_id, donor)
    out = tmp_path / "out.mbox"

    result = await export_job(store, job_id, "mbox", out)

    assert result.count == 1
    assert result.skipped_no_email == 0
    box = mailbox.mbox(out, create=False)
    try:
        (entry,) = list(box)
    finally:
        box.close()
    parsed = read_utf8_message(entry.as_bytes())
    assert parsed["To"].addresses[0].username == "ü"
    assert parsed["To"].addresses[0].display_name == "Zoë Über"
