"""What the person reads: the decision in plain words, next steps, audit.json, the review
workbook (summary, one sheet per category, change log) and the cross-collection summary.
Pure: builds dicts and `write.xlsx.Sheet`s; the flow writes them."""
from __future__ import annotations

from collections import Counter

import polars as pl

from almaclean.invocation import WRITTEN, command_line
from almaclean.read.table import excel_letter
from almaclean.resync.audit import (
    CATEGORIES, CATEGORY_TITLES, MANUAL_LOAD, NOTHING_TO_LOAD, REACTIVATE_ALL, UNKNOWN, category_positions,
    column_key, filled,
)
from almaclean.resync.decisions import (
    CHOICES, DROP, EDITABLE, FIRST_OF_REPEATED, IDENTIFIER_COLUMNS, NO_IDENTIFIER_SHEET, PO_LINE_SHEET, SHA_ITEM,
    new_value_header,
)
from almaclean.resync.loader import ROW_REMOVED
from almaclean.resync.plan import NOTHING_TO_LOAD_TEXT, CollectionPlan, loader_file_name, review_rows
from almaclean.write.xlsx import Sheet

ID_HEADER = ["decision", "what the loader does", "row", "PORTFOLIO_PID", "MMS", "TITLE", "why listed"]
CHANGE_HEADER = ["row", "PORTFOLIO_PID", "column", "old value", "new value", "reason"]
SUMMARY_HEADER = ["item", "number", "details"]
REVIEW_FILE = "review.xlsx"

_LOADER_SETTINGS = ("Institution, Portfolio Loader Format (Excel), Complete, Validate Online, "
                    "and tick 'Update portfolios'")

_PLAIN = {
    "localized_n": "localized portfolios (LOCALIZED = N)",
    "local_coverage": "portfolios with local coverage or a local embargo",
    "inactive": "inactive portfolios",
    "notes": "portfolios with notes",
    "acquisitions": "portfolios with acquisitions data",
    "override_url": "portfolios with an override URL",
    "local_settings": "portfolios with other local settings (proxy, group or library, access type, "
                      "simultaneous users)",
    UNKNOWN: "portfolios with values in columns almaclean does not know",
    PO_LINE_SHEET: "portfolios whose PO line needs a look",
    NO_IDENTIFIER_SHEET: "portfolios the Portfolio Loader could not match after the deletion",
}
_WHAT = {
    "localized_n": "localized portfolios",
    "local_coverage": "local coverage",
    "inactive": "inactive portfolios",
    "notes": "notes",
    "acquisitions": "acquisitions data",
    "override_url": "override URLs",
    "local_settings": "other local settings",
    UNKNOWN: "the values of unknown columns",
}
DECISION_WORDS = {
    REACTIVATE_ALL: "Activate all: delete the e-collection and activate it again from the Community Zone",
    MANUAL_LOAD: "Manual load: re-activate the e-collection empty, then load the reviewed loader file",
    NOTHING_TO_LOAD: "Nothing to load: the export has no portfolios",
}
# What the Extended Export does not hold and deleting the collection loses: the guide's list
# (collection, service and portfolio notes; proxy; linking parser parameters) and the
# collection's own acquisitions data, each with the Alma screen that shows it.
BEFORE_DELETION = (
    "Before deleting anything, write down what the Extended Export does not hold and the deletion loses "
    "(it must be entered again on the fresh copy): "
    "(1) the e-collection's own PO line and licence: the collection's row actions > Edit Collection (the "
    "Electronic Collection Editor), section 'Acquisitions and License Information' (a PO line on the "
    "collection must be moved or re-attached, not lost); "
    "(2) the collection's notes and internal description: Edit Collection; "
    "(3) the service's notes (public and authentication notes): row actions > Edit Service (the Electronic "
    "Service Editor); "
    "(4) the proxy: whether proxy is enabled and which proxy, at the collection and service levels (Edit "
    "Collection; Edit Service > Linking tab); "
    "(5) the linking parser parameters (customer ID, account ID...): Edit Service > Linking tab; "
    "(6) availability settings per group or library: Edit Service > Group Settings tab."
)


def _rerun(plan: CollectionPlan) -> str:
    """The command that applies the review, with every option of this run that affects checks,
    to run in this collection's folder."""
    return command_line("resync", plan.export.name, "--decisions", REVIEW_FILE, *plan.options, program=WRITTEN)


