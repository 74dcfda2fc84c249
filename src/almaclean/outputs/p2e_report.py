"""The run folder of a P2E clean-up: every output file, its contract and its next steps.

Files: deletion_candidates.csv, pol_relinks.csv, review.csv, copy_to_keeper.csv, groups.csv,
p2e_proxy_urls.csv, standalone_not_in_p2e.csv, p2e_unmatched.csv, deletion-sets/ (or, with
deactivate, deactivation-sets/) and group-sets/ (itemized set files + README.txt), summary.json and
p2e_report.xlsx (summary with next steps in order, deletion candidates with their evidence, POL
relinks with the steps, review, copy first, groups, set files, Delete Portfolios job
parameters). The summary (first sheet, summary.json) says first which rules could not be
checked and which columns were not recognised, in plain words, then how the P2E portfolios
divide: each in exactly one bucket (BUCKETS), the overlaps named.
Without any PO-line evidence deletion-sets/ is not written unless the caller asks for it
(without_po_lines=True); the candidates are still listed. The two check lists (standalone not in
the P2E file, unmatched P2E lines) and p2e_proxy_urls.csv are CSV only: writing the check lists as
sheets doubled the workbook time at 1,000,000 portfolios. Every id is written as text.
"""
from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from almaclean import interrupts
from almaclean.p2e.analyse import (
    BUCKETS, COPY_FIRST_COLUMNS, DELETION_COLUMNS, GROUP_COLUMNS, PROXY_COLUMNS, REVIEW_COLUMNS, REVIEW_DETAIL,
    P2EResult,
)
from almaclean.p2e.cz_link import CZ_GROUP_COLUMNS, CZ_LINK_COLUMNS, CZ_LINK_DETAIL, CZ_LINK_STEPS
from almaclean.p2e.groups import LOCAL_COLLECTION_STEPS, PROXY_REMOVAL_STEPS, local_collections
from almaclean.p2e.match import EVIDENCE_RULES, KIND_NAMES, PO_LINES_RULE
from almaclean.p2e.relink import CZ_RECORD_CHECK, RELINK_COLUMNS
from almaclean.outputs.p2e_sets import (
    DEACTIVATE_ROUTE, DEFAULT_HEADER, DEFAULT_SIZE, DELETE_JOB_PARAMETERS, JOB_REPORT_CHECK, KEEPER_COLLECTION_CHECK,
    DeletionGuard, check_deletion_rows, job_readme, plan_sets, write_deletion_sets, write_readme, write_sets,
)
from almaclean.write.jsonfile import write_json
from almaclean.write.csvfile import write_csv_for_people
from almaclean.write.xlsx import Sheet, write_workbook

log = logging.getLogger(__name__)

WORKBOOK = "p2e_report.xlsx"
DELETION_SETS = "deletion-sets"
DEACTIVATION_SETS = "deactivation-sets"
DEACTIVATE_OPTION = "--deactivate"
GROUP_SETS = "group-sets"
WITHOUT_PO_LINES_OPTION = "--without-po-lines"
REVIEW_INSTEAD = "the P2E portfolios whose deletion depends on it are in Review, none in a deletion set"
SETS_WITHHELD = (
    f"the deletion sets are not written (folder {DELETION_SETS}/ is absent): give a PO line export, or a "
    f"portfolio export with its PO Line Reference column, or run again with {WITHOUT_PO_LINES_OPTION} to "
    "write them anyway"
)
SETS_WITHOUT_PO_LINES = (
    f"the deletion sets were written anyway, at your request ({WITHOUT_PO_LINES_OPTION}): almaclean could not "
    "check PO lines; Delete Portfolios still skips portfolios linked to an active PO line, but nothing "
    "protects a closed PO line's history"
)


