"""Decide what a file is from its bytes, never from its name.

Formats: "xlsx" (a zip holding xl/workbook.xml), "csv" (comma or semicolon), "tsv" (tab).
Only regular files are read: a folder, a device such as /dev/zero, a pipe, a missing file
or a broken symbolic link is refused by name before a byte is read (a pipe would block).

Text encodings, decided from the whole file: a BOM (UTF-8, UTF-16 LE/BE), a UTF-16
NUL-byte pattern without BOM (Excel "Unicode text" is UTF-16 LE, tab-separated), strict
UTF-8, then Windows-1252 - but only for a file with no valid UTF-8 multi-byte sequence at
all. A file that is UTF-8 in one place and not in another is refused at the row of its
first invalid byte: it is never half one and half the other. No statistical guessing
(charset-normalizer and the like): a guess is not evidence.
"""
from __future__ import annotations

import codecs
import csv
import errno
import io
import logging
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from almaclean.errors import InputError

log = logging.getLogger(__name__)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
NOT_UTF8 = "cp1252"  # Excel's "CSV" on Western Windows; every byte but five decodes
SEPARATOR_FORMAT = {"\t": "tsv", ",": "csv", ";": "csv"}


@dataclass(frozen=True)
class Detected:
    format: str                  # "xlsx" | "csv" | "tsv"
    encoding: str | None = None  # "utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "cp1252"
    separator: str | None = None


def detect(path: str | Path) -> Detected:
    """Format, encoding and separator of a file, by content."""
    path = Path(path)
    check_regular_file(path)
    raw = _read_bytes(path)
    if container_format(raw[:8], path) == "xlsx":
        check_xlsx(path)
        return Detected("xlsx")
    encoding = detect_encoding(raw, path)
    text = to_utf8(raw, encoding, path)
    separator = sniff_separator(first_line(text))
    if encoding in ("utf-8", "utf-8-sig"):
        encoding = whole_file_encoding(path, separator, bom=encoding == "utf-8-sig")
    return Detected(SEPARATOR_FORMAT[separator], encoding, separator)


def check_regular_file(path: str | Path) -> int:
    """The size of a regular file (symbolic links followed), or InputError naming the path.

    Uses stat only, never open: opening a pipe waits for a writer, and a device such as
    /dev/zero never ends.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise InputError("a symbolic link to a file that does not exist", file=path) from None
        raise InputError("file not found", file=path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError("a symbolic link that points back to itself (a loop)", file=path) from None
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError("is a folder, not a file", file=path)
    if not stat.S_ISREG(info.st_mode):
        raise InputError("not a regular file (a device, pipe or socket): give the path of a saved "
                         "export", file=path)
    return info.st_size


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None


def container_format(head: bytes, path: Path) -> str | None:
    """"xlsx" for a zip, None for text, by content whatever the name says (a CSV saved as
    `export.xlsx` is read as the CSV it is); refuses a legacy .xls."""
    if head.startswith(OLE_MAGIC):
        raise InputError(
            "this is a legacy Excel .xls file (or a password-protected workbook): open it in Excel "
            "and save it as .xlsx (Excel Workbook), without a password, then try again", file=path)
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    return None


def named_like_excel(path: Path) -> bool:
    return path.suffix.lower() in EXCEL_SUFFIXES


def check_xlsx(path: Path) -> None:
    """A complete zip with a workbook inside, or InputError."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError("not a readable Excel file: the zip container is damaged or truncated "
                         "(download or copy it again)", file=path) from None
    if "xl/workbook.xml" not in names:
        raise InputError("not a readable Excel file: a zip archive without an Excel workbook inside "
                         "(an .ods, .docx or plain .zip?); save it from Excel as .xlsx", file=path)


def detect_encoding(raw: bytes, path: Path, *, utf8_checked_later: bool = False) -> str:
    """Encoding of a text file's bytes; InputError when it is empty.

    utf8_checked_later: the caller's parser refuses invalid UTF-8 anyway (polars does), so
    skip the full decode here and fall back to NOT_UTF8 when the parser refuses.
    """
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith(codecs.BOM_UTF16_LE):
        encoding = "utf-16-le"
    elif raw.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16-be"
    else:
        encoding = _utf16_by_nul_bytes(raw[:4096]) or (
            "utf-8" if utf8_checked_later or raw.isascii() or _is_utf8(raw) else NOT_UTF8)
    if _is_blank(_without_bom(raw[:4096], encoding)) and _is_blank(_without_bom(raw, encoding)):
        raise InputError("the file is empty", file=path)
    return encoding


