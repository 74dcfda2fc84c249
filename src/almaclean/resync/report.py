"""What the person reads: the decision in plain words, next steps, audit.json, the review
workbook (summary, one sheet per category, change log) and the cross-collection summary.
Pure: builds dicts and `write.xlsx.Sheet`s; the flow writes them."""
from __future__ import annotations

import polars as pl

from almaclean.invocation import WRITTEN, command_line
from almaclean.resync.audit import (
    CATEGORIES, CATEGORY_COLUMNS, CATEGORY_TITLES, MANUAL_LOAD, NOTHING_TO_LOAD, REACTIVATE_ALL, column_key, filled,
    positions_of,
)
from almaclean.resync.decisions import (
    CHOICES, DROP, EDITABLE, PO_LINE_SHEET, SHA_ITEM, default_decision, new_value_header,
)
from almaclean.resync.loader import ROW_REMOVED
from almaclean.resync.plan import NOTHING_TO_LOAD_TEXT, CollectionPlan, loader_file_name, review_rows
from almaclean.write.xlsx import Sheet

ID_HEADER = ["decision", "what the loader does", "row", "PORTFOLIO_PID", "MMS", "TITLE"]
CHANGE_HEADER = ["row", "PORTFOLIO_PID", "column", "old value", "new value", "reason"]
SUMMARY_HEADER = ["item", "number", "details"]

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
_WHAT = {
    "localized_n": "localized portfolios",
    "local_coverage": "local coverage",
    "inactive": "inactive portfolios",
    "notes": "notes",
    "acquisitions": "acquisitions data",
    "override_url": "override URLs",
}
DECISION_WORDS = {
    REACTIVATE_ALL: "Activate all: delete the e-collection and activate it again from the Community Zone",
    MANUAL_LOAD: "Manual load: re-activate the e-collection empty, then load the reviewed loader file",
    NOTHING_TO_LOAD: "Nothing to load: the export has no portfolios",
}
_OUTSIDE_THE_EXPORT = (
    "Before deleting anything: the Extended Export does not hold the collection- and service-level "
    "settings the guide asks you to check: internal and public display notes at the collection and service "
    "(authentication) levels, the proxy service and the linking parser parameters. In Alma open the "
    "e-collection's row actions menu > Edit Service (the Electronic Service Editor) and the collection itself, "
    "and write them down: they are lost with the deleted e-collection and must be entered again on the fresh copy."
)


def not_checked_sentences(plan: CollectionPlan) -> list[str]:
    """One plain sentence per category almaclean could not fully check, and per header not recognised."""
    audit = plan.audit
    sentences = []
    for category, missing in audit.not_checked.items():
        absent = [m for m in missing if not m.endswith("(not recognised)")]
        if absent:
            sentences.append(f"{_WHAT[category].capitalize()} not checked: the export has no column named "
                             f"exactly {' or '.join(absent)}, so almaclean cannot tell whether the portfolios "
                             f"hold {_WHAT[category]} there.")
    for u in audit.unrecognised:
        like = f"it looks like {u.looks_like}" if u.looks_like else f"its name suggests {_WHAT[u.category]}"
        sentences.append(f"Not recognised: the header {u.place()} is not a column name the guide lists; {like}, "
                         f"so its cells were not read and {_WHAT[u.category]} is not checked. To fix: {u.fix()}.")
    return sentences