def not_checked_sentences(plan: CollectionPlan) -> list[str]:
    """One plain sentence per category almaclean could not fully check, and per unknown column
    holding values."""
    audit = plan.audit
    sentences = []
    for category, missing in audit.not_checked.items():
        if category == UNKNOWN:
            continue
        sentences.append(f"{_WHAT[category].capitalize()} not checked: the export has no column named exactly "
                         f"{' or '.join(missing)}, so almaclean cannot tell whether the portfolios hold "
                         f"{_WHAT[category]} there.")
    like = {u.position: u for u in audit.unrecognised}
    counts = plan.frame.select([filled(f"c{p}").sum().alias(str(p)) for p in audit.unknown_with_values]).row(0) \
        if audit.unknown_with_values else ()
    for p, rows in zip(audit.unknown_with_values, counts):
        sentence = (f"Not checked: column {excel_letter(p)}, {plan.header[p]!r}, is not a column of Alma's Extended "
                    f"Export that almaclean knows, and {rows} row(s) hold values there: almaclean cannot tell "
                    "whether they are local data, so those rows are listed in the sheet 'unknown_columns'.")
        u = like.get(p)
        if u is not None:
            hint = f"it looks like {u.looks_like}" if u.looks_like else f"its name suggests {_WHAT[u.category]}"
            sentence += f" Not recognised: {hint}. To fix: {u.fix()}."
        sentences.append(sentence)
    missing_names = {m for ms in audit.missing_columns.values() for m in ms}
    for u in audit.unrecognised:
        if u.position not in audit.unknown_with_values and u.looks_like in missing_names:
            sentences.append(f"Not recognised: the header {u.place()} is not a column name the guide lists; it "
                             f"looks like {u.looks_like}, which the export lacks. It is empty in every row. "
                             f"To fix: {u.fix()}.")
    return sentences


def _found(plan: CollectionPlan) -> list[str]:
    audit = plan.audit
    return [f"{audit.counts[c]} {_PLAIN[c]}" for c in CATEGORIES if audit.counts[c]]


def explanation(plan: CollectionPlan) -> str:
    audit = plan.audit
    if audit.decision == NOTHING_TO_LOAD:
        return (f"The Extended Export of {plan.collection} has no portfolios ({NOTHING_TO_LOAD_TEXT}): "
                "almaclean wrote no loader file. Check in Alma that the e-collection really has no portfolios, "
                "or export it again.")
    if audit.decision == REACTIVATE_ALL:
        extra = ""
        if audit.empty_extra:
            extra = (" Its extra column(s) " + ", ".join(audit.place(p) for p in audit.empty_extra)
                     + " are empty in every row: checked, nothing there.")
        return (f"The Extended Export of {plan.collection} ({audit.rows} portfolios) holds no local data and no "
                "acquisitions data: every local column is empty or holds the Community Zone's own value, so the "
                "collection can be deleted and re-activated from the Community Zone with 'Activate all'." + extra)
    parts = []
    if _found(plan):
        parts.append("it holds " + ", ".join(_found(plan)))
    missing = {c: m for c, m in audit.not_checked.items() if c != UNKNOWN}
    if missing:
        parts.append("almaclean could not check every column Alma's export carries ("
                     + "; ".join(f"{_WHAT[c]}: {', '.join(m)}" for c, m in missing.items())
                     + "), so it cannot confirm there is no local or acquisitions data there")
    if audit.unknown_with_values:
        places = ", ".join(audit.place(p) for p in audit.unknown_with_values)
        parts.append(f"the column(s) {places} hold values almaclean cannot classify, so those rows are not checked")
    return (f"The Extended Export of {plan.collection} ({audit.rows} portfolios) needs a manual load: "
            + "; and ".join(parts) + ". Re-activating with 'Activate all' would lose that data, so the "
            "collection is re-activated empty and the reviewed loader spreadsheet is loaded.")


