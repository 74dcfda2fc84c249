"""Extended Export rows (one e-collection's portfolios in the Portfolio Loader's columns)."""
from __future__ import annotations

import polars as pl

_COVERAGE = [
    "FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY",
    "FROM_VOLUME", "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "WARNINGS",
    "PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_YEAR", "PUBLICATION_DATE_MONTH",
]
# The old loader template's order first (alma-formats.md), then the GLOBAL_ twins, then the
# other confirmed names. The last block is plausible padding to the real ~99 columns: those
# names are NOT confirmed and no reader may depend on them.
EXTENDED_EXPORT_HEADER: tuple[str, ...] = (
    "LOCALIZED", "ISSN", "ISSN", "ISSN", "ISBN", "ISBN", "ISBN", "PORTFOLIO_PID", "MMS", "TITLE",
    *_COVERAGE,
    *(f"GLOBAL_{c}" for c in _COVERAGE),
    "OTHER_SYSTEM_NUMBER", "OTHER_SYSTEM_NUMBER", "OTHER_SYSTEM_NUMBER",
    "AVAILABILITY", "PUBLISHER", "PLACE_OF_PUBLICATION", "DATE_OF_PUBLICATION", "URL",
    "PARSER_PARAMETERS", "PROXY_ENABLE", "PROXY_SELECTED", "PROXY_LEVEL", "AUTHOR",
    "ELECTRONIC_MATERIAL_TYPE", "OWNERSHIP", "GROUP_NAME", "AUTHENTICATION_NOTES", "PUBLIC_NOTES",
    "INTERNAL_DESCRIPTION", "COVERAGE_STATEMENT", "ACTIVATION_DATE", "EXPECTED_ACTIVATION_DATE",
    "LICENSE", "LICENSE_NAME", "COLLECTION_LICENSE", "COLLECTION_LICENSE_NAME", "PDA", "PO_LINE",
    "NOTES", "ACCESS_TYPE", "EBA",
    # plausible padding (unconfirmed)
    "ELECTRONIC_COLLECTION_ID", "ELECTRONIC_COLLECTION_NAME", "SERVICE_ID", "SERVICE_TYPE",
    "INTERFACE_NAME", "LIBRARY", "AVAILABLE_FOR_GROUP", "URL_TYPE", "STATIC_URL", "DYNAMIC_URL",
    "LINKING_PARAMETER_1", "LINKING_PARAMETER_2", "LINKING_PARAMETER_3", "LINKING_PARAMETER_4",
    "LINKING_PARAMETER_5", "EDITION", "LANGUAGE", "SERIES", "IS_FREE", "ACCESS_MODEL",
    "CONCURRENT_USERS", "CONCURRENT_USERS_LEVEL", "DEACTIVATION_DATE", "SERVICE_UNAVAILABLE_DATE",
    "SERVICE_UNAVAILABLE_REASON", "CREATION_DATE", "CREATED_BY", "MODIFICATION_DATE", "MODIFIED_BY",
    "PORTFOLIO_CODE",
)

# Review categories of a row (the re-sync guide's cases) and the columns that show them.
CATEGORIES = ("localized", "local_coverage", "inactive", "url_override", "notes", "po_line", "license_pda")

HOSTILE_VALUES = {
    "PUBLIC_NOTES": '=HYPERLINK("http://evil.example/x","Click for access")',
    "AUTHENTICATION_NOTES": "+33 1 44 27 00 00",
    "INTERNAL_DESCRIPTION": "-",
    "NOTES": "@user",
    "FROM_VOLUME": "0012",
}


def column_positions(name: str) -> list[int]:
    return [i for i, h in enumerate(EXTENDED_EXPORT_HEADER) if h == name]


def extended_export_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Frame c0..c98 in EXTENDED_EXPORT_HEADER order from per-row fields.

    `rows` has text columns named after the header (single names) plus issn_1..3,
    isbn_1..3, osn_1..3 for the repeated ones; missing columns are empty.
    """
    repeated = {"ISSN": "issn", "ISBN": "isbn", "OTHER_SYSTEM_NUMBER": "osn"}
    seen: dict[str, int] = {}
    exprs = []
    for i, name in enumerate(EXTENDED_EXPORT_HEADER):
        if name in repeated:
            seen[name] = seen.get(name, 0) + 1
            source = f"{repeated[name]}_{seen[name]}"
        else:
            source = name
        expr = pl.col(source) if source in rows.columns else pl.lit(None, pl.String)
        exprs.append(expr.cast(pl.String).alias(f"c{i}"))
    return rows.select(exprs)
