"""The `almaclean` command. Each command runs a Prefect flow from flows/ (or, for the
quick read-only ones, the package directly) and turns errors into exit codes:
0 ok, 2 bad input (file, row and column named), 1 any other failure."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from almaclean import __version__, settings
from almaclean.errors import AlmacleanError

log = logging.getLogger("almaclean")

KINDS = ("p2e", "portfolios", "extended-export", "po-lines")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.run(args) or 0
    except AlmacleanError as exc:
        print(f"almaclean: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("almaclean: interrupted; nothing was half-written", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so, keep the traceback in the log
        log.debug("internal error", exc_info=True)
        print(f"almaclean: internal error: {type(exc).__name__}: {exc} "
              f"(run with -v for the traceback)", file=sys.stderr)
        if args.verbose:
            raise
        return 1


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=None,
                        help=f"SQLAlchemy database URL (default: ${settings.DB_URL_ENV}, "
                             f"else a SQLite file in ${settings.DATA_DIR_ENV} or ./data)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")

    parser = argparse.ArgumentParser(
        prog="almaclean", parents=[common],
        description="Clean up Alma electronic inventory: P2E duplicates, POL relinks, e-collection re-syncs.")
    parser.add_argument("--version", action="version", version=f"almaclean {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[common], help="store P2E files and Alma exports in the database",
                       description="Read, check and store files of one kind. The same file again is a no-op; "
                                   "a newer file of the same kind and scope supersedes the older one.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--institution", required=True, metavar="CODE", help="institution code the files belong to")
    p.add_argument("--scope", help="what the file covers (default: the collection for an Extended Export, "
                                   "else 'all')")
    p.add_argument("--mapping", type=Path, metavar="TOML", help="site-specific header names (see README)")
    p.set_defaults(run=_ingest)

    p = sub.add_parser("status", parents=[common], help="what is stored, per institution and kind")
    p.set_defaults(run=_status)

    p = sub.add_parser("sample", parents=[common], help="write a realistic sample institution's exports")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", type=float, default=1.0, help="1.0 is about 5,000 portfolios; 200 is 1,000,000")
    p.add_argument("--ee-rows", type=int, default=None, metavar="N",
                   help="also write one Extended Export of N rows (up to 100,000)")
    p.set_defaults(run=_sample)

    p = sub.add_parser("demo", parents=[common], help="run everything on the bundled sample data")
    p.add_argument("--out", type=Path, default=Path("demo-output"), metavar="DIR")
    p.set_defaults(run=_demo)

    p = sub.add_parser("resync", parents=[common],
                       help="audit Extended Exports and write review workbooks and Portfolio Loader files")
    p.add_argument("exports", nargs="+", type=Path, metavar="EXPORT", help="Extended Export .xlsx files or folders")
    p.add_argument("--po-lines", type=Path, metavar="FILE", help="PO line export to check PO_LINE values")
    p.add_argument("--institution", default=settings.DEFAULT_INSTITUTION, metavar="CODE")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR")
    p.add_argument("--decisions", type=Path, metavar="REVIEW.xlsx",
                   help="a review workbook with decisions filled in: apply them and write the final loader file")
    p.add_argument("--keep-localized-n", action="store_true", help="do not change LOCALIZED N to Y")
    p.set_defaults(run=_resync)

    p = sub.add_parser("p2e", parents=[common],
                       help="find P2E duplicates, POL relinks and local-collection groups; write deletion sets")
    p.add_argument("--portfolios", type=Path, metavar="FILE",
                   help="all-portfolios export (default: the one stored for the institution)")
    p.add_argument("--p2e", type=Path, metavar="FILE", help="the P2E file (headerless or spreadsheet)")
    p.add_argument("--po-lines", type=Path, metavar="FILE", help="PO line export")
    p.add_argument("--institution", default=settings.DEFAULT_INSTITUTION, metavar="CODE")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR")
    p.add_argument("--set-header", default="Portfolio Id", help="header line of the itemized set files")
    p.add_argument("--set-size", type=int, default=10_000, help="IDs per set file at most")
    p.add_argument("--mapping", type=Path, metavar="TOML", help="site-specific header names")
    p.set_defaults(run=_p2e)

    p = sub.add_parser("nightly", parents=[common],
                       help="ingest what is new in each institution's inbox, re-run P2E detection, report changes",
                       description="INBOX holds one folder per institution code (see docs/nightly.md). "
                                   "Reports new, resolved, still open and changed duplicates since the previous run.")
    p.add_argument("inbox", type=Path, metavar="INBOX")
    p.add_argument("--institution", action="append", dest="institutions", metavar="CODE",
                   help="only this institution (repeatable; default: every folder in INBOX)")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR")
    p.set_defaults(run=_nightly)

    p = sub.add_parser("batch", parents=[common],
                       help="re-sync every collection and run P2E clean-up for every institution in a folder tree",
                       description="TREE holds one folder per institution code, laid out like the nightly inbox "
                                   "(docs/audit.md). Jobs run concurrently; a failing one is reported and the "
                                   "others finish.")
    p.add_argument("tree", type=Path, metavar="TREE")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="jobs at once (threads; default 4)")
    p.add_argument("--dask", dest="dask_address", metavar="ADDRESS",
                   help="run the jobs on this Dask scheduler (needs the almaclean[dask] extra)")
    p.set_defaults(run=_batch)

    p = sub.add_parser("verify", parents=[common],
                       help="re-run a run folder from its bundle and check every output is byte-identical",
                       description="Exit 0 when inputs, outputs and a fresh re-run all match bundle.json, "
                                   "1 when anything differs (each difference is listed), 2 when the folder "
                                   "is not a bundle.")
    p.add_argument("run_folder", type=Path, metavar="RUN_FOLDER")
    p.set_defaults(run=_verify)
    return parser


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _ingest(args) -> int:
    from flows.ingest import ingest_flow

    for result in ingest_flow(args.kind, args.files, args.institution, scope=args.scope,
                              mapping=args.mapping, db_url=args.db):
        print(f"{result.status:9} {result.file}: {result.rows:,} rows ({result.kind}, scope {result.scope!r}, "
              f"file #{result.source_file_id})")
    return 0


def _status(args) -> int:
    from almaclean.store.db import make_engine
    from almaclean.store.load import stored_status

    engine = make_engine(args.db)
    frame = stored_status(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    if frame.is_empty():
        print("nothing stored yet: use `almaclean ingest`")
        return 0
    print(f"{'institution':<14}{'kind':<17}{'files':>6}{'current':>9}{'rows':>12}  last ingest")
    for row in frame.iter_rows(named=True):
        print(f"{row['institution']:<14}{row['kind']:<17}{row['files']:>6}{row['current_files']:>9}"
              f"{row['current_rows']:>12,}  {row['last_ingest']}")
    return 0


def _sample(args) -> int:
    from almaclean.sample.generator import generate

    manifest = generate(args.out, seed=args.seed, scale=args.scale, ee_rows=args.ee_rows)
    print(f"sample written to {args.out}")
    for name in manifest.files:
        print(f"  {name}")
    return 0


def _resync(args) -> int:
    from flows.resync import resync_flow

    run = resync_flow(args.exports, po_lines=args.po_lines, institution=args.institution, out=args.out,
                      decisions=args.decisions, keep_localized_n=args.keep_localized_n, db_url=args.db)
    print(f"resync outputs: {run}")
    return 0


def _p2e(args) -> int:
    from flows.p2e import p2e_flow

    run = p2e_flow(portfolios=args.portfolios, p2e=args.p2e, po_lines=args.po_lines,
                   institution=args.institution, out=args.out, db_url=args.db,
                   set_header=args.set_header, set_size=args.set_size, mapping=args.mapping)
    print(f"P2E clean-up outputs: {run}")
    return 0


def _nightly(args) -> int:
    from flows.nightly import nightly_flow

    run = nightly_flow(args.inbox, institutions=args.institutions, out=args.out, db_url=args.db)
    print(f"nightly outputs: {run}")
    return 0


def _batch(args) -> int:
    from flows.batch import batch_flow

    run = batch_flow(args.tree, out=args.out, db_url=args.db, workers=args.workers,
                     dask_address=args.dask_address)
    print(f"batch outputs: {run}")
    return 0


def _verify(args) -> int:
    from flows.verify import verify_run

    result = verify_run(args.run_folder, db_url=args.db)
    for line in result.lines:
        print(line)
    print(f"{args.run_folder}: " + ("verified, every output is byte-identical" if result.ok
                                     else "NOT verified: see the lines above"))
    return 0 if result.ok else 1


def _demo(args) -> int:
    from flows.demo import demo_flow

    result = demo_flow(args.out, db_url=args.db)
    print(result.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
