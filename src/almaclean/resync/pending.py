"""INACTIVE rows that are more than inactive: a pending order or activation.

The guide removes INACTIVE rows from the spreadsheet ("this will prevent them from being added to
the e-collection and activated"). An INACTIVE portfolio may however be waiting for something the
library started, and dropping its row loses it with the deleted collection:
- an order: a PO line (PO_LINE, ADDITIONAL_PO_LINES) that is not closed or cancelled in the PO
  line export, not found there, or not checked (no PO line export given);
- an activation to come: an EXPECTED_ACTIVATION_DATE (after the run date, or passed while the
  portfolio is still inactive, or unreadable: each said so);
- a trial: a notes column mentioning a trial, or a column named for a trial holding a yes;
- a demand-driven programme: a PDA or EBA value.
Such rows get no default decision: they wait for an explicit one ("keep row" or "drop row"),
with the reason. Pure functions over the export's text frame.
"""
from __future__ import annotations

import re
from datetime import date

import polars as pl

from almaclean.model import extended_export as model
from almaclean.resync.audit import column_key, filled, positions_of
from almaclean.resync.polines import CLOSED_STATUSES
from almaclean.resync.values import date_candidates

ORDER_COLUMNS = ("PO_LINE", "ADDITIONAL_PO_LINES")
NOTES = tuple(c.name for c in model.local_columns("notes"))
PROGRAMME_COLUMNS = ("PDA", "EBA")
_TRIAL = r"(?i)\btrials?\b"
_NO = ("n", "no", "false", "0", "")
_SPLIT = re.compile(r"[;,|\s]+")


def inactive(header) -> pl.Expr:
    """True where an AVAILABILITY cell says INACTIVE (the rows the guide removes)."""
    cells = [(pl.col(f"c{p}").str.strip_chars().str.to_uppercase() == "INACTIVE").fill_null(False)
             for p in positions_of(header, ["AVAILABILITY"])]
    return pl.any_horizontal(cells) if cells else pl.lit(False)


def _order_reasons(value: str, statuses: dict[str, str | None] | None) -> list[str]:
    reasons = []
    for line in (v for v in _SPLIT.split(value) if v):
        if statuses is None:
            reasons.append(f"PO line {line} (its status not checked: no PO line export given)")
        elif line not in statuses:
            reasons.append(f"PO line {line} is not in the PO line export: it may be an open order")
        elif (statuses[line] or "") not in CLOSED_STATUSES:
            reasons.append(f"PO line {line} is {statuses[line] or 'of unknown status'} in the PO line export: "
                           "a pending order")
    return reasons


def _activation_reason(value: str, as_of: date) -> str:
    dates = date_candidates(value)
    if not dates:
        return f"EXPECTED_ACTIVATION_DATE {value!r} (not a date almaclean can read): an activation may be pending"
    if dates[0] > as_of:
        return f"EXPECTED_ACTIVATION_DATE {value} is after {as_of.isoformat()}: an activation to come"
    if dates[-1] < as_of:
        return (f"EXPECTED_ACTIVATION_DATE {value} has passed and the portfolio is still INACTIVE: check whether "
                "the activation is still pending")
    return f"EXPECTED_ACTIVATION_DATE {value} is around {as_of.isoformat()}: an activation may be pending"


def _trial_columns(header) -> list[int]:
    return [p for p, name in enumerate(header)
            if model.column(name) is None and re.search(r"(?i)(?:^|[^a-z])trials?(?:[^a-z]|$)", column_key(name))]


def pending_rows(header, frame: pl.DataFrame, *, po_lines: pl.DataFrame | None, as_of: date) -> dict[int, str]:
    """Frame row -> why the INACTIVE row waits for an explicit decision ("; "-joined reasons).

    po_lines: the po-lines kind's canonical frame (po_line, status), None when not given."""
    index = frame.with_row_index("__i").filter(inactive(header))
    if index.height == 0:
        return {}
    statuses = None
    if po_lines is not None:
        statuses = {}
        for line, status in po_lines.select("po_line", "status").iter_rows():
            key = (line or "").strip()
            if key and key not in statuses:
                status = (status or "").strip().upper().replace(" ", "_")
                statuses[key] = status or None
    names = [column_key(h) for h in header]
    reasons: dict[int, list[str]] = {}

    def cells(positions: list[int]):
        for p in positions:
            rows = index.filter(filled(f"c{p}")).select("__i", pl.col(f"c{p}").str.strip_chars())
            yield p, rows.iter_rows()

    for p, rows in cells(positions_of(header, ORDER_COLUMNS)):
        for i, value in rows:
            reasons.setdefault(i, []).extend(_order_reasons(value, statuses))
    for p, rows in cells(positions_of(header, ["EXPECTED_ACTIVATION_DATE"])):
        for i, value in rows:
            reasons.setdefault(i, []).append(_activation_reason(value, as_of))
    for p, rows in cells(positions_of(header, NOTES)):
        for i, value in rows:
            if re.search(_TRIAL, value):
                reasons.setdefault(i, []).append(f"{names[p]} mentions a trial: {value!r}")
    for p, rows in cells(_trial_columns(header)):
        for i, value in rows:
            if value.lower() not in _NO:
                reasons.setdefault(i, []).append(f"{header[p]!r} says {value!r}: a trial")
    for p, rows in cells(positions_of(header, PROGRAMME_COLUMNS)):
        for i, value in rows:
            reasons.setdefault(i, []).append(f"{names[p]} {value!r}: part of a {names[p]} programme")
    return {i: "; ".join(r) for i, r in sorted(reasons.items()) if r}
