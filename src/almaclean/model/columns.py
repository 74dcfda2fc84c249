"""Column roles, the Column record every kind's model is made of, and how a header cell is
compared with a model's names."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

GLOBAL = "global"   # comes back from the Community Zone when the collection is activated again
LOCAL = "local"     # the institution's own settings and data: lost with a deleted collection
SYSTEM = "system"   # identifiers, names, creation and modification dates: nothing to lose
ROLES = (GLOBAL, LOCAL, SYSTEM)
_NOTHING = r"^[\s\p{Cf}]*$"   # spaces and invisible format characters only (polars' syntax)


def blank(cell: pl.Expr) -> pl.Expr:
    """A cell that holds nothing: null, or only spaces and invisible format characters (a
    zero-width space, a byte order mark, a soft hyphen: Unicode category Cf). Such a cell is
    evidence that nothing is set there; any other text is data."""
    return cell.is_null() | cell.str.contains(_NOTHING)


def text_of(cell: pl.Expr) -> pl.Expr:
    """A cell's text without its edge spaces; null when the cell is blank."""
    return pl.when(~blank(cell)).then(cell.str.strip_chars())


@dataclass(frozen=True)
class Column:
    """One column of an export, as the rules read it.

    topic: what the column is about (for local columns, the review topic its values go to).
    twin: the GLOBAL_ column a local value is compared with: a local value equal to its global
        twin is the Community Zone's own value, not a local setting.
    neutral: values (compared without case or surrounding spaces) that set nothing local, e.g.
        LOCALIZED "Y"; an empty cell never sets anything.
    local_pattern: when given, only values matching this regular expression are local data
        (COVERAGE_STATEMENT "Only local").
    required: real exports carry this column; an export without it cannot show its data, so the
        topic is "not checked".
    confirmed: the name is seen in real exports or official documentation (else only in a source
        that names it as a field, e.g. a guide sentence).
    """

    name: str
    role: str
    topic: str
    source: str
    twin: str | None = None
    neutral: tuple[str, ...] = ()
    local_pattern: str | None = None
    required: bool = False
    confirmed: bool = True
    meaning: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"column {self.name}: unknown role {self.role!r}")


def header_key(name: str | None) -> str:
    """How a header cell is compared with a model's names: kinds.headers.normalise_header, the one
    normalisation every header is recognised by (Unicode NFKC, invisible characters such as a BOM
    or a zero-width space removed, runs of spaces one space, none at either end). Case and
    spelling are kept: the Portfolio Loader reads "PO_LINE", not "Po_Line"."""
    # Imported here: almaclean.kinds reads the model when it is imported.
    from almaclean.kinds.headers import normalise_header

    return normalise_header(name) if name else ""