def draft_reasons(plan: CollectionPlan) -> list[str]:
    """Why the loader file is a DRAFT, in words (empty when it is final)."""
    if not plan.needs_loader or plan.final:
        return []
    reasons = []
    if plan.decisions is None:
        reasons.append("the review in review.xlsx has not been applied yet")
    waiting = plan.awaiting
    if waiting:
        sheets = Counter(s for found in waiting.values() for s in found)
        reasons.append(f"{len(waiting)} portfolio(s) await an explicit decision ("
                       + ", ".join(f"{n} in sheet '{s}'" for s, n in sheets.items()) + ")")
    corrected = plan.corrected_issues.height
    if corrected:
        reasons.append(f"{corrected} corrected PO line(s) failed their check against the PO line export "
                       "(sheet 'po_line_check')")
    return reasons


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
        return (f"Review first. {plan.loader_name} is a DRAFT: do not upload it ("
                + "; ".join(draft_reasons(plan)) + "). In each sheet of this workbook check the rows, set the "
                "'decision' cells (a blank cell is no decision: rows almaclean proposes nothing for must be "
                "decided) and type any corrected text in the 'new value' cells, save this workbook, then run in "
                f"this folder: {_rerun(plan)}. That writes the final {loader_file_name(plan.export)}.{hand}")
    return (f"{plan.loader_name} is the final loader file: it applies the decisions in "
            f"{plan.decisions.source.name} (every change is in the 'changes' sheet and changes.csv). "
            "Follow the next steps.")


def _not_recreated(plan: CollectionPlan) -> str | None:
    removed = plan.removed_rows
    if not removed:
        return None
    shown = ", ".join(map(str, removed[:20])) + (" ..." if len(removed) > 20 else "")
    return (f"{len(removed)} portfolio(s) will not exist after the deletion: the loader file leaves out export "
            f"rows {shown} (see the 'changes' sheet), so loading it does not re-create them.")


def next_steps(plan: CollectionPlan) -> list[str]:
    if plan.nothing_to_load:
        return ["Check in Alma that the e-collection has no portfolios (Edit Full Text Portfolios), or export "
                "its Extended Export again; there is nothing to load."]
    if plan.audit.decision == REACTIVATE_ALL:
        return [
            f"Keep {plan.export.name} (copied in this folder) as the record of the collection's portfolios.",
            BEFORE_DELETION,
            "Delete the e-collection and its bib records in Alma (preferably early morning or end of day).",
            "When the deletion job's notification arrives, activate the e-collection from the Community Zone.",
            "In step 3 of the Activation Wizard choose 'Activate all - Activation of the complete "
            "electronic collection with no selection of portfolios'.",
            "When the job completes, enter again what you wrote down (the collection's PO line and licence, the "
            "collection and service notes, proxy, linking parser parameters, group settings).",
            "Test access on a few portfolios (Edit Full Text Portfolios > row actions > Test Access).",
        ]
    loader = loader_file_name(plan.export)
    steps = []
    if not plan.final:
        steps.append("Open review.xlsx; in each category sheet check the rows (Test Access in Alma) and set "
                     "the 'decision' cell (the choices are in the dropdown; almaclean proposes a decision where one "
                     "is safe, and a blank cell is no decision) and type corrected text in the 'new value' cells "
                     "(a blank new value changes nothing). Save it in this folder.")
        steps.append(f"Run, in this folder: {_rerun(plan)} to apply the decisions and write the final loader file "
                     f"{loader}; do not upload {plan.loader_name}.")
    else:
        steps.append(f"The decisions in {plan.decisions.source.name} are applied in {loader}; "
                     "check the changes sheet.")
    if plan.audit.not_checked:
        steps.append("Check by hand, in Alma, what almaclean could not read (the 'not checked' lines): "
                     "a category not checked may hold local or acquisitions data.")
    gone = _not_recreated(plan)
    if gone:
        steps.append(gone)
    steps += [
        BEFORE_DELETION,
        "Delete the e-collection and its bib records in Alma (preferably early morning or end of day).",
        "When the deletion job's notification arrives, activate a fresh copy from the Community Zone and in "
        "step 3 of the Activation Wizard choose 'Manual activation' (no portfolios are activated).",
        "Open the collection's Edit Service > Portfolios tab > Load Portfolios.",
        f"Choose {_LOADER_SETTINGS}, then upload {loader} and click Next, check the summary and Load.",
        "When the job completes, enter again what you wrote down (the collection's PO line and licence, the "
        "collection and service notes, proxy, linking parser parameters, group settings).",
    ]
    if plan.audit.counts.get("local_settings") or plan.audit.counts.get(UNKNOWN):
        steps.append("Check in Alma, on a few portfolios of the 'local_settings' and 'unknown_columns' sheets, that "
                     "the loaded portfolios carry those settings again (the Portfolio Loader may not set every "
                     "column of the Extended Export); set by hand what is missing.")
    steps.append("Test access on a few portfolios (row actions > Test Access).")
    return steps