def evidence_lines(result: P2EResult, *, without_po_lines: bool) -> list[tuple[str, str]]:
    """(item, sentence) rows saying what was and was not checked, for a librarian to read."""
    rows: list[tuple[str, str]] = []
    if not result.not_checked and not any(item == "not checked" for item, _ in result.caveats):
        rows.append(("evidence", "every rule was checked: the files had all the columns the rules need"))
    why = {rule.name: rule.why for rule in EVIDENCE_RULES}
    for rule, text in result.not_checked_text.items():
        if rule == PO_LINES_RULE:
            consequence = SETS_WITHOUT_PO_LINES if without_po_lines else SETS_WITHHELD
        else:
            consequence = REVIEW_INSTEAD
        words = text.split(": ", 1)[1]
        rows.append(("not checked", f"{rule}: {words} (the rule: {why[rule]}); {consequence}."))
    rows += [(item, text) for item, text in result.caveats]
    for kind, header, line in result.not_recognised:
        rows.append(("not recognised", f"{KIND_NAMES[kind]}: column {header!r} was not recognised, so no rule "
                                       f"used it. If it is what its name says, add this line under [{kind}] in "
                                       f"a mapping file (--mapping): {line}"))
    return rows


def sets_withheld(result: P2EResult, without_po_lines: bool) -> bool:
    return not result.po_lines_checked and not without_po_lines


def partition(counts: dict[str, int]) -> str:
    """How the P2E portfolios divide: each in exactly one bucket, the overlaps named."""
    parts = " + ".join(f"{counts[b]:,} {BUCKET_WORDS[b]}" for b in BUCKETS)
    text = f"{counts['p2e_portfolios']:,} P2E portfolios = {parts}"
    if counts.get("review_also_pol_relink_blocked"):
        text += (f"; review.csv also lists the {counts['review_also_pol_relink_blocked']:,} blocked relinks whose "
                 "match is to review, counted above as blocked relinks")
    if counts.get("repeated_ids"):
        text += (f"; and {counts['repeated_ids']:,} portfolio ids on more than one row, in Review, not P2E "
                 "portfolios")
    if counts.get("pol_relinks", 0) != counts.get("pol_relink_portfolios_ready", 0) + counts.get(
            "pol_relink_portfolios_blocked", 0):
        text += f"; the relinks are {counts['pol_relinks']:,} rows of pol_relinks.csv, one per PO line"
    return text


BUCKET_WORDS = {
    "deletion_candidates": "in deletion sets",
    "copy_first": "to copy to their keeper first",
    "pol_relink_portfolios_ready": "PO line relinks ready",
    "pol_relink_portfolios_blocked": "PO line relinks blocked",
    "review_only": "to review",
    "group_portfolios": "for local collections",
}


def next_steps(counts: dict[str, int], *, withheld: bool = False, deactivate: bool = False) -> list[str]:
    """What to do, in order (the guide's order: POLs first, then deletions, then the rest)."""
    folder, job = (DEACTIVATION_SETS, "de-activate") if deactivate else (DELETION_SETS, "run Delete Portfolios")
    sets_step = (
        f"2. {'De-activation' if deactivate else 'Deletion'} sets ({counts['deletion_candidates']} portfolios in "
        f"{counts.get('deletion_set_files', 0)} files, folder {folder}/): {KEEPER_COLLECTION_CHECK} Then upload each "
        f"file as an itemized set of portfolios and {job}"
        + (f" ({DEACTIVATE_ROUTE})" if deactivate else
           " with: " + "; ".join(f"{n} = {v}" for n, v in DELETE_JOB_PARAMETERS)
           + " (or that parameter's option to suppress the bibliographic records instead: the guide's step 15; "
             "deleting them is preferred, to leave no orphaned bibs)")
        + f". {JOB_REPORT_CHECK}"
    )
    if withheld:
        sets_step = (
            f"2. Deletion sets: not written. There is no PO-line evidence, so the {counts['deletion_candidates']} "
            "deletion candidates (deletion_candidates.csv) are not put in sets. To write them, give a PO line export "
            f"or a portfolio export with its PO Line Reference column, or run again with {WITHOUT_PO_LINES_OPTION}.")
    return [
        f"1. POL relinks ({counts['pol_relinks_ready']} ready, {counts['pol_relinks_blocked']} blocked, "
        "pol_relinks.csv): for each ready row search the title, change the bib reference of the PO line to the "
        "keeper's bib, add the PO line on the keeper portfolio's Acquisition tab, then delete the P2E portfolio and "
        f"its bib. {CZ_RECORD_CHECK} Blocked rows say what to settle first and have no steps yet.",
        sets_step,
        f"3. Copy first ({counts.get('copy_first', 0)} portfolios, copy_to_keeper.csv): these duplicates carry "
        "local data of their own (notes, licence, proxy or group settings); copy each value to the keeper named "
        "beside it, then delete the P2E portfolio. None of them is in a set.",
        f"4. Review ({counts['review']} rows, review.csv): decide each by hand; none of them is in a set.",
        f"5. Local collections ({counts['group_portfolios']} portfolios in {counts['groups']} groups, folder "
        f"{GROUP_SETS}/): create one local electronic collection per group and move its portfolios into it; "
        f"remove the proxy prefix from the {counts.get('p2e_proxy_urls', 0)} URLs in p2e_proxy_urls.csv.",
        f"6. Check the {counts['standalone_not_in_p2e']} standalone portfolios that are not in the P2E file "
        f"(standalone_not_in_p2e.csv) and the {counts['p2e_lines_unmatched']} P2E lines that match no portfolio "
        "(p2e_unmatched.csv).",
    ]