def explanation(plan: CollectionPlan) -> str:
    audit = plan.audit
    if audit.decision == NOTHING_TO_LOAD:
        return (f"The Extended Export of {plan.collection} has no portfolios ({NOTHING_TO_LOAD_TEXT}): "
                "almaclean wrote no loader file. Check in Alma that the e-collection really has no portfolios, "
                "or export it again.")
    if audit.decision == REACTIVATE_ALL:
        return (f"The Extended Export of {plan.collection} ({audit.rows} portfolios) holds no local data "
                "and no acquisitions data in any of the columns the guide lists, so the collection can be "
                "deleted and re-activated from the Community Zone with 'Activate all'.")
    found = [f"{audit.counts[c]} {_PLAIN[c]}" for c in CATEGORIES if audit.counts[c]]
    parts = []
    if found:
        parts.append("it holds " + ", ".join(found))
    if audit.not_checked:
        parts.append("almaclean could not check every column the guide lists ("
                     + "; ".join(f"{_WHAT[c]}: {', '.join(m)}" for c, m in audit.not_checked.items())
                     + "), so it cannot confirm there is no local or acquisitions data there")
    if audit.unrecognised:
        places = ", ".join(u.place() for u in audit.unrecognised)
        parts.append(f"the headers {places} look like guide columns but are not named like them, so their cells "
                     "were not read" if len(audit.unrecognised) > 1 else
                     f"the header {places} looks like a guide column but is not named like one, so its cells "
                     "were not read")
    return (f"The Extended Export of {plan.collection} ({audit.rows} portfolios) needs a manual load: "
            + "; and ".join(parts) + ". Re-activating with 'Activate all' would lose that data, so the "
            "collection is re-activated empty and the reviewed loader spreadsheet is loaded.")


def first_thing(plan: CollectionPlan) -> str:
    """What to do first, in words."""
    export = plan.export.name
    if plan.nothing_to_load:
        return ("Nothing to load: the export has no portfolios. Check in Alma that the e-collection really has "
                "no portfolios, or export it again; no loader file was written.")
    if plan.audit.decision == REACTIVATE_ALL:
        return (f"No loader file is needed: keep {export} (copied in this folder, unchanged) as the record of the "
                "collection's portfolios, then follow the next steps ('Activate all').")
    if not plan.final:
        hand = (" Then check by hand what almaclean could not read (the 'not checked' lines below)."
                if plan.audit.not_checked else "")
        return (f"Review first. {plan.loader_name} is a DRAFT: do not upload it. In each sheet of this workbook "
                "check the rows, set the 'decision' cells and type any corrected text in the 'new value' cells, "
                f"then run: {command_line('resync', export, '--decisions', 'review.xlsx', program=WRITTEN)}. That writes the final "
                f"{loader_file_name(plan.export)}.{hand}")
    return (f"{plan.loader_name} is the final loader file: it applies the decisions in "
            f"{plan.decisions.source.name} (every change is in the 'changes' sheet and changes.csv). "
            "Follow the next steps.")


