"""Reading a CSV export: encoding, delimiter, header and records with line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from commjobs_tui.core.errors import UserError

DELIMITERS = (",", ";", "\t")
# Lines read to choose the delimiter.
SNIFF_LINES = 50
# Share of control characters (other than tab and line breaks) above which decoded
# text is taken to be binary data.
MAX_CONTROL_SHARE = 0.01
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A multi-byte UTF-8 sequence. Windows-1252 text almost never contains one,
# because it would read as mojibake such as "Ã©".
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SAVE_AS_CSV = "open it in Excel or your CRM and save or export it as CSV UTF-8"


class ImportFileError(UserError):
    """A file that cannot be imported at all. Nothing from it was written."""


@dataclass(frozen=True)
class Record:
    """One data row and the physical line on which it starts."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """The decoded header and data rows of a CSV file."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]
    header_line: int
    records: tuple[Record, ...]


def read_table(path: Path) -> Table:
    """Read and decode a CSV file.

    Raises ImportFileError when the file is missing, unreadable, binary, empty, or
    has no header.
    """
    data = _read_bytes(path)
    if not data.strip():
        raise ImportFileError(
            f"{path} is empty; export the donors from your CRM again and import "
            "the new file"
        )
    text, encoding = decode_text(data, path)
    delimiter = choose_delimiter(text)
    rows = _parse_rows(text, delimiter, path)
    if not rows:
        raise ImportFileError(
            f"{path} has no header row; the first line must name the columns, "
            "such as Name, Email, Amount, Date"
        )
    header_line, header_cells = rows[0]
    header = tuple(cell.strip().lstrip("\ufeff").strip() for cell in header_cells)
    if not any(header):
        raise ImportFileError(
            f"{path} has an empty header row on line {header_line}; the first line "
            "must name the columns, such as Name, Email, Amount, Date"
        )
    records = tuple(Record(line, tuple(cells)) for line, cells in rows[1:])
    return Table(
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        header_line=header_line,
        records=records,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"{path} not found; check the file name") from None
    except IsADirectoryError:
        raise ImportFileError(
            f"{path} is a folder; give the path of the CSV file inside it"
        ) from None
    except PermissionError:
        raise ImportFileError(
            f"permission denied reading {path}; make the file readable for your "
            "user (chmod u+r) or copy it somewhere you can read"
        ) from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None


def decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """Decode the bytes of a CSV file and return the text and the encoding used.

    UTF-8 with a byte order mark is "utf-8-sig". Without one, UTF-8 is tried
    first and Windows-1252 second: Windows-1252 text with accented letters is
    almost never valid UTF-8, while almost any bytes decode as Windows-1252.
    UTF-16 with a byte order mark, as Excel saves "Unicode Text", is "utf-16".
    """
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC):
        raise ImportFileError(
            f"{path} is an Excel workbook, not CSV text; {_SAVE_AS_CSV}"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _decode_as(data, "utf-16", path), "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        text, encoding = _decode_as(data, "utf-8-sig", path), "utf-8-sig"
    elif b"\x00" in data:
        raise ImportFileError(f"{path} is a binary file, not CSV text; {_SAVE_AS_CSV}")
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            if _UTF8_SEQUENCE.search(data):
                # Reading the file as Windows-1252 would garble every accented
                # letter that is valid UTF-8, so the user fixes the one line.
                line = data.count(b"\n", 0, exc.start) + 1
                raise ImportFileError(
                    f"{path} mixes UTF-8 with another encoding: line {line} is "
                    f"not valid UTF-8; fix that line, or {_SAVE_AS_CSV}"
                ) from None
            text, encoding = _decode_as(data, "cp1252", path), "cp1252"
    if _looks_binary(text):
        raise ImportFileError(f"{path} is a binary file, not CSV text; {_SAVE_AS_CSV}")
    return text, encoding


def _decode_as(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "Windows-1252 or UTF-8" if encoding == "cp1252" else encoding.upper()
        raise ImportFileError(
            f"{path} is not valid {name} text (byte {exc.start} cannot be "
            f"decoded); {_SAVE_AS_CSV}"
        ) from None


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\r\n")
    return "\x00" in sample or controls > MAX_CONTROL_SHARE * len(sample)


def choose_delimiter(text: str) -> str:
    """Return the delimiter that splits the first lines into the most columns.

    A candidate must give the header at least two columns, and the rows that
    have as many cells as the header count first, so a comma inside the cells
    of a semicolon file ("12,50") does not win. A file with a single column
    gets a comma.
    """
    sample_lines = [line for line in text.splitlines() if line.strip()][:SNIFF_LINES]
    sample = "\n".join(sample_lines)
    best = ","
    best_score = (0, 0)
    for delimiter in DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
            rows = [row for row in reader if row]
        except csv.Error:
            continue  # _parse_rows reports the error with its line
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        matching = sum(1 for row in rows if len(row) == width)
        score = (matching, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_rows(text: str, delimiter: str, path: Path) -> list[tuple[int, list[str]]]:
    """Split the text into rows of cells, each with the line on which it starts.

    Blank lines and rows of only empty cells are dropped. A quoted cell may span
    lines, so the line numbers are physical lines of the file, not row counts.
    Raises ImportFileError for a quote that is never closed, which would
    otherwise merge the rows after it into one cell.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    physical_lines: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line = start
            start = reader.line_num + 1
            if reader.line_num > line:
                if physical_lines is None:
                    physical_lines = io.StringIO(text, newline="").readlines()
                raw = "".join(physical_lines[line - 1 : reader.line_num])
                _check_quotes_closed(raw, delimiter, line, cells, path)
            if any(cell.strip() for cell in cells):
                rows.append((line, cells))
    except csv.Error as exc:
        raise ImportFileError(
            f"{path} line {start}: invalid CSV ({exc}); check the quoting on that "
            "line, or export the file from your CRM again"
        ) from None
    return rows


def _check_quotes_closed(
    raw: str, delimiter: str, line: int, cells: list[str], path: Path
) -> None:
    """Raise ImportFileError unless the quoted cells of a multi-line row close.

    The lenient reader used for the whole file ends an unclosed quoted cell at
    the end of the file, or at the next quote followed by other text, so whole
    rows end up inside one cell. The strict reader raises for both. The unclosed
    quote opens the last cell that contains a line break, and the line breaks in
    the cells before it give the line of that quote.

    NOTE: text after a closing quote ('"a"b') is accepted on a single-line row
    but rejected by this check on a multi-line row, with the same message.
    """
    try:
        list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        last_multiline = max(
            (index for index, cell in enumerate(cells) if _LINE_BREAK.search(cell)),
            default=0,
        )
        opened = line + sum(
            len(_LINE_BREAK.findall(cell)) for cell in cells[:last_multiline]
        )
        raise ImportFileError(
            f'{path} line {opened}: a quote (") opens a cell but is never closed, '
            "so the rows after it would be read as one cell; add the missing "
            "closing quote or remove the stray one, then import again"
        ) from None
