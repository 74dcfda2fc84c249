"""A portfolio's fields as Alma means them, for the portfolio export (Analytics E-Inventory or a
repository search export; kinds.aliases["portfolios"] names the headers).

Roles:
- GLOBAL: descriptive data that comes back from the Community Zone with a CZ-linked keeper (title,
  identifiers, publisher, material type, collection and interface names).
- LOCAL: the library's own settings on this portfolio. Those in LOCAL_DATA are lost when the
  portfolio is deleted and no keeper carries them: public, authentication and internal notes,
  the portfolio's licence, proxy settings and group availability. PO lines are local too but are
  never lost by a set (the POL guard relinks them first); the portfolio's own coverage and URL are
  compared with the keeper's (coverage) or replaced by the keeper's (URL).
- SYSTEM: IDs, links and flags Alma sets (portfolio and MMS IDs, CZ links, standalone).

A column no alias recognises is judged by its content and its name (`judge_unknown`): empty on
every P2E portfolio it is evidence that nothing is there; with values under a name that says
local data (note, licence, PO, access, proxy, group...) it makes those portfolios "not checked";
other names (Author, Subjects...) are bibliographic description, lost with the P2E bib, which the
guide deletes on purpose.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from almaclean.model.columns import GLOBAL, LOCAL, SYSTEM


@dataclass(frozen=True)
class Field:
    column: str                 # canonical column of the portfolios kind
    role: str                   # GLOBAL | LOCAL | SYSTEM
    what: str                   # in words, as outputs name it
    lost: bool = False          # local data a deletion loses (the P2E keeps it only by copying it first)
    unset: frozenset[str] = frozenset()   # values (folded) that mean "nothing set", e.g. a "No" flag


_NO = frozenset({"no", "n", "false", "0", "none"})

FIELDS: tuple[Field, ...] = (
    Field("portfolio_id", SYSTEM, "portfolio id"),
    Field("mms_id", SYSTEM, "MMS id"),
    Field("title", GLOBAL, "title"),
    Field("publisher", GLOBAL, "publisher"),
    Field("publication_date", GLOBAL, "publication date"),
    Field("issn", GLOBAL, "ISSN"),
    Field("isbn", GLOBAL, "ISBN"),
    Field("network_number", SYSTEM, "035 / network number"),
    Field("collection_id", SYSTEM, "electronic collection id"),
    Field("collection_name", GLOBAL, "electronic collection"),
    Field("interface_name", GLOBAL, "interface"),
    Field("service_id", SYSTEM, "service id"),
    Field("portfolio_linked_to_cz", SYSTEM, "portfolio linked to the CZ"),
    Field("collection_linked_to_cz", SYSTEM, "collection linked to the CZ"),
    Field("availability", LOCAL, "availability"),
    Field("url", LOCAL, "URL"),
    Field("po_line", LOCAL, "PO line"),
    Field("coverage_statement", LOCAL, "coverage"),
    Field("material_type", GLOBAL, "material type"),
    Field("license_name", LOCAL, "licence", lost=True),
    Field("is_standalone", SYSTEM, "standalone"),
    Field("public_note", LOCAL, "public note", lost=True),
    Field("authentication_note", LOCAL, "authentication note", lost=True),
    Field("internal_description", LOCAL, "internal description", lost=True),
    Field("license_code", LOCAL, "licence code", lost=True),
    Field("additional_po_lines", LOCAL, "additional PO lines"),
    Field("proxy_enabled", LOCAL, "proxy enabled", lost=True, unset=_NO),
    Field("proxy_selected", LOCAL, "proxy selected", lost=True, unset=_NO),
    Field("available_for_group", LOCAL, "available for group", lost=True),
)
BY_COLUMN: dict[str, Field] = {f.column: f for f in FIELDS}
# Local data a deletion would lose: a P2E portfolio holding any is never put in a deletion set.
LOCAL_DATA: tuple[str, ...] = tuple(f.column for f in FIELDS if f.lost)
# Every column that ties a PO line to the portfolio (the POL guard reads them all).
PO_LINE_COLUMNS: tuple[str, ...] = ("po_line", "additional_po_lines")

# Words in a header that say the column holds the library's own data about the portfolio.
_LOCAL_WORDS = frozenset({
    "note", "notes", "licence", "license", "licenses", "licences", "po", "pol", "pols", "order", "orders",
    "access", "proxy", "group", "groups", "authentication", "internal", "local", "restriction",
    "restrictions", "users", "user", "pda", "eba", "fund", "funds", "vendor", "invoice", "comment",
    "comments", "remark", "remarks",
})
_WORD = re.compile(r"[^\W_]+")

EMPTY_EVERYWHERE = "empty on every P2E portfolio: nothing to lose"
LOCAL_LOOKING = "holds values and its name says local data: not checked for those portfolios"
DESCRIPTIVE = "holds values; its name says bibliographic description, lost with the P2E bib as the guide intends"


def looks_local(header: str) -> bool:
    """Whether an unrecognised header names the library's own data about the portfolio."""
    words = {w.casefold() for w in _WORD.findall(header)}
    return bool(words & _LOCAL_WORDS)


def judge_unknown(header: str, values_on_p2e: int) -> str:
    """How an unrecognised column counts, from its name and how many P2E portfolios hold a value."""
    if values_on_p2e == 0:
        return EMPTY_EVERYWHERE
    return LOCAL_LOOKING if looks_local(header) else DESCRIPTIVE


def is_set(column: str, value: str | None) -> bool:
    """Whether a local field's value is data (not empty, not its "nothing set" value)."""
    if value is None or not value.strip():
        return False
    return value.strip().casefold() not in BY_COLUMN[column].unset
