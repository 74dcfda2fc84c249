"""Every known column of Alma's Extended Export (one e-collection's portfolios, in the Portfolio
Loader's UPPER_SNAKE names): global, local or system, what it is about and the source that says so.

Global columns come back when the collection is activated again from the Community Zone ("Activate
all"); local columns are the institution's own settings and data, lost with the deleted collection
unless loaded again; system columns are identifiers, names and dates, nothing to lose. A column
that is not in this table is unknown: its content decides (empty in every row: nothing there;
values: not checked for those rows).

Local topics (the re-sync review's categories): localized (not linked to the CZ), coverage (local
dates, volumes, issues, embargo, coverage statement, expected activation), availability,
notes, acquisitions, linking (an override URL), access (proxy, group or library, access type,
simultaneous users).
"""
from __future__ import annotations

from almaclean.model.columns import GLOBAL, LOCAL, SYSTEM, Column, header_key

# Where each role comes from. Keys are used in COLUMNS; the texts are shown to nobody but readers of
# the code and the report (they say why a column is what it is).
SOURCES: dict[str, str] = {
    "guide": "CARLI, Re-syncing an Electronic Collection in Alma (2025): the columns to check for local and "
             "acquisitions data before deleting a collection, "
             "https://www.carli.illinois.edu/products-services/i-share/electronic-res-man/resynccoll",
    "guide-url": "CARLI re-sync guide: the URL column holds override URLs 'regardless of their syntax: parser "
                 "parameters or static URL', so the PARSER_PARAMETERS column is the Community Zone's own",
    "guide-pol": "CARLI re-sync guide, 'when there are POL(s)': information found on the PO line, such as a "
                 "simultaneous user limit, belongs to the portfolio",
    "loader": "Ex Libris, Portfolio Loader: a row is matched by PORTFOLIO_PID, else by ISSN/ISBN/"
              "OTHER_SYSTEM_NUMBER; identifiers and descriptive fields are the bibliographic record's "
              "(the Community Zone's for a CZ-linked portfolio), "
              "https://knowledge.exlibrisgroup.com/Alma/Best_Practices_and_How-Tos/Electronic_Resource_Management_"
              "and_the_Community_Zone/How_Tos/How_to_Maintain_an_Electronic_Collection_Using_Portfolio_Loader",
    "twin": "Extended Export: each local coverage and embargo column has a GLOBAL_ twin holding the Community "
            "Zone's value (confirmed in real exports; the old loader template orders them)",
    "proxy": "Ex Libris, Resolver Proxies: portfolios inherit the service's proxy setting, so a portfolio-level "
             "'proxy enabled' is the library's own choice and a 'not enabled' one changes nothing, "
             "https://exlibris-dev.mindtouch.us/Alma/Product_Documentation/Alma_Online_Help_(English)/"
             "Integrations_with_External_Systems/030Resource_Management/220Resolver_Proxies",
    "group": "Ex Libris: availability per inventory group is set in the service's Group Settings (Edit "
             "Service > Group Settings), the institution's own, "
             "https://knowledge.exlibrisgroup.com/Alma/Knowledge_Articles/"
             "Managing_Electronic_Resources_in_the_NZ%3A_Customer_Parameters_and_Proxy_Set_Up",
    "access": "Alma portfolio access type (Current, Perpetual): the institution's licensed access rights",
    "additional-pol": "Ex Libris, Manually Creating a PO Line: a portfolio has a main PO line and may have "
                      "additional PO lines, "
                      "https://knowledge.exlibrisgroup.com/Alma/Product_Documentation/Alma_Online_Help_(English)/"
                      "Acquisitions/020Purchasing/020Creating_PO_Lines/030Manually_Creating_a_PO_Line",
    "unsourced": "no source found says what this confirmed column holds: it is treated as local, so that a "
                 "value in it is never lost unseen",
    "system": "identifiers, names, creation and modification data: what Alma gives every record, nothing to "
              "lose (the definition of system columns)",
}

_COVERAGE = ("FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY", "FROM_VOLUME", "TO_VOLUME",
             "FROM_ISSUE", "TO_ISSUE")
_EMBARGO = ("PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_YEAR", "PUBLICATION_DATE_MONTH")
LOCAL_STATEMENT = r"(?i)\blocal\b"


def _local(name: str, topic: str, source: str, **kw) -> Column:
    return Column(name, LOCAL, topic, source, **kw)


def _global(name: str, topic: str, source: str, **kw) -> Column:
    return Column(name, GLOBAL, topic, source, **kw)


def _system(name: str, topic: str = "identity", source: str = "system", **kw) -> Column:
    return Column(name, SYSTEM, topic, source, **kw)