def applied(plan: CollectionPlan) -> dict:
    """What a review workbook applied: decisions per choice, new values per column."""
    if plan.decisions is None:
        return {}
    return {"decisions": dict(sorted(Counter(plan.decisions.chosen.values()).items())),
            "new_values": dict(sorted(Counter(c for _, _, c in plan.decisions.values).items()))}


def _sheet_counts(plan: CollectionPlan) -> dict[str, int]:
    return {sheet: len(rows) for sheet, rows in review_rows(plan).items()}


def audit_record(plan: CollectionPlan) -> dict:
    """The audit.json content."""
    audit, loader = plan.audit, plan.loader
    removed = len(plan.removed_rows)
    waiting = plan.awaiting if plan.needs_loader else {}
    pending = plan.review.filter((pl.col("sheet") == "inactive") & pl.col("proposal").is_null())
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
        "empty_extra_columns": [{"header": plan.header[p], "column": excel_letter(p)} for p in audit.empty_extra],
        "po_lines_checked": plan.po_issues is not None,
        "po_line_issues": None if plan.po_issues is None else plan.po_issues.height,
        "corrected_value_issues": plan.corrected_issues.height,
        "decisions_file": None if plan.decisions is None else plan.decisions.source.name,
        "applied": applied(plan),
        "review_sheets": _sheet_counts(plan),
        "inactive_awaiting_decision": [{"row": i + plan.first_row, "why": why}
                                       for i, why in pending.select("index", "why").iter_rows()],
        "loader": plan.loader_name,
        "loader_final": plan.final,
        "draft_because": draft_reasons(plan),
        "rows_awaiting_decision": len(waiting),
        "awaiting": [{"row": i + plan.first_row, "sheets": sheets} for i, sheets in sorted(waiting.items())],
        "backup": plan.export.name,
        "loader_rows": loader.frame.height if plan.needs_loader else None,
        "rows_removed": removed,
        "not_recreated_rows": plan.removed_rows if plan.needs_loader else [],
        "cells_changed": loader.changes.height - removed,
        "as_of": plan.as_of.isoformat() if plan.as_of else None,
        "first_step": first_thing(plan),
        "explanation": explanation(plan),
        "not_checked_explained": not_checked_sentences(plan),
        "next_steps": next_steps(plan),
    }


def _count_text(plan: CollectionPlan, category: str) -> str | None:
    missing = plan.audit.not_checked.get(category)
    if missing is None:
        return None
    if category == UNKNOWN:
        return f"not checked: {', '.join(missing)}"
    return f"not fully checked ({', '.join(missing)} not in the export): the number counts only the columns read"


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
    if plan.audit.empty_extra:
        items.append(("Extra columns, empty in every row", len(plan.audit.empty_extra),
                      "checked, nothing there: " + ", ".join(plan.audit.place(p) for p in plan.audit.empty_extra)))
    items.append(("PO lines checked", None, "yes" if plan.po_issues is not None else
                  "no (give --po-lines with a PO line export to check them)"))
    if plan.po_issues is not None:
        items.append(("PO line issues", plan.po_issues.height, None))
    if plan.needs_loader:
        sheets = _sheet_counts(plan)
        waiting = plan.awaiting
        items += [
            ("Portfolios to review", plan.review["index"].n_unique(),
             ", ".join(f"{s}: {n}" for s, n in sheets.items()) or None),
            ("Portfolios awaiting a decision", len(waiting),
             "no decision yet (a blank decision cell, or one almaclean could not propose): "
             + ", ".join(f"{s}: {n}" for s, n in Counter(s for f in waiting.values() for s in f).items())
             if waiting else "every listed portfolio has a decision"),
            ("INACTIVE portfolios with a pending order or activation", len(record["inactive_awaiting_decision"]),
             "listed in the 'inactive' sheet with the reason (so is an availability other than ACTIVE or "
             "INACTIVE); never dropped without your decision"),
            ("Portfolios the loader could not match after the deletion", sheets.get(NO_IDENTIFIER_SHEET, 0),
             "no ISSN, ISBN or OTHER_SYSTEM_NUMBER: sheet 'no_identifier' says what to add"),
            ("Rows removed in the loader", record["rows_removed"],
             "these portfolios will not exist after the deletion" if record["rows_removed"] else None),
            ("Cells changed in the loader", record["cells_changed"], None),
            ("Loader file", None, plan.loader_name + ("" if plan.final else " (DRAFT: do not upload; "
                                                      + "; ".join(draft_reasons(plan)) + ")")),
            ("Highlighted cells", None, "cells the loader changes; the 'changes' sheet has old and new values"),
        ]
        if plan.decisions is not None:
            done = applied(plan)
            items.append(("Decisions applied", len(plan.decisions.chosen),
                          ", ".join(f"{c}: {n}" for c, n in done["decisions"].items()) or None))
            items.append(("New values applied", len(plan.decisions.values),
                          ", ".join(f"{c}: {n}" for c, n in done["new_values"].items()) or None))
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
            actions[row] = f"row removed ({reason}): not re-created after the deletion"
        else:
            changed.setdefault(row, []).append(column)
    for row, columns in changed.items():
        actions.setdefault(row, "kept; changes " + ", ".join(columns))
    return actions


