"""Labelled evaluation of the P2E decisions: recall of the safe duplicates and deletions that are
not safe, on generated institutions whose truth the sample generator knows (truth.json), with and
without the portfolio export's optional columns.

Each seed is an institution of 5,000 portfolios built on the bundled real titles, with the
labelled hard cases (sample.generator.HARD_CASES: local data, additional PO lines, series ISSNs,
issue-level and gap coverage, plain-range and French coverage text). Variants drop columns an
Analytics report often leaves out. Per variant it prints:

- recall: safe duplicates (truth.json "safe_for_set": the same resource, no PO line, no local
  data, coverage held) that are deletion candidates, over all safe duplicates;
- unsafe: deletion candidates that are not safe duplicates (named by their hard case);
- unseen local: deletion candidates that are safe but for local data (a public note, an
  additional PO line) the variant's export does not show (the summary says those columns were
  not checked).

The files are generated once into --data DIR (kept, reused). The analysis uses only
analyse_p2e and read_kind, so the same files can be analysed by an older almaclean:

    python3 -m uv run --frozen python bench/p2e_eval.py --data /tmp/p2e_eval [--seeds 1 2 3]
    PYTHONPATH=/path/to/older/src .venv/bin/python bench/p2e_eval.py --data /tmp/p2e_eval --analyse-only
"""
from __future__ import annotations

import argparse
import collections
import json
import logging
from pathlib import Path

import polars as pl

VARIANTS = {
    "every column": (),
    "no Publication Date": ("Publication Date",),
    "no Publication Date, no Material Type": ("Publication Date", "Material Type"),
    "no Publication Date, no local-data columns": ("Publication Date", "Portfolio Public Note",
                                                   "Portfolio Additional PO Lines"),
}


def generate_all(data: Path, seeds: list[int]) -> None:
    from almaclean.sample.generator import generate

    for seed in seeds:
        folder = data / f"seed-{seed}"
        if not (folder / "truth.json").exists():
            generate(folder, seed=seed, scale=1.0, publication_date=True, hard_cases=True)
        full = pl.read_csv(folder / "portfolios.csv", infer_schema=False)
        for name, dropped in VARIANTS.items():
            path = folder / f"portfolios-{slug(name)}.csv"
            if not path.exists():
                full.drop(list(dropped)).write_csv(path)


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def analyse(folder: Path, variant: str) -> set[str]:
    from almaclean.kinds import read_kind
    from almaclean.p2e.analyse import analyse_p2e

    portfolios = read_kind("portfolios", folder / f"portfolios-{slug(variant)}.csv")
    p2e = read_kind("p2e", folder / "p2e.txt")
    po_lines = read_kind("po-lines", folder / "po_lines.csv")
    result = analyse_p2e(portfolios.canonical, p2e.canonical, po_lines.canonical,
                         present={"portfolios": portfolios.present, "p2e": p2e.present, "po-lines": po_lines.present})
    return set(result.deletion_candidates["portfolio_id"].to_list())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--analyse-only", action="store_true", help="use the files already generated")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not args.analyse_only:
        generate_all(args.data, args.seeds)
    print(f"{'variant':46} {'recall':>18} {'unsafe':>7} {'unseen local':>13}  unsafe by case; safe not found")
    for variant in VARIANTS:
        safe_found = safe_total = unsafe = unseen = 0
        by_case: collections.Counter[str] = collections.Counter()
        missed: list[str] = []
        for seed in args.seeds:
            folder = args.data / f"seed-{seed}"
            truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
            dups = {d["portfolio_id"]: d for d in truth["p2e_duplicates"]}
            safe = {pid for pid, d in dups.items() if d["safe_for_set"]}
            deleted = analyse(folder, variant)
            safe_found += len(deleted & safe)
            missed.extend(sorted(safe - deleted))
            safe_total += len(safe)
            shown = "Portfolio Public Note" not in VARIANTS[variant]
            for pid in deleted - safe:
                dup = dups.get(pid)
                # safe but for local data (a note, an additional PO line) the export does not show
                if dup is not None and not shown and dup["coverage_held"] and dup["po_line"] is None:
                    unseen += 1
                    continue
                unsafe += 1
                case = "series book" if pid in truth["series_books"] else (dup or {}).get("hard_case") or (
                    (dup or {}).get("coverage_relation") or "not a duplicate")
                by_case[case] += 1
        recall = f"{safe_found}/{safe_total} ({100 * safe_found / safe_total:.1f}%)"
        print(f"{variant:46} {recall:>18} {unsafe:>7} {unseen:>13}  {dict(by_case)}; {missed[:5]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
