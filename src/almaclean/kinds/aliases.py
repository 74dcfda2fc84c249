"""Header names by meaning, per kind (sources: /work/shared/alma-formats.md).

Headers are compared folded: normalised (kinds.headers: Unicode NFKC, invisible characters
removed), then case-insensitive, with spaces, underscores and dots removed, so "MMS Id",
"MMS ID", "MMS_ID", "mms.id " and "\ufeffMMS Id" are one name. A user mapping file adds
names per kind and wins over these (kinds.mapping).
"""
from __future__ import annotations

import re

from almaclean.kinds.headers import normalise_header
from almaclean.kinds.registry import NAMES
from almaclean.model import extended_export as extended_export_model


_FOLDED_OUT = re.compile(r"[\s_.]+")

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "portfolios": {
        "portfolio_id": ("Portfolio Id", "Portfolio ID", "PORTFOLIO_PID", "PID", "PORTFOLIO_ID"),
        "mms_id": ("MMS Id", "MMS ID", "MMS", "MMS_ID"),
        "title": ("Title", "Portfolio Title"),
        "publisher": ("Publisher",),
        "publication_date": ("Publication Date", "Date of Publication"),
        "issn": ("ISSN", "eISSN", "Online ISSN", "Print ISSN"),
        "isbn": ("ISBN", "ISBN (13)", "ISBN13", "eISBN"),
        "network_number": ("Network Number", "Other System Number", "035"),
        "collection_id": ("Electronic Collection Id", "Electronic Collection ID", "Collection ID",
                          "Collection Id"),
        "collection_name": ("Electronic Collection Public Name", "Collection Public Name",
                            "Electronic Collection Name"),
        "interface_name": ("Interface Name", "Electronic Collection Interface Name"),
        "service_id": ("Service ID", "Service Id", "Electronic Service Id"),
        "portfolio_linked_to_cz": ("Portfolio Linked To CZ",),
        "collection_linked_to_cz": ("Electronic Collection Linked To CZ", "Collection Linked To CZ"),
        "availability": ("Availability", "Portfolio Availability"),
        "url": ("Portfolio Static URL (override)", "Portfolio Static URL", "Access URL", "URL"),
        "po_line": ("PO Line Reference", "Portfolio PO Line", "PO Line", "PO_LINE", "PO Line Ref", "POL",
                    "POL Reference", "Portfolio PO Line Reference"),
        "coverage_statement": ("Coverage Statement", "Portfolio Coverage Information",
                               "Portfolio Coverage Statement"),
        "material_type": ("Material Type", "Electronic Material Type"),
        "license_name": ("License Name", "Portfolio License Name"),
        "is_standalone": ("Is Standalone", "Standalone"),
        # The portfolio's own notes, licence, PO lines, proxy and group settings (Alma Analytics,
        # E-Inventory subject area, Portfolio folder; model.portfolio says what each one is).
        "public_note": ("Portfolio Public Note", "Public Note", "Public Notes", "PUBLIC_NOTES"),
        "authentication_note": ("Portfolio Authentication Note", "Authentication Note", "Authentication Notes",
                                "AUTHENTICATION_NOTES"),
        "internal_description": ("Portfolio Internal Description", "Internal Description", "INTERNAL_DESCRIPTION"),
        "license_code": ("License Code", "Portfolio License Code", "License", "Portfolio License", "LICENSE"),
        "additional_po_lines": ("Portfolio Additional PO Lines", "Additional PO Lines", "Addition PO Line",
                                "Additional PO Line", "Portfolio Additional PO Line"),
        "proxy_enabled": ("Portfolio Proxy Enabled", "Proxy Enabled", "PROXY_ENABLE"),
        "proxy_selected": ("Portfolio Proxy Selected", "Proxy Selected", "PROXY_SELECTED"),
        "available_for_group": ("Available For Group", "Portfolio Available For Group", "Available For Groups",
                                "GROUP_NAME"),
    },
    "p2e": {
        "legacy_id": ("Legacy ID", "Bib Number", "Record Number", "001", "ILS Bib Number"),
        "p2e_type": ("Type", "P2E Type", "Resource Type"),
        "title": ("Title",),
        "issn": ("ISSN",),
        "isbn": ("ISBN",),
        "url": ("856 URL", "856$u", "URL", "Link"),
        "provider": ("Provider", "856$z", "Public Note"),
        "po_number": ("PO Number", "PO Line", "Order Number", "PO Line Reference", "PO Line Ref", "POL",
                      "POL Number"),
    },
    "po-lines": {
        "po_line": ("PO Line Reference", "PO Line", "POL", "PO Line Ref", "POL Reference", "PO_LINE"),
        "title": ("PO Line Title", "Title"),
        "status": ("Status", "PO Line Status"),
        "order_line_type": ("Order Line Type",),
        "vendor": ("Vendor Name", "Vendor"),
        "mms_id": ("MMS Id", "MMS ID", "MMS", "MMS_ID", "MMS Record Id"),
        "portfolio_id": ("Portfolio Id", "Portfolio ID", "PORTFOLIO_PID", "PID", "PORTFOLIO_ID"),
    },
    # The Portfolio Loader's UPPER_SNAKE names; other Extended Export columns stay in the table.
    "extended-export": {
        "portfolio_id": ("PORTFOLIO_PID", "PORTFOLIO_ID"),
        "mms_id": ("MMS", "MMS_ID"),
        "title": ("TITLE",),
        "localized": ("LOCALIZED",),
        "availability": ("AVAILABILITY",),
        "issn": ("ISSN",),
        "isbn": ("ISBN",),
        "other_system_number": ("OTHER_SYSTEM_NUMBER",),
        "url": ("URL",),
        "po_line": ("PO_LINE",),
        "coverage_statement": ("COVERAGE_STATEMENT",),
        "publisher": ("PUBLISHER",),
    },
}