def next_steps(plan: CollectionPlan) -> list[str]:
    if plan.nothing_to_load:
        return ["Check in Alma that the e-collection has no portfolios (Edit Full Text Portfolios), or export "
                "its Extended Export again; there is nothing to load."]
    if plan.audit.decision == REACTIVATE_ALL:
        return [
            f"Keep {plan.export.name} (copied in this folder) as the record of the collection's portfolios.",
            _OUTSIDE_THE_EXPORT,
            "Delete the e-collection and its bib records in Alma (preferably early morning or end of day).",
            "When the deletion job's notification arrives, activate the e-collection from the Community Zone.",
            "In step 3 of the Activation Wizard choose 'Activate all - Activation of the complete "
            "electronic collection with no selection of portfolios'.",
            "When the job completes, enter again the collection- and service-level notes you wrote down and "
            "update proxy service and/or linking parser parameters, if applicable.",
            "Test access on a few portfolios (Edit Full Text Portfolios > row actions > Test Access).",
        ]
    loader = loader_file_name(plan.export)
    steps = []
    if not plan.final:
        steps.append("Open review.xlsx; in each category sheet check the rows (Test Access in Alma), set "
                     "the 'decision' cell (the choices are in the dropdown; a blank cell keeps the default) and "
                     "type corrected text in the 'new value' cells (a blank new value changes nothing).")
        steps.append(f"Run: {command_line('resync', plan.export.name, '--decisions', 'review.xlsx', program=WRITTEN)} "
                     f"to apply the decisions and write the final loader file {loader}; "
                     f"do not upload {plan.loader_name}.")
    else:
        steps.append(f"The decisions in {plan.decisions.source.name} are applied in {loader}; "
                     "check the changes sheet.")
    if plan.audit.not_checked:
        steps.append("Check by hand, in Alma, what almaclean could not read (the 'not checked' lines): "
                     "a category not checked may hold local or acquisitions data.")
    steps += [
        _OUTSIDE_THE_EXPORT,
        "Delete the e-collection and its bib records in Alma (preferably early morning or end of day).",
        "When the deletion job's notification arrives, activate a fresh copy from the Community Zone and in "
        "step 3 of the Activation Wizard choose 'Manual activation' (no portfolios are activated).",
        "Open the collection's Edit Service > Portfolios tab > Load Portfolios.",
        f"Choose {_LOADER_SETTINGS}, then upload {loader} and click Next, check the summary and Load.",
        "When the job completes, enter again the collection- and service-level notes you wrote down and update "
        "proxy service and/or linking parser parameters, if applicable.",
        "Test access on a few portfolios (row actions > Test Access).",
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
        "not_checked": {c: list(m) for c, m in audit.not_checked.items()},
        "not_recognised": [{"header": u.header, "position": u.position + 1, "category": u.category,
                            "looks_like": u.looks_like, "fix": u.fix()} for u in audit.unrecognised],
        "missing_columns": audit.missing_columns,
        "po_lines_checked": plan.po_issues is not None,
        "po_line_issues": None if plan.po_issues is None else plan.po_issues.height,
        "decisions_file": None if plan.decisions is None else plan.decisions.source.name,
        "loader": plan.loader_name,
        "loader_final": plan.final,
        "rows_awaiting_decision": len(plan.awaiting) if plan.needs_loader else 0,
        "backup": plan.export.name,
        "loader_rows": loader.frame.height if plan.needs_loader else None,
        "rows_removed": removed,
        "cells_changed": loader.changes.height - removed,
        "first_step": first_thing(plan),
        "explanation": explanation(plan),
        "not_checked_explained": not_checked_sentences(plan),
        "next_steps": next_steps(plan),
    }


def _count_text(plan: CollectionPlan, category: str) -> str | None:
    missing = plan.audit.not_checked.get(category)
    if missing is None:
        return None
    return f"not fully checked ({', '.join(missing)} not read): the number counts only the columns read"


def summary_sheet(plan: CollectionPlan) -> Sheet:
    """The first sheet: what to do first, the decision and why, what was not checked, the next
    steps, then the counts (as numbers) and the file's identity."""
    record = audit_record(plan)
    items: list[tuple[str, int | None, str | None]] = [
        ("What to do first", None, first_thing(plan)),
        ("Decision", None, DECISION_WORDS[plan.audit.decision]),
        ("Why", None, record["explanation"]),
    ]
    items += [("Not checked", None, s) for s in not_checked_sentences(plan)]
    items += [(f"Next step {i}", None, s) for i, s in enumerate(next_steps(plan), 1)]
    items.append(("Portfolios in the export", plan.audit.rows, None))
    items += [(CATEGORY_TITLES[c], plan.audit.counts[c], _count_text(plan, c)) for c in CATEGORIES]
    items.append(("PO lines checked", None, "yes" if plan.po_issues is not None else
                  "no (give --po-lines with a PO line export to check them)"))
    if plan.po_issues is not None:
        items.append(("PO line issues", plan.po_issues.height, None))
    if plan.needs_loader:
        items += [("Rows removed in the loader", record["rows_removed"], None),
                  ("Cells changed in the loader", record["cells_changed"], None),
                  ("Rows awaiting a decision", record["rows_awaiting_decision"], None),
                  ("Loader file", None, plan.loader_name + ("" if plan.final else " (DRAFT: do not upload)")),
                  ("Highlighted cells", None, "cells the loader changes; the 'changes' sheet has old and new values")]
    items += [("collection", None, plan.collection), ("export file", None, plan.export.name),
              (SHA_ITEM, None, plan.sha256), ("decision code", None, plan.audit.decision)]
    frame = pl.DataFrame(items, schema={"item": pl.String, "number": pl.Int64, "details": pl.String},
                         orient="row")
    return Sheet("summary", SUMMARY_HEADER, frame, autofilter=False, text_only=False,
                 widths={0: 34, 1: 10, 2: 110})