def _editable(plan: CollectionPlan, sheet: str, shown: list[int]) -> list[int]:
    """Shown positions that get a "new value" column (named once in the export, or the first of
    a repeated identifier column), plus PUBLIC_NOTES where POL details may be added to a public note."""
    allowed = EDITABLE.get(sheet, ())
    names = [column_key(h) for h in plan.header]
    unique = [p for p in shown if names[p] in allowed
              and (names.count(names[p]) == 1 or (names[p] in FIRST_OF_REPEATED and names.index(names[p]) == p))]
    if "PUBLIC_NOTES" in allowed and names.count("PUBLIC_NOTES") == 1:
        public = names.index("PUBLIC_NOTES")
        if public not in unique:
            unique.append(public)
    return unique


def _shown_columns(plan: CollectionPlan, sheet: str, cells: pl.DataFrame) -> list[int]:
    """The export columns a sheet shows: those that decide its rows and hold data there, each
    local column followed by its GLOBAL_ twin (all of them if none holds data)."""
    if sheet == PO_LINE_SHEET:
        return [p for p, h in enumerate(plan.header) if column_key(h) == "PO_LINE"]
    if sheet == NO_IDENTIFIER_SHEET:
        names = [column_key(h) for h in plan.header]
        return [names.index(n) for n in IDENTIFIER_COLUMNS if n in names]
    if sheet == UNKNOWN:
        return list(plan.audit.unknown_with_values)
    columns = category_positions(plan.header, sheet)
    twins = {c.twin for c in plan.audit.cells if c.twin is not None}
    holding = [p for p in columns if p not in twins and cells.select(filled(f"c{p}").any()).item()]
    if not holding:
        return columns
    shown: list[int] = []
    for p in holding:
        shown.append(p)
        twin = next((c.twin for c in plan.audit.cells if c.position == p), None)
        if twin is not None and twin not in shown:
            shown.append(twin)
    return shown