# Every column the Extended Export model knows (almaclean.model.extended_export): never taken for a
# misspelt guide column, whatever words they contain ("GLOBAL_FROM_YEAR" is not FROM_YEAR).
EXTENDED_EXPORT_KNOWN_COLUMNS: frozenset[str] = extended_export_model.KNOWN

REQUIRED: dict[str, tuple[str, ...]] = {
    "portfolios": ("portfolio_id", "mms_id"),
    "p2e": ("legacy_id",),
    "po-lines": ("po_line",),
    "extended-export": ("portfolio_id", "mms_id"),
}

# Several columns may feed these (ISSN x3, "ISBN" and "ISBN (13)"): non-empty values joined with "; ".
MULTI_VALUE = frozenset({"issn", "isbn", "network_number", "other_system_number"})
# Alma IDs: digit strings only, never through a number.
ALMA_ID_COLUMNS = ("portfolio_id", "mms_id")
JOIN_SEPARATOR = "; "


def fold(name: str) -> str:
    """The form headers are compared in: "Portfolio_Id " -> "portfolioid"."""
    return _FOLDED_OUT.sub("", normalise_header(name)).casefold()


def canonical_columns(kind: str) -> tuple[str, ...]:
    """Canonical column names of a kind, in order (ValueError for an unknown kind)."""
    return tuple(ALIASES[check_kind(kind)])


def check_kind(kind: str) -> str:
    if kind not in ALIASES:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(NAMES)}")
    return kind

# CZ collection title lists (kinds.kbart): not stored, read beside a P2E analysis. KBART's
# standard names first, then an Alma portfolio export's. The CZ's own coverage (GLOBAL_*)
# before an Extended Export's local FROM_YEAR / TO_YEAR.
CZ_TITLE_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("publication_title", "Title", "TITLE", "Portfolio Title"),
    "identifiers": ("print_identifier", "online_identifier", "ISSN", "ISBN", "eISSN", "Online ISSN",
                    "Print ISSN", "ISBN (13)", "eISBN"),
    "date_first": ("date_first_issue_online", "GLOBAL_FROM_YEAR", "FROM_YEAR"),
    "date_last": ("date_last_issue_online", "GLOBAL_TO_YEAR", "TO_YEAR"),
    "embargo": ("embargo_info",),
    "coverage_statement": ("Coverage Statement", "COVERAGE_STATEMENT", "Portfolio Coverage Statement"),
    "title_url": ("title_url", "Portfolio Static URL", "URL", "Access URL"),
    "publication_type": ("publication_type", "Material Type", "ELECTRONIC_MATERIAL_TYPE"),
    "collection_name": ("Electronic Collection Public Name", "ELECTRONIC_COLLECTION_NAME", "Collection Public Name"),
}
CZ_TITLE_MULTI = frozenset({"identifiers"})