COUNT_LABELS = {
    "copy_first": "P2E portfolios to copy to their keeper first (local data of their own)",
    "pol_relink_portfolios_ready": "P2E portfolios whose PO line relinks are ready",
    "pol_relink_portfolios_blocked": "P2E portfolios with a blocked PO line relink",
    "review_only": "P2E portfolios to review (no PO line)",
    "review_also_pol_relink_blocked": "rows of Review that are also blocked relinks",
    "repeated_ids": "portfolio ids on more than one row (Review)",
    "p2e_proxy_urls": "P2E portfolios that stay, with a proxy prefix in their URL",
    "portfolios": "portfolios in the portfolio export",
    "keepers": "keepers (CZ-linked, available, in a collection)",
    "p2e_lines": "lines in the P2E file",
    "p2e_portfolios": "P2E portfolios (local standalone, in the P2E file)",
    "standalone_not_in_p2e": "standalone portfolios not in the P2E file",
    "p2e_lines_unmatched": "P2E lines that match no portfolio",
    "deletion_candidates": "deletion candidates",
    "pol_relinks": "PO line relinks",
    "pol_relink_portfolios": "P2E portfolios to delete once their PO lines are relinked",
    "pol_relinks_in_review": "PO line relinks of portfolios in review (blocked until reviewed)",
    "pol_relinks_ready": "PO line relinks ready",
    "pol_relinks_blocked": "PO line relinks blocked",
    "review": "rows to review",
    "group_portfolios": "portfolios proposed for local collections",
    "groups": "proposed local collections",
    "cz_link_candidates": "portfolios that could be linked to the CZ",
    "cz_link_collections": "local collections that could be linked to a CZ collection",
    "deletion_set_files": "deletion set files",
    "group_set_files": "local collection set files",
}


def summary_frame(counts: dict[str, int], evidence: list[tuple[str, str]] | None = None,
                  steps: list[str] | None = None) -> pl.DataFrame:
    """The first sheet: what was not checked, how the P2E portfolios divide, then what to do in
    order, in words; then the counts, labelled in words, as numbers."""
    steps = steps if steps is not None else next_steps(counts) + guide_next_steps(counts)
    words = list(evidence or []) + [("P2E portfolios", partition(counts))] + [("what to do", step) for step in steps]
    rows = [(item, text, None) for item, text in words]
    rows += [(COUNT_LABELS.get(name, name.replace("_", " ")), None, value) for name, value in counts.items()]
    return pl.DataFrame(rows, schema={"item": pl.String, "text": pl.String, "count": pl.Int64}, orient="row")


