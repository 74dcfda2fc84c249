"""What the person reads: the decision in plain words, next steps, audit.json, the review
workbook (summary, one sheet per category, change log) and the cross-collection summary.
Pure: builds dicts and `write.xlsx.Sheet`s; the flow writes them."""
from __future__ import annotations

import polars as pl

from almaclean.resync.audit import CATEGORIES, CATEGORY_COLUMNS, CATEGORY_TITLES, filled, positions_of
from almaclean.resync.decisions import CHOICES, PO_LINE_SHEET, SHA_ITEM, default_decision
from almaclean.resync.loader import ROW_REMOVED
from almaclean.resync.plan import CollectionPlan, loader_file_name
from almaclean.write.xlsx import Sheet

ID_HEADER = ["decision", "row", "PORTFOLIO_PID", "MMS", "TITLE"]
CHANGE_HEADER = ["row", "PORTFOLIO_PID", "column", "old value", "new value", "reason"]

_LOADER_SETTINGS = ("Institution, Portfolio Loader Format (Excel), Complete, Validate Online, "
                    "and tick 'Update portfolios'")


_PLAIN = {
    "localized_n": "localized portfolios (LOCALIZED = N)",
    "local_coverage": "portfolios with local coverage",
    "inactive": "inactive portfolios",
    "notes": "portfolios with notes",
    "acquisitions": "portfolios with acquisitions data",
    "override_url": "portfolios with an override URL",
}


def explanation(plan: CollectionPlan) -> str:
    audit = plan.audit
    if audit.decision == "reactivate_all":
        return (f"The Extended Export of {plan.collection} ({audit.rows} portfolios) holds no local data "
                "and no acquisitions data in any of the columns the guide lists, so the collection can be "
                "deleted and re-activated from the Community Zone with 'Activate all'.")
    found = [f"{audit.counts[c]} {_PLAIN[c]}" for c in CATEGORIES if audit.counts[c]]
    parts = []
    if found:
        parts.append("it holds " + ", ".join(found))
    if audit.not_checked:
        parts.append("some categories could not be checked because their columns are missing ("
                     + ", ".join(audit.not_checked) + "), so almaclean cannot confirm there is no local data")
    return (f"The Extended Export of {plan.collection} ({audit.rows} portfolios) needs a manual load: "
            + "; and ".join(parts) + ". Re-activating with 'Activate all' would lose that data, so the "
            "collection is re-activated empty and the reviewed loader spreadsheet is loaded.")


def next_steps(plan: CollectionPlan) -> list[str]:
    if plan.audit.decision == "reactivate_all":
        return [
            "Delete the e-collection and its bib records in Alma (preferably early morning or end of day).",
            "When the deletion job's notification arrives, activate the e-collection from the Community Zone.",
            "In step 3 of the Activation Wizard choose 'Activate all - Activation of the complete "
            "electronic collection with no selection of portfolios'.",
            "When the job completes, update the proxy and linking parser parameters if needed.",
            "Test access on a few portfolios (Edit Full Text Portfolios > row actions > Test Access).",
        ]
    loader = loader_file_name(plan.export)
    steps = []
    if plan.decisions is None:
        steps.append("Open review.xlsx; in each category sheet check the rows (Test Access in Alma) and set "
                     "the 'decision' cell (the choices are in the dropdown; a blank cell keeps the default).")
        steps.append(f"Run: almaclean resync {plan.export.name} --decisions review.xlsx "
                     "to apply the decisions and write the final loader spreadsheet.")
    else:
        steps.append(f"The decisions in {plan.decisions.source.name} are applied in {loader}; "
                     "check the change log sheet.")
    steps += [
        "Delete the e-collection and its bib records in Alma (preferably early morning or end of day).",
        "When the deletion job's notification arrives, activate a fresh copy from the Community Zone and in "
        "step 3 of the Activation Wizard choose 'Manual activation' (no portfolios are activated).",
        "Open the collection's Edit Service > Portfolios tab > Load Portfolios.",
        f"Choose {_LOADER_SETTINGS}, then upload {loader} and click Next, check the summary and Load.",
        "When the job completes, test access on a few portfolios (row actions > Test Access).",
    ]
    return steps


def audit_record(plan: CollectionPlan) -> dict:
    """The audit.json content."""
    audit, loader = plan.audit, plan.loader
    removed = int((loader.changes["column"] == ROW_REMOVED).sum())
    return {
        "collection": plan.collection,
        "export": plan.export.name,
        "export_sha256": plan.sha256,
        "rows": audit.rows,
        "decision": audit.decision,
        "categories": {c: audit.counts[c] for c in CATEGORIES},
        "not_checked": list(audit.not_checked),
        "missing_columns": audit.missing_columns,
        "po_lines_checked": plan.po_issues is not None,
        "po_line_issues": None if plan.po_issues is None else plan.po_issues.height,
        "decisions_file": None if plan.decisions is None else plan.decisions.source.name,
        "loader": loader_file_name(plan.export),
        "loader_rows": loader.frame.height,
        "rows_removed": removed,
        "cells_changed": loader.changes.height - removed,
        "explanation": explanation(plan),
        "next_steps": next_steps(plan),
    }


def _count_text(plan: CollectionPlan, category: str) -> str:
    count = plan.audit.counts[category]
    if count is None:
        return "not checked (columns absent: " + ", ".join(CATEGORY_COLUMNS[category]) + ")"
    return str(count)


