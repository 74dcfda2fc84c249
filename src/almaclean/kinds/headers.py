"""Header cells as they are recognised: the one normalisation every kind's header matching uses.

An export's header can carry what no one sees: a byte-order mark or a zero-width space pasted
inside "PO Line Reference", a no-break space, fullwidth letters from an East Asian input method,
two spaces where one was meant. Recognition compares `normalise_header(cell)`:
- Unicode NFKC (fullwidth "ＰＯ" is "PO", a no-break space is a space, "ﬁ" is "fi");
- default-ignorable code points removed (Unicode's Default_Ignorable_Code_Point, the format
  characters of category Cf among them): byte-order mark, zero-width space and joiners, soft
  hyphen, direction marks, word joiner, variation selectors;
- every run of white space one space, none at either end.
Only recognition uses it: a file's header row is kept exactly as it came (an Extended Export's
header row goes to the Portfolio Loader byte for byte). A header the normalisation changed
(beyond spaces at its ends) is reported (`header_changes`), because the file holds a name
other tools may not recognise.
"""
from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

# Default_Ignorable_Code_Point (Unicode 15, DerivedCoreProperties.txt), besides category Cf.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


def is_ignorable(char: str) -> bool:
    """A character that shows nothing: default-ignorable, or a format character (Cf)."""
    point = ord(char)
    return unicodedata.category(char) == "Cf" or any(low <= point <= high for low, high in _IGNORABLE_RANGES)


@lru_cache(maxsize=4096)
def normalise_header(cell: str) -> str:
    """The form a header cell is recognised in (see the module notes): "\ufeffPO Line\u200bReference " ->
    "PO Line Reference", "ＭＭＳ　Ｉｄ" -> "MMS Id". Case is kept (callers fold it when they compare
    case-insensitively)."""
    text = unicodedata.normalize("NFKC", cell)
    if not text.isascii():
        text = "".join(char for char in text if not is_ignorable(char))
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class HeaderChange:
    """A header cell that normalisation changed: what the file holds and what was recognised."""
    position: int       # 0-based column
    original: str
    normalised: str

    def describe(self) -> str:
        hidden = sorted({f"U+{ord(c):04X}" for c in self.original if is_ignorable(c)})
        what = (f"invisible characters ({', '.join(hidden)})" if hidden
                else "characters Unicode writes otherwise (fullwidth letters, no-break or repeated spaces)")
        return f"header {self.original!r} holds {what}; read as {self.normalised!r}"


def header_changes(header: Sequence[str]) -> tuple[HeaderChange, ...]:
    """The header cells normalise_header changes beyond the spaces at their ends."""
    return tuple(HeaderChange(j, cell, normalise_header(cell)) for j, cell in enumerate(header)
                 if normalise_header(cell) != cell.strip())


def report_header_changes(path: str | Path, header: Sequence[str]) -> tuple[HeaderChange, ...]:
    """header_changes, each said in the log (a warning: the file holds a name other tools may not
    recognise)."""
    from almaclean.read.table import excel_letter

    changes = header_changes(header)
    for change in changes:
        log.warning("%s: column %s: %s", Path(path).name, excel_letter(change.position), change.describe())
    return changes