def _sheets(result: P2EResult, counts: dict[str, int], deletion_sets: pl.DataFrame,
            group_sets: pl.DataFrame, summary: pl.DataFrame) -> list[Sheet]:
    deletion = result.deletion_candidates.join(
        deletion_sets.select(pl.col("id").alias("portfolio_id"), pl.col("file").alias("set_file")),
        on="portfolio_id", how="left",
    ).select(
        "portfolio_id", "mms_id", "title", "keep_portfolio_id", "keep_mms_id", "keep_collection", "shared",
        "verdict", "p2e_coverage", "keep_coverage", "p2e_url", "keep_url", "other_keepers", "set_file",
    )
    deletion_header = [
        "P2E portfolio id", "P2E MMS id", "Title", "Keeper portfolio id", "Keeper MMS id", "Keeper collection",
        "Shared identifiers", "Coverage verdict", "P2E coverage", "Keeper coverage", "P2E URL", "Keeper URL",
        "Other keepers", "Set file",
    ]
    relinks = result.pol_relinks.select(*RELINK_COLUMNS, "source", "reason", "steps")
    relink_header = ["PO line", "PO line status", "P2E portfolio id", "P2E MMS id", "P2E title", "Keeper portfolio id",
                     "Keeper MMS id", "Keeper title", "Blocked because", "Source", "Match", "Steps in Alma"]
    review = result.review.select(*REVIEW_COLUMNS, *REVIEW_DETAIL)
    review_header = ["P2E portfolio id", "P2E MMS id", "Reason", "Candidate keepers", "Legacy id", "P2E title",
                     "Keeper title", "P2E coverage", "Keeper coverage", "P2E URL (proxy removed)",
                     "Keeper URL (proxy removed)", "P2E local data"]
    copy_header = ["P2E portfolio id", "P2E MMS id", "P2E title", "Keeper portfolio id", "Keeper MMS id",
                   "Keeper title", "Keeper collection", "Field", "Value to copy", "Steps in Alma"]
    groups = result.groups.join(
        group_sets.select(pl.col("id").alias("portfolio_id"), pl.col("file").alias("set_file")),
        on="portfolio_id", how="left",
    ).select("group", "portfolio_id", "mms_id", "provider", "domain", "host", "po_lines", "set_file")
    sets = pl.concat([
        deletion_sets.group_by("group", "file", maintain_order=True).agg(pl.len().cast(pl.String).alias("ids"))
        .with_columns(pl.lit(DELETION_SETS).alias("folder")),
        group_sets.group_by("group", "file", maintain_order=True).agg(pl.len().cast(pl.String).alias("ids"))
        .with_columns(pl.lit(GROUP_SETS).alias("folder")),
    ]).select("folder", "file", "group", "ids")
    job = pl.DataFrame(list(DELETE_JOB_PARAMETERS), schema={"parameter": pl.String, "value": pl.String}, orient="row")
    return [
        Sheet("Summary", ["Item", "What to know", "Count"], summary, widths={0: 44, 1: 110, 2: 12},
              text_only=False),
        Sheet("Deletion candidates", deletion_header, deletion),
        Sheet("POL relinks", relink_header, relinks),
        Sheet("Review", review_header, review),
        Sheet("Copy first", copy_header, result.copy_first.select(COPY_FIRST_COLUMNS)),
        Sheet("Groups", list(groups.columns), groups),
        *_guide_sheets(result, group_sets),
        Sheet("Set files", list(sets.columns), sets),
        Sheet("Delete job parameters", ["Parameter", "Value"], job),
    ]