def _category_sheet(plan: CollectionPlan, sheet: str, rows_index: list[int], proposals: list[str | None],
                    why: list[str | None]) -> Sheet:
    """Rows of one review sheet: decision, what the loader does, identity, why listed, the cells in
    question (each editable one followed by its "new value" column)."""
    ident = plan.identity
    mask = pl.int_range(plan.frame.height, dtype=pl.Int64, eager=True).is_in(rows_index)
    values = plan.decisions.values if plan.decisions is not None else {}
    rows = [i + plan.first_row for i in rows_index]
    actions = loader_actions(plan)
    waiting = plan.awaiting
    decisions, doing = [], []
    for i, row, proposal in zip(rows_index, rows, proposals):
        decision = plan.decided(sheet, i, proposal)
        action = actions.get(row)
        # A row the loader removes for another reason shows no decision here: it is not kept.
        removed = (action or "").startswith("row removed")
        decisions.append(None if removed and decision != DROP else decision)
        if action is None:
            action = ("kept as exported; waits for your decision" if sheet in waiting.get(i, ())
                      else "kept as exported")
        doing.append(action)
    data: dict[str, pl.Series] = {
        "d": pl.Series(decisions, dtype=pl.String),
        "a": pl.Series(doing, dtype=pl.String),
        "r": pl.Series([str(r) for r in rows], dtype=pl.String),
        "p": ident.pid.filter(mask), "m": ident.mms.filter(mask), "t": ident.title.filter(mask),
        "w": pl.Series(why, dtype=pl.String),
    }
    header = list(ID_HEADER)
    cells = plan.frame.filter(mask)
    shown = _shown_columns(plan, sheet, cells)
    editable = _editable(plan, sheet, shown)
    changed = _changed_cells(plan)
    highlight: set[tuple[int, int]] = set()
    # Each local column, its GLOBAL_ twin beside it, then its "new value" column.
    twin_of = {c.position: c.twin for c in plan.audit.cells if c.twin is not None}
    local_of = {twin: p for p, twin in twin_of.items() if p in editable and p in shown}
    for p in shown + [p for p in editable if p not in shown]:
        name = plan.header[p]
        for r, row in enumerate(rows):
            if (row, name) in changed:
                highlight.add((r, len(header)))
        data[f"x{p}"] = cells[f"c{p}"]
        header.append(name)
        typed = [q for q in (p, local_of.get(p)) if q is not None and q in editable
                 and (q != p or twin_of.get(p) not in shown)]
        for q in typed:
            key = column_key(plan.header[q])
            data[f"n{q}"] = pl.Series([values.get((sheet, i, key)) for i in rows_index], dtype=pl.String)
            header.append(new_value_header(key))
    return Sheet(sheet, header, pl.DataFrame(data), highlight=highlight, validations={0: list(CHOICES[sheet])},
                 widths={0: 18, 1: 30, 2: 8, 3: 20, 4: 20, 5: 40, 6: 60})


def category_sheets(plan: CollectionPlan) -> list[Sheet]:
    sheets = []
    order = list(dict.fromkeys(plan.review["sheet"].to_list()))
    for sheet in order:
        part = plan.review.filter(pl.col("sheet") == sheet)
        sheets.append(_category_sheet(plan, sheet, part["index"].to_list(), part["proposal"].to_list(),
                                      part["why"].to_list()))
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
              "not recognised", "po line issues", "rows removed", "cells changed", "awaiting a decision",
              "loader file", "export", "folder"]
    rows = [
        [r["collection"], r["first_step"], r["decision"], r["rows"], *[r["categories"][c] for c in CATEGORIES],
         _not_checked_text(r), ", ".join(u["header"] for u in r["not_recognised"]) or None,
         r["po_line_issues"], r["rows_removed"], r["cells_changed"], r["rows_awaiting_decision"], r["loader"],
         r["export"], folder]
        for r, folder in records
    ]
    first_count = 4
    numbers = {3, *range(first_count, first_count + len(CATEGORIES)),
               *(first_count + len(CATEGORIES) + k for k in (2, 3, 4, 5))}
    schema = {f"c{i}": (pl.Int64 if i in numbers else pl.String) for i in range(len(header))}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return Sheet("collections", header, frame, text_only=False, widths={1: 60})


def _applied_line(record: dict) -> str | None:
    done = record.get("applied") or {}
    if not done:
        return None
    decisions = ", ".join(f"{n} x {c}" for c, n in done["decisions"].items()) or "no decision"
    values = ", ".join(f"{c} {n}" for c, n in done["new_values"].items()) or "none"
    return (f"applied {record['decisions_file']}: {decisions}; new values: {values}; "
            f"loader: {record['rows_removed']} row(s) removed, {record['cells_changed']} cell(s) changed")


def closing_lines(records: list[tuple[dict, str]]) -> list[str]:
    """The command's last lines: per collection the decision, the loader file, what a review
    applied, what still awaits a decision and what was not checked."""
    lines = []
    for r, folder in records:
        loader = r["loader"]
        where = f"loader {loader}" + ("" if r["loader_final"] else " (DRAFT: review first)") if loader \
            else "no loader file"
        lines.append(f"{r['collection']}: {DECISION_WORDS[r['decision']]}; {where}; folder {folder}")
        done = _applied_line(r)
        if done:
            lines.append(f"  {done}")
        if r["draft_because"]:
            lines.append("  draft because " + "; ".join(r["draft_because"]))
        lines += [f"  {s}" for s in r["not_checked_explained"]]
    return lines
