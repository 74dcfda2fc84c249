"""Decide what a file is from its bytes, never from its name.

Formats: "xlsx" (a zip holding xl/workbook.xml), "csv" (comma or semicolon), "tsv" (tab).
Text encodings, in the order they are tried: a BOM (UTF-8, UTF-16 LE/BE), a UTF-16 NUL-byte
pattern without BOM (Excel "Unicode text" is UTF-16 LE, tab-separated), strict UTF-8,
then Windows-1252. A strict "UTF-8 else Windows-1252" is predictable: a file is never half
one and half the other.
"""
from __future__ import annotations

import codecs
import logging
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
    raw = _read_bytes(path)
    if container_format(raw[:8], path) == "xlsx":
        check_xlsx(path)
        return Detected("xlsx")
    encoding = detect_encoding(raw, path)
    text = to_utf8(raw, encoding, path)
    separator = sniff_separator(first_line(text))
    return Detected(SEPARATOR_FORMAT[separator], encoding, separator)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None


def container_format(head: bytes, path: Path) -> str | None:
    """"xlsx" for a zip, None for text; refuses legacy .xls and a text file named like Excel."""
    if head.startswith(OLE_MAGIC):
        raise InputError(
            "this is a legacy Excel .xls file (or a password-protected workbook): open it in Excel "
            "and save it as .xlsx (Excel Workbook), without a password, then try again", file=path)
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if path.suffix.lower() in EXCEL_SUFFIXES:
        raise InputError("not a readable Excel file: the name ends in "
                         f"{path.suffix} but the content is not an Excel workbook (damaged or truncated?)",
                         file=path)
    return None


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
    """Tab when the first line has one, else the more frequent of comma and semicolon.

    Quoted parts are ignored so a comma inside "Title, subtitle" does not count. A line with
    neither (a one-column file) is read as comma-separated.
    """
    unquoted = "".join(part for n, part in enumerate(header_line.split('"')) if n % 2 == 0)
    if "\t" in unquoted:
        return "\t"
    return ";" if unquoted.count(";") > unquoted.count(",") else ","