def write_report(result: P2EResult, folder: Path, *, set_header: str = DEFAULT_HEADER,
                 set_size: int = DEFAULT_SIZE, without_po_lines: bool = False, deactivate: bool = False) -> dict[str, int]:
    """Write every output into `folder` (a new run folder); returns the counts in summary.json.

    without_po_lines: write the deletion sets even though no PO-line evidence was given (the
    user's explicit choice, the CLI's --without-po-lines); otherwise they are withheld then.
    deactivate: the same sets as de-activation sets (deactivation-sets/, a reversible alternative
    to deletion; the README gives Alma's route, sets.DEACTIVATE_ROUTE).
    """
    folder = Path(folder)
    withheld = sets_withheld(result, without_po_lines)
    guard = DeletionGuard(
        keeper_ids=result.keeper_ids, po_linked_ids=result.po_linked_ids, not_checked=tuple(result.not_checked),
        allowed_unchecked=frozenset({PO_LINES_RULE}) if without_po_lines else frozenset(),
    )
    if not withheld:
        check_deletion_rows(result.deletion_candidates, guard)  # before any file is written
    deletion_plan = plan_sets(result.deletion_candidates, group="group", id_column="portfolio_id", size=set_size)
    group_plan = plan_sets(result.groups, group="group", id_column="portfolio_id", size=set_size)
    if withheld:
        log.info("no PO-line evidence: deletion sets not written (%s not given)", WITHOUT_PO_LINES_OPTION)
        deletion_plan = deletion_plan.clear()
        deletion_files = pl.DataFrame(schema={"group": pl.String, "file": pl.String, "ids": pl.UInt32})
    else:
        sets_folder = folder / (DEACTIVATION_SETS if deactivate else DELETION_SETS)
        deletion_files = write_deletion_sets(sets_folder, result.deletion_candidates, deletion_plan,
                                             guard, header=set_header)
        readme = job_readme("P2E de-activation sets" if deactivate else "P2E deletion sets", deletion_files,
                            header=set_header, job="deactivate" if deactivate else "delete",
                            collections=_keeper_collections(result))
        if not result.po_lines_checked:
            readme = f"WRITTEN WITHOUT PO-LINE EVIDENCE: {SETS_WITHOUT_PO_LINES}.\n\n" + readme
        write_readme(sets_folder / "README.txt", readme)
    group_files = write_sets(folder / GROUP_SETS, group_plan, header=set_header)
    write_readme(folder / GROUP_SETS / "README.txt",
                 job_readme("Proposed local collections: one set per group", group_files, header=set_header, job=None)
                 + "\nIn Alma, per group:\n" + LOCAL_COLLECTION_STEPS.replace(". ", ".\n") + "\n")

    counts = dict(result.counts)
    counts["deletion_set_files"] = deletion_files.height
    counts["group_set_files"] = group_files.height
    evidence = evidence_lines(result, without_po_lines=without_po_lines)
    steps = next_steps(counts, withheld=withheld, deactivate=deactivate) + guide_next_steps(counts)
    sheets = _sheets(result, counts, deletion_plan, group_plan, summary_frame(counts, evidence, steps))
    # The workbook (its zip compression mostly) is written beside the CSV files, not after them.
    with interrupts.Workers(1, "almaclean-workbook") as pool:
        workbook = pool.submit(write_workbook, folder / WORKBOOK, sheets)
        write_csv_for_people(folder / "deletion_candidates.csv", result.deletion_candidates.select(DELETION_COLUMNS))
        write_csv_for_people(folder / "pol_relinks.csv", result.pol_relinks.select(RELINK_COLUMNS))
        write_csv_for_people(folder / "review.csv", result.review.select(*REVIEW_COLUMNS, *REVIEW_DETAIL))
        write_csv_for_people(folder / "copy_to_keeper.csv", result.copy_first.select(COPY_FIRST_COLUMNS))
        write_csv_for_people(folder / "groups.csv", result.groups.select(*GROUP_COLUMNS, "po_lines"))
        write_csv_for_people(folder / "p2e_proxy_urls.csv", result.proxy_urls.select(PROXY_COLUMNS))
        write_csv_for_people(folder / "standalone_not_in_p2e.csv", result.not_in_p2e)
        write_csv_for_people(folder / "p2e_unmatched.csv", result.unmatched_lines)
        _write_guide_csvs(result, folder, group_plan)
        interrupts.result(workbook)
    summary = {
        **counts,
        "buckets": {b: counts[b] for b in BUCKETS},
        "partition": partition(counts),
        "evidence": [f"{item}: {text}" for item, text in evidence],
        "not_checked": result.not_checked,
        "not_recognised": [{"file": kind, "column": header, "mapping": line}
                           for kind, header, line in result.not_recognised],
        "deletion_sets_written": not withheld,
        "without_po_lines": without_po_lines,
        "deactivate": deactivate,
        "next_steps": steps, "set_header": set_header, "set_size": set_size,
    }
    write_json(folder / "summary.json", summary)
    log.info("P2E report written to %s", folder)
    return counts