COLUMNS: tuple[Column, ...] = (
    # identity and description: the bibliographic record's, or Alma's IDs
    _system("PORTFOLIO_PID", meaning="the portfolio's Alma ID (gone once the collection is deleted)"),
    _system("MMS", meaning="the bibliographic record's Alma ID"),
    _system("PORTFOLIO_ID", confirmed=False, meaning="PORTFOLIO_PID under the name a release may use"),
    _system("MMS_ID", confirmed=False, meaning="MMS under the name a release may use"),
    _global("ISSN", "identity", "loader", meaning="ISSN (up to three columns)"),
    _global("ISBN", "identity", "loader", meaning="ISBN (up to three columns)"),
    _global("OTHER_SYSTEM_NUMBER", "identity", "loader", meaning="other system numbers, e.g. the 035 (up to three)"),
    _global("TITLE", "description", "loader"),
    _global("AUTHOR", "description", "loader"),
    _global("PUBLISHER", "description", "loader"),
    _global("PLACE_OF_PUBLICATION", "description", "loader"),
    _global("DATE_OF_PUBLICATION", "description", "loader"),
    _global("ELECTRONIC_MATERIAL_TYPE", "description", "loader"),
    # coverage: the guide's local dates, the embargo, each against its GLOBAL_ twin
    *(_local(name, "coverage", "guide", twin=f"GLOBAL_{name}", required=True) for name in _COVERAGE),
    _local("WARNINGS", "coverage", "twin", twin="GLOBAL_WARNINGS", required=True),
    *(_local(name, "coverage", "twin", twin=f"GLOBAL_{name}", required=True,
             meaning="local embargo / moving wall") for name in _EMBARGO),
    *(_global(f"GLOBAL_{name}", "coverage", "twin") for name in (*_COVERAGE, "WARNINGS", *_EMBARGO)),
    _local("COVERAGE_STATEMENT", "coverage", "guide", local_pattern=LOCAL_STATEMENT, required=True,
           meaning="which coverage is in use: local when it says so ('Only local', 'Global and local')"),
    _local("EXPECTED_ACTIVATION_DATE", "coverage", "guide", required=True),
    _system("ACTIVATION_DATE", "dates", meaning="when the portfolio was activated"),
    # the guide's other categories
    _local("LOCALIZED", "localized", "guide", neutral=("Y",), required=True,
           meaning="N: the portfolio is not linked to the Community Zone"),
    _local("AVAILABILITY", "availability", "guide", neutral=("ACTIVE",), required=True,
           meaning="INACTIVE portfolios are the library's own choice"),
    *(_local(name, "notes", "guide", required=True)
      for name in ("AUTHENTICATION_NOTES", "PUBLIC_NOTES", "INTERNAL_DESCRIPTION", "NOTES")),
    *(_local(name, "acquisitions", "guide", required=True)
      for name in ("LICENSE", "LICENSE_NAME", "COLLECTION_LICENSE", "COLLECTION_LICENSE_NAME", "PDA", "EBA",
                   "PO_LINE")),
    _local("ADDITIONAL_PO_LINES", "acquisitions", "additional-pol", confirmed=False),
    _local("URL", "linking", "guide", required=True, meaning="an override URL (static URL or parser parameters)"),
    _global("PARSER_PARAMETERS", "linking", "guide-url"),
    # access settings outside the guide's list: lost with the collection all the same
    _local("PROXY_ENABLE", "access", "proxy", neutral=("false", "no", "n", "0"), required=True),
    _local("PROXY_SELECTED", "access", "proxy", required=True),
    _local("PROXY_LEVEL", "access", "proxy", required=True),
    _local("GROUP_NAME", "access", "group", required=True, meaning="availability limited to a group"),
    _local("OWNERSHIP", "access", "unsourced", required=True),
    _local("ACCESS_TYPE", "access", "access", required=True, meaning="Current, Perpetual or both"),
    _local("CONCURRENT_USERS", "access", "guide-pol", confirmed=False, meaning="a simultaneous-user limit"),
    _local("CONCURRENT_USERS_LEVEL", "access", "guide-pol", confirmed=False),
    _local("LIBRARY", "access", "group", confirmed=False, meaning="availability limited to a library"),
    _local("AVAILABLE_FOR_GROUP", "access", "group", confirmed=False, meaning="availability limited to a group"),
    # system: the collection's and service's IDs and names, record dates
    *(_system(name, "collection", confirmed=False)
      for name in ("ELECTRONIC_COLLECTION_ID", "ELECTRONIC_COLLECTION_NAME", "SERVICE_ID", "SERVICE_TYPE",
                   "INTERFACE_NAME")),
    *(_system(name, "dates", confirmed=False)
      for name in ("CREATION_DATE", "CREATED_BY", "MODIFICATION_DATE", "MODIFIED_BY")),
)

BY_NAME: dict[str, Column] = {column.name: column for column in COLUMNS}
if len(BY_NAME) != len(COLUMNS):  # pragma: no cover - a table edit that names a column twice
    raise ValueError("a column is named twice in the Extended Export model")
KNOWN: frozenset[str] = frozenset(BY_NAME)
# Columns the re-sync guide lists (its categories), the columns every real export carries.
GUIDE: frozenset[str] = frozenset(c.name for c in COLUMNS if c.source == "guide")


def column(header: str | None) -> Column | None:
    """The model's column a header cell names (after header_key), or None when unknown."""
    return BY_NAME.get(header_key(header))


def role(header: str | None) -> str | None:
    """global, local or system for a header cell; None when the model does not know it."""
    found = column(header)
    return found.role if found else None


def local_columns(topic: str | None = None) -> tuple[Column, ...]:
    return tuple(c for c in COLUMNS if c.role == LOCAL and (topic is None or c.topic == topic))


def required_columns(topic: str) -> tuple[str, ...]:
    """Names a real export carries for a local topic, in table order."""
    return tuple(c.name for c in local_columns(topic) if c.required)