def _changed_cells(plan: CollectionPlan) -> set[tuple[int, str]]:
    changes = plan.loader.changes
    return set(zip(changes["row"].to_list(), changes["column"].to_list()))


def loader_actions(plan: CollectionPlan) -> dict[int, str]:
    """Export row -> what the loader does with it, for the rows it changes or removes."""
    actions: dict[int, str] = {}
    changed: dict[int, list[str]] = {}
    for row, column, reason in plan.loader.changes.select("row", "column", "reason").iter_rows():
        if column == ROW_REMOVED:
            actions[row] = f"row removed ({reason})"
        else:
            changed.setdefault(row, []).append(column)
    for row, columns in changed.items():
        actions.setdefault(row, "kept; changes " + ", ".join(columns))
    return actions


def _editable(plan: CollectionPlan, sheet: str, shown: list[int]) -> list[int]:
    """Shown positions that get a "new value" column (named once in the export), plus PUBLIC_NOTES
    where POL details may be added to a public note."""
    allowed = EDITABLE.get(sheet, ())
    names = [column_key(h) for h in plan.header]
    unique = [p for p in shown if names[p] in allowed and names.count(names[p]) == 1]
    if "PUBLIC_NOTES" in allowed and names.count("PUBLIC_NOTES") == 1:
        public = names.index("PUBLIC_NOTES")
        if public not in unique:
            unique.append(public)
    return unique


def _category_sheet(plan: CollectionPlan, sheet: str, rows_index: list[int], columns: list[int],
                    extra: dict[str, pl.Series] | None = None) -> Sheet:
    """Rows of one review sheet: decision, what the loader does, identity, the cells in question
    (each editable one followed by its "new value" column), extra columns."""
    ident = plan.identity
    mask = pl.int_range(plan.frame.height, dtype=pl.Int64, eager=True).is_in(rows_index)
    chosen = plan.decisions.chosen if plan.decisions is not None else {}
    values = plan.decisions.values if plan.decisions is not None else {}
    default = default_decision(sheet, keep_localized_n=plan.keep_localized_n)
    rows = [i + plan.first_row for i in rows_index]
    actions = loader_actions(plan)
    decisions = []
    for i, row in zip(rows_index, rows):
        decision = chosen.get((sheet, i), default)
        # A row the loader removes for another reason shows no decision here: it is not kept.
        removed = actions.get(row, "").startswith("row removed")
        decisions.append(None if removed and decision != DROP else decision)
    data: dict[str, pl.Series] = {
        "d": pl.Series(decisions, dtype=pl.String),
        "a": pl.Series([actions.get(r, "kept as exported") for r in rows], dtype=pl.String),
        "r": pl.Series([str(r) for r in rows], dtype=pl.String),
        "p": ident.pid.filter(mask), "m": ident.mms.filter(mask), "t": ident.title.filter(mask),
    }
    header = list(ID_HEADER)
    cells = plan.frame.filter(mask)
    # Show only the category columns holding data in these rows (all of them if none does).
    shown = [p for p in columns if cells.select(filled(f"c{p}").any()).item()] or columns
    editable = _editable(plan, sheet, shown)
    changed = _changed_cells(plan)
    highlight: set[tuple[int, int]] = set()
    for p in shown + [p for p in editable if p not in shown]:
        name = plan.header[p]
        for r, row in enumerate(rows):
            if (row, name) in changed:
                highlight.add((r, len(header)))
        data[f"x{p}"] = cells[f"c{p}"]
        header.append(name)
        if p in editable:
            key = column_key(name)
            data[f"n{p}"] = pl.Series([values.get((sheet, i, key)) for i in rows_index], dtype=pl.String)
            header.append(new_value_header(key))
    for name, series in (extra or {}).items():
        data[f"e_{name}"] = series
        header.append(name)
    return Sheet(sheet, header, pl.DataFrame(data), highlight=highlight, validations={0: list(CHOICES[sheet])},
                 widths={0: 18, 1: 30, 2: 8, 3: 20, 4: 20, 5: 40})