# The guide's sections 3 and 4: local collections per group, and CZ link candidates.

def _local_collections(result: P2EResult, group_sets: pl.DataFrame) -> pl.DataFrame:
    files = group_sets.group_by("group").agg(pl.col("file").unique().sort().str.join("; ").alias("set_files"))
    return local_collections(result.groups).join(files, on="group", how="left").select(
        "group", "provider", "domain", pl.col("portfolios").cast(pl.String),
        pl.col("portfolios_with_po_line").cast(pl.String), "set_files", "steps",
    )


def _cz_groups_text(result: P2EResult) -> pl.DataFrame:
    return result.cz_link_groups.with_columns(
        pl.col("portfolios").cast(pl.String), pl.col("matched").cast(pl.String),
        (pl.col("share") * 100).round(1).cast(pl.String).add("%").alias("share"),
    )


def _write_guide_csvs(result: P2EResult, folder: Path, group_sets: pl.DataFrame) -> None:
    write_csv_for_people(folder / "local_collections.csv", _local_collections(result, group_sets))
    if "cz_link_candidates" in result.counts:  # only when CZ title lists were given
        write_csv_for_people(folder / "cz_link_candidates.csv", result.cz_link_candidates.select(CZ_LINK_COLUMNS))
        write_csv_for_people(folder / "cz_link_groups.csv", _cz_groups_text(result).select(CZ_GROUP_COLUMNS))


def _keeper_collections(result: P2EResult) -> list[tuple[str, int]]:
    """Each keeper collection of the deletion candidates and how many candidates it keeps."""
    frame = result.deletion_candidates.group_by("keep_collection").len().sort("keep_collection")
    return [(name, n) for name, n in frame.iter_rows()]


def guide_next_steps(counts: dict[str, int]) -> list[str]:
    """How to make the local collections in Alma, and the CZ link step when CZ title lists were given."""
    steps = [f"Local collections (step 5), in Alma (local_collections.csv): {LOCAL_COLLECTION_STEPS}",
             f"Proxy prefixes (step 5, p2e_proxy_urls.csv): {PROXY_REMOVAL_STEPS}"]
    if "cz_link_candidates" in counts:
        steps.append(
            f"7. Link to the CZ ({counts['cz_link_candidates']} P2E portfolios match a CZ title list; "
            f"{counts['cz_link_collections']} local groups to link as a whole; cz_link_candidates.csv, "
            "cz_link_groups.csv): " + CZ_LINK_STEPS
        )
    return steps


def _guide_sheets(result: P2EResult, group_sets: pl.DataFrame) -> list[Sheet]:
    sheets = [Sheet("Local collections", ["Group", "Provider", "Domain", "Portfolios", "With PO line",
                                          "Set files", "Steps in Alma"], _local_collections(result, group_sets))]
    if "cz_link_candidates" in result.counts:
        candidates = result.cz_link_candidates.select(*CZ_LINK_COLUMNS, *CZ_LINK_DETAIL)
        steps = pl.DataFrame({"step": [CZ_LINK_STEPS]})
        sheets += [
            Sheet("CZ link candidates", list(candidates.columns), candidates),
            Sheet("CZ link groups", list(CZ_GROUP_COLUMNS), _cz_groups_text(result).select(CZ_GROUP_COLUMNS)),
            Sheet("CZ link steps", ["Steps in Alma"], steps, widths={0: 140}),
        ]
    return sheets