def summary_sheet(plan: CollectionPlan) -> Sheet:
    record = audit_record(plan)
    items: list[tuple[str, str]] = [
        ("collection", plan.collection),
        ("export file", plan.export.name),
        (SHA_ITEM, plan.sha256),
        ("rows", str(plan.audit.rows)),
        ("decision", plan.audit.decision),
        ("why", record["explanation"]),
    ]
    items += [(CATEGORY_TITLES[c], _count_text(plan, c)) for c in CATEGORIES]
    for c, missing in plan.audit.missing_columns.items():
        items.append((f"columns not in the export ({c})", ", ".join(missing)))
    items.append(("PO lines checked", "yes" if plan.po_issues is not None else
                  "no (give --po-lines with a PO line export to check them)"))
    if plan.po_issues is not None:
        items.append(("PO line issues", str(plan.po_issues.height)))
    items += [("rows removed in the loader", str(record["rows_removed"])),
              ("cells changed in the loader", str(record["cells_changed"])),
              ("highlighted cells", "cells the loader changes; the 'changes' sheet has old and new values")]
    items += [(f"next step {i}", s) for i, s in enumerate(next_steps(plan), 1)]
    frame = pl.DataFrame(items, schema={"item": pl.String, "value": pl.String}, orient="row")
    return Sheet("summary", ["item", "value"], frame, autofilter=False, widths={0: 40, 1: 110})


def _changed_cells(plan: CollectionPlan) -> set[tuple[int, str]]:
    changes = plan.loader.changes
    return set(zip(changes["row"].to_list(), changes["column"].to_list()))


def _category_sheet(plan: CollectionPlan, sheet: str, mask: pl.Series, columns: list[int],
                    extra: dict[str, pl.Series] | None = None) -> Sheet:
    """Rows selected by mask: decision, identity, the cells in question, extra columns."""
    ident = plan.identity
    index = pl.int_range(plan.frame.height, dtype=pl.Int64, eager=True)
    chosen = plan.decisions.chosen if plan.decisions is not None else {}
    default = default_decision(sheet, keep_localized_n=plan.keep_localized_n)
    idx = index.filter(mask)
    decisions = [chosen.get((sheet, i), default) for i in idx.to_list()]
    rows = (idx + plan.first_row).cast(pl.String)
    data: dict[str, pl.Series] = {
        "d": pl.Series(decisions, dtype=pl.String), "r": rows,
        "p": ident.pid.filter(mask), "m": ident.mms.filter(mask), "t": ident.title.filter(mask),
    }
    cells = plan.frame.filter(mask)
    # Show only the category columns holding data in these rows (all of them if none does).
    shown = [p for p in columns if cells.select(filled(f"c{p}").any()).item()] or columns
    for p in shown:
        data[f"x{p}"] = cells[f"c{p}"]
    for name, values in (extra or {}).items():
        data[f"e_{name}"] = values
    header = ID_HEADER + [plan.header[p] for p in shown] + list(extra or {})
    frame = pl.DataFrame(data)
    changed = _changed_cells(plan)
    names = [plan.header[p] for p in shown]
    highlight = {(r, 5 + j) for r, row in enumerate(rows.cast(pl.Int64).to_list())
                 for j, name in enumerate(names) if (row, name) in changed}
    return Sheet(sheet, header, frame, highlight=highlight, validations={0: list(CHOICES[sheet])},
                 widths={0: 18, 1: 8, 2: 20, 3: 20, 4: 40})


def category_sheets(plan: CollectionPlan) -> list[Sheet]:
    sheets = []
    for category in CATEGORIES:
        if not plan.audit.counts[category]:
            continue
        mask = plan.audit.flags[category]
        columns = positions_of(plan.header, CATEGORY_COLUMNS[category])
        sheets.append(_category_sheet(plan, category, mask, columns))
    issues = plan.po_issues
    if issues is not None and issues.height:
        mask = pl.int_range(plan.frame.height, dtype=pl.Int64, eager=True).is_in(issues["index"].implode())
        reason = issues.sort("index")["reason"]
        sheets.append(_category_sheet(plan, PO_LINE_SHEET, mask, positions_of(plan.header, ["PO_LINE"]),
                                      {"problem": reason}))
    return sheets


def changes_sheet(plan: CollectionPlan) -> Sheet:
    changes = plan.loader.changes.with_columns(pl.col("row").cast(pl.String))
    frame = changes.select("row", "portfolio_pid", "column", "old", "new", "reason")
    highlight = {(r, 4) for r, col in enumerate(frame["column"].to_list()) if col != ROW_REMOVED}
    return Sheet("changes", CHANGE_HEADER, frame, highlight=highlight,
                 widths={0: 8, 1: 20, 2: 22, 3: 30, 4: 30, 5: 60})


def review_sheets(plan: CollectionPlan) -> list[Sheet]:
    return [summary_sheet(plan), *category_sheets(plan), changes_sheet(plan)]


def collections_summary(records: list[tuple[dict, str]]) -> Sheet:
    """One line per collection (audit record, folder name) for the run's summary workbook."""
    header = ["collection", "export", "rows", "decision", *CATEGORIES, "not checked", "po line issues",
              "rows removed", "cells changed", "folder"]

    def text(v) -> str | None:
        return None if v is None else str(v)

    rows = [
        [r["collection"], r["export"], text(r["rows"]), r["decision"],
         *[("not checked" if r["categories"][c] is None else text(r["categories"][c])) for c in CATEGORIES],
         ", ".join(r["not_checked"]) or None, text(r["po_line_issues"]), text(r["rows_removed"]),
         text(r["cells_changed"]), folder]
        for r, folder in records
    ]
    frame = pl.DataFrame(rows, schema=[f"c{i}" for i in range(len(header))], orient="row")
    return Sheet("collections", header, frame.cast(pl.String))