def category_sheets(plan: CollectionPlan) -> list[Sheet]:
    sheets = []
    for sheet, rows_index in review_rows(plan).items():
        if sheet == PO_LINE_SHEET:
            reason = plan.po_issues.sort("index")["reason"]
            sheets.append(_category_sheet(plan, sheet, rows_index, positions_of(plan.header, ["PO_LINE"]),
                                          {"problem": reason}))
        else:
            sheets.append(_category_sheet(plan, sheet, rows_index,
                                          positions_of(plan.header, CATEGORY_COLUMNS[sheet])))
    return sheets


def changes_sheet(plan: CollectionPlan) -> Sheet:
    changes = plan.loader.changes.with_columns(pl.col("row").cast(pl.String))
    frame = changes.select("row", "portfolio_pid", "column", "old", "new", "reason")
    highlight = {(r, 4) for r, col in enumerate(frame["column"].to_list()) if col != ROW_REMOVED}
    return Sheet("changes", CHANGE_HEADER, frame, highlight=highlight,
                 widths={0: 8, 1: 20, 2: 22, 3: 30, 4: 30, 5: 60})


def review_sheets(plan: CollectionPlan) -> list[Sheet]:
    if plan.nothing_to_load:
        return [summary_sheet(plan)]
    return [summary_sheet(plan), *category_sheets(plan), changes_sheet(plan)]


def _not_checked_text(record: dict) -> str | None:
    parts = [f"{c}: {', '.join(m)}" for c, m in record["not_checked"].items()]
    return "; ".join(parts) or None


def collections_summary(records: list[tuple[dict, str]]) -> Sheet:
    """One line per collection (audit record, folder name) for the run's summary workbook: what to
    do first in words, then the counts as numbers (blank where a category could not be counted)."""
    header = ["collection", "what to do first", "decision", "portfolios", *CATEGORIES, "not checked",
              "not recognised", "po line issues", "rows removed", "cells changed", "loader file", "export", "folder"]
    rows = [
        [r["collection"], r["first_step"], r["decision"], r["rows"], *[r["categories"][c] for c in CATEGORIES],
         _not_checked_text(r), ", ".join(u["header"] for u in r["not_recognised"]) or None,
         r["po_line_issues"], r["rows_removed"], r["cells_changed"], r["loader"], r["export"], folder]
        for r, folder in records
    ]
    numbers = {3, *range(4, 4 + len(CATEGORIES)), 6 + len(CATEGORIES), 7 + len(CATEGORIES), 8 + len(CATEGORIES)}
    schema = {f"c{i}": (pl.Int64 if i in numbers else pl.String) for i in range(len(header))}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return Sheet("collections", header, frame, text_only=False, widths={1: 60})


def closing_lines(records: list[tuple[dict, str]]) -> list[str]:
    """The command's last lines: per collection the decision, the loader file and what was not checked."""
    lines = []
    for r, folder in records:
        loader = r["loader"]
        where = f"loader {loader}" + ("" if r["loader_final"] else " (DRAFT: review first)") if loader \
            else "no loader file"
        lines.append(f"{r['collection']}: {DECISION_WORDS[r['decision']]}; {where}; folder {folder}")
        lines += [f"  {s}" for s in r["not_checked_explained"]]
    return lines