def _is_blank(data: bytes) -> bool:
    return not data.strip(b" \t\r\n\x00\x0b\x0c")


def _utf16_by_nul_bytes(head: bytes) -> str | None:
    """ASCII text in UTF-16 has a NUL in every other byte: odd positions for LE, even for BE."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    odd_nuls = head[1 : pairs * 2 : 2].count(0)
    even_nuls = head[0 : pairs * 2 : 2].count(0)
    if odd_nuls >= 0.4 * pairs and even_nuls == 0:
        return "utf-16-le"
    if even_nuls >= 0.4 * pairs and odd_nuls == 0:
        return "utf-16-be"
    return None


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _without_bom(raw: bytes, encoding: str) -> bytes:
    if encoding == "utf-8-sig":
        return raw[len(codecs.BOM_UTF8):]
    if encoding == "utf-16-le" and raw.startswith(codecs.BOM_UTF16_LE):
        return raw[2:]
    if encoding == "utf-16-be" and raw.startswith(codecs.BOM_UTF16_BE):
        return raw[2:]
    return raw


def to_utf8(raw: bytes, encoding: str, path: Path) -> bytes:
    """The file's text as UTF-8 bytes without BOM (no copy when it already is UTF-8)."""
    body = _without_bom(raw, encoding)
    if encoding in ("utf-8", "utf-8-sig"):
        return body
    try:
        return body.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n" if encoding == "cp1252" else "\n".encode(encoding)) + 1
        raise InputError(f"cannot decode the text as {encoding} (byte {exc.start}): save it as UTF-8",
                         file=path, row=line) from None


def first_line(text: bytes) -> str:
    end = text.find(b"\n")
    return text[: end if end >= 0 else len(text)].decode("utf-8", "replace").rstrip("\r")


def sniff_separator(header_line: str) -> str:
    """Tab when the first line has one between its values, else the more frequent of comma and
    semicolon.

    Quoted parts are ignored so a comma inside "Title, subtitle" does not count, and so is the
    white space ending the line: a tab left at the end of every line ("EDU01000123456,portfolio<TAB>")
    separates nothing. A line with neither (a one-column file) is read as comma-separated.
    """
    unquoted = "".join(part for n, part in enumerate(header_line.split('"')) if n % 2 == 0).rstrip(" \t")
    if "\t" in unquoted:
        return "\t"
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


# --- UTF-8 over the whole file ------------------------------------------------------------

CHUNK_BYTES = 1 << 20
# A valid UTF-8 sequence of two to four bytes: Windows-1252 text almost never holds one.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


def first_invalid_utf8(path: Path, skip: int = 0) -> int | None:
    """Byte offset of the first byte that is not valid UTF-8 (None: the whole file is), streamed."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = skip
    try:
        with path.open("rb") as handle:
            handle.seek(skip)
            while chunk := handle.read(CHUNK_BYTES):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return offset - pending + exc.start
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                return offset - len(decoder.getstate()[0]) + exc.start
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    return None


def whole_file_encoding(path: Path, separator: str, *, bom: bool = False) -> str:
    """"utf-8" (or "utf-8-sig") when every byte of the file is UTF-8, "cp1252" when none of its
    non-ASCII bytes is; InputError at the row of the first invalid byte for a mix."""
    start = len(codecs.BOM_UTF8) if bom else 0
    bad = first_invalid_utf8(path, start)
    if bad is None:
        return "utf-8-sig" if bom else "utf-8"
    raw = _read_bytes(path)
    if bom or _UTF8_MULTIBYTE.search(raw, start):
        row = record_at_offset(raw[start:bad], separator)
        raise InputError(
            f"the file is UTF-8 but this row holds a byte that is not (0x{raw[bad]:02X}, byte {bad} of the "
            "file): it mixes two encodings, so no reading of it is right. Save it again as UTF-8 "
            "(in Excel: CSV UTF-8) and try again", file=path, row=row)
    log.info("%s: not UTF-8 (first non-UTF-8 byte on row %d) and no UTF-8 character anywhere: "
             "read as Windows-1252", path.name, record_at_offset(raw[start:bad], separator))
    return NOT_UTF8


def record_at_offset(before: bytes, separator: str) -> int:
    """Row number (line of the file, or record when quoted values hold line breaks) of the byte
    right after `before`, the file's bytes up to it. For error messages only: slow on purpose."""
    text = before.decode("utf-8", "replace") + "x"
    rows = 0
    try:
        for rows, _ in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=separator), start=1):
            pass
    except csv.Error:  # a field past the csv module's size limit: count lines instead
        return before.count(b"\n") + 1
    return max(rows, 1)
