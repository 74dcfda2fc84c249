"""Will each kept row load again after the collection is deleted?

- The Portfolio Loader matches a row by PORTFOLIO_PID, else by ISSN, ISBN or OTHER_SYSTEM_NUMBER.
  Once the collection is deleted its PORTFOLIO_PIDs are gone, so a row with none of the three
  cannot be matched: it is listed with what to add.
- A LOCALIZED N row whose ISSN or ISBN is also on a CZ-linked row (LOCALIZED Y) of the same
  export would become a second CZ portfolio of that title if set to Y: it is flagged and waits
  for an explicit decision instead of the default "set LOCALIZED Y".
Pure functions over the export's text frame.
"""
from __future__ import annotations

import polars as pl

from almaclean.normalize.identifiers import identifier_table
from almaclean.resync.audit import filled, positions_of
from almaclean.resync.values import LOADER_IDENTIFIER

MATCH_COLUMNS = ("ISSN", "ISBN", "OTHER_SYSTEM_NUMBER")
TITLE_IDENTIFIERS = ("ISSN", "ISBN")
WHAT_TO_ADD = ("add an ISSN, ISBN or OTHER_SYSTEM_NUMBER (e.g. the 035 of its bibliographic record; an ISSN or ISBN "
               "alone, digits and hyphens): after the deletion its PORTFOLIO_PID no longer exists and the Portfolio "
               "Loader matches a row by these")


def no_identifier_rows(header, frame: pl.DataFrame) -> list[int]:
    """Frame rows holding a portfolio (some cell) but nothing the loader can match them by: no
    OTHER_SYSTEM_NUMBER value, and no ISSN or ISBN written alone in their ISSN and ISBN cells
    ("n/a", "see note" or "ISSN 0038-7134 (Online)" is none; one with a wrong check digit still is,
    as the record may carry it too)."""
    if not frame.width:
        return []
    others = positions_of(header, [c for c in MATCH_COLUMNS if c not in TITLE_IDENTIFIERS])
    has_id = pl.any_horizontal([filled(f"c{p}") for p in others]) if others else pl.lit(False)
    identified = _rows_with_an_identifier(header, frame)
    if identified is not None:
        has_id = has_id | pl.int_range(pl.len()).is_in(identified.implode())
    has_cell = pl.any_horizontal(pl.all().is_not_null())
    found = frame.select(pl.arg_where(has_cell & ~has_id)).to_series()
    return found.cast(pl.Int64).to_list()


def _rows_with_an_identifier(header, frame: pl.DataFrame) -> pl.Series | None:
    """Frame rows whose ISSN or ISBN cells hold an ISSN or ISBN written as the loader takes it
    (alone: digits, hyphens), valid or not; None without such columns."""
    positions = positions_of(header, TITLE_IDENTIFIERS)
    if not positions:
        return None
    cells = frame.select([f"c{p}" for p in positions]).with_row_index("__i")
    ids = identifier_table(cells, "__i", [f"c{p}" for p in positions], valid_only=False)
    matchable = (pl.col("id_type") != "unknown") & pl.col("raw").str.strip_chars().str.contains(
        f"^(?:{LOADER_IDENTIFIER.pattern})$")
    return ids.filter(matchable).get_column("__i").unique().cast(pl.Int64)


def _linked(header) -> pl.Expr:
    """A CZ-linked row: a LOCALIZED cell says Y."""
    cells = [(pl.col(f"c{p}").str.strip_chars().str.to_uppercase() == "Y").fill_null(False)
             for p in positions_of(header, ["LOCALIZED"])]
    return pl.any_horizontal(cells) if cells else pl.lit(False)


def cz_duplicates(header, frame: pl.DataFrame, localized: list[int], pids: pl.Series,
                  first_row: int) -> dict[int, str]:
    """LOCALIZED N frame row -> why setting it to Y would duplicate a CZ-linked row of the export."""
    positions = positions_of(header, TITLE_IDENTIFIERS)
    if not localized or not positions:
        return {}
    names = {f"c{p}": header[p].strip() for p in positions}
    rows = frame.select([f"c{p}" for p in positions]).with_row_index("__i").with_columns(
        pl.col("__i").cast(pl.Int64), frame.select(_linked(header).alias("__cz")).to_series())
    candidates = rows.filter(pl.col("__i").is_in(localized) | pl.col("__cz"))
    ids = identifier_table(candidates, ["__i", "__cz"], list(names), valid_only=False)
    ids = ids.filter(pl.col("valid")).select("__i", "__cz", "source_column", "value")
    local = ids.filter(pl.col("__i").is_in(localized))
    linked = ids.filter(pl.col("__cz")).group_by("value").agg(pl.col("__i").min().alias("__cz_row"))
    pairs = local.join(linked, on="value").filter(pl.col("__cz_row") != pl.col("__i")).sort("__i", "__cz_row")
    found: dict[int, str] = {}
    for i, column, value, other in pairs.select("__i", "source_column", "value", "__cz_row").iter_rows():
        if i in found:
            continue
        found[i] = (f"{names[column]} {value} is also on row {other + first_row} (PORTFOLIO_PID {pids[other]}, "
                    "linked to the CZ): set to Y, this portfolio would be a second CZ portfolio of the same title; "
                    "choose drop row, keep it local (set LOCALIZED N) or set LOCALIZED Y knowingly")
    return found
