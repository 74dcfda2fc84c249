"""The `almaclean` command: parse, open the database once, call a service, print the result.

One-off commands (ingest, fetch, status, p2e, resync, verify, sample, demo) call the services
directly and never start Prefect; with --prefect, or a Prefect server named in
$PREFECT_API_URL, they run as flow runs so they show in the Prefect UI. nightly and batch
always run as flows. Exit codes: 0 ok, 2 bad input (file, row and column named), 1 any
other failure (and verify: 1 when a run does not verify).
"""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from almaclean import interrupts

try:  # Ctrl-C while the command starts (importing polars takes a moment) ends it quietly too
    interrupts.install()
    from almaclean import __version__, settings
    from almaclean.errors import AlmacleanError, InputError
    from almaclean.invocation import command_line, tool_line
    from almaclean.kinds.registry import NAMES as KIND_NAMES
except KeyboardInterrupt as _stopped:
    print("almaclean: stopped while starting; nothing was done", file=sys.stderr)
    sys.exit(interrupts.exit_code(_stopped))

log = logging.getLogger("almaclean")

# Prefect's temporary server has to start within this (a loaded 2-core machine needs ~40 s).
EPHEMERAL_STARTUP_SECONDS = "180"
MIN_SCALE, MAX_SCALE = 0.001, 1000.0   # sample --scale: 5 to 5,000,000 portfolios


class Parser(argparse.ArgumentParser):
    """argparse, with each option's flags kept in `flags` and each command in `commands`
    (the CLI tests are built from them)."""

    def __init__(self, *args, **kwargs) -> None:
        self.flags: list[tuple[str, ...]] = []
        self.commands: dict[str, Parser] = {}
        self.arguments: list[argparse.Action] = []   # in order: what a run's command line is rebuilt from
        super().__init__(*args, **kwargs)

    def add_argument(self, *names, **kwargs):
        if names and names[0].startswith("-"):
            self.flags.append(names)
        action = super().add_argument(*names, **kwargs)
        self.arguments.append(action)
        return action


def _global_options(parser: argparse.ArgumentParser, *, in_command: bool) -> None:
    """The options every command takes, before or after its name (in a command, an absent
    option leaves the value given before the name)."""

    def default(value):
        return argparse.SUPPRESS if in_command else value

    parser.add_argument("--db", metavar="URL", default=default(None),
                        help=f"SQLAlchemy database URL (default: ${settings.DB_URL_ENV}, else almaclean.db "
                             f"in the data folder: ${settings.DATA_DIR_ENV} or your user data folder)")
    parser.add_argument("-v", "--verbose", action="count", default=default(0),
                        help="log what is done (-vv: debug logs and tracebacks)")
    parser.add_argument("-q", "--quiet", action="store_true", default=default(False),
                        help="print nothing but errors (and, with --json, the JSON)")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print the result as JSON on standard output")
    parser.add_argument("--prefect", action="store_true", default=default(False),
                        help="run as a Prefect flow run (default when $PREFECT_API_URL is set)")


OUT_HELP = "folder for the run folder (default: runs/ in the data folder)"


def build_parser() -> Parser:
    """The `almaclean` command line: its global options, then each command, in the order --help
    lists them (command(name, run, ...) adds one, with the global options again)."""
    parser = Parser(prog="almaclean",
                    description="Clean up Alma electronic inventory: P2E duplicates, POL relinks, "
                                "e-collection re-syncs.")
    parser.add_argument("--version", action="version", version=f"almaclean {__version__}")
    _global_options(parser, in_command=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def command(name: str, run, **kwargs) -> Parser:
        p = sub.add_parser(name, **kwargs)
        _global_options(p, in_command=True)
        p.set_defaults(run=run)
        parser.commands[name] = p
        return p

    _storage_commands(command)
    _sample_commands(command)
    _resync_command(command)
    _p2e_cleanup_command(command)
    _many_commands(command)
    _db_command(command)
    _verify_command(command)
    return parser


def _storage_commands(command) -> None:
    """The commands that store and show what is stored: ingest, fetch, status, history."""
    p = command("ingest", _ingest, help="store P2E files and Alma exports in the database",
                description="Read, check and store files of one kind. The same file again is a no-op; "
                            "a newer file of the same kind and scope supersedes the older one.")
    p.add_argument("kind", choices=KIND_NAMES)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--institution", default=None, metavar="CODE",
                   help="institution code the files belong to (default: the only one in the database)")
    p.add_argument("--scope", help="what the file covers (default: the collection for an Extended Export, "
                                   "else 'all')")
    p.add_argument("--mapping", type=Path, metavar="TOML", help="site-specific header names (see README)")

    p = command("fetch", _fetch, help="fetch a portfolio or PO line report from the Alma Analytics API and store it",
                description="Page through an Alma Analytics report with the reports API and store its rows exactly as "
                            "`ingest KIND` stores a file (same checks, column names, history; the same content "
                            "again is a no-op). The API key comes from $ALMA_API_KEY (or --api-key-env) or a Prefect "
                            "Secret block, never from the command line. Exit 2 for a wrong report path or a refused "
                            "key, 1 for a server fault.")
    p.add_argument("kind", choices=KIND_NAMES, metavar="KIND", help="portfolios or po-lines")
    p.add_argument("--institution", default=None, metavar="CODE",
                   help="institution code the report belongs to (default: the only one in the database)")
    p.add_argument("--report", required=True, metavar="PATH",
                   help="the report's path in the Analytics catalogue, e.g. \"/shared/My University/Reports/All "
                        "portfolios\"")
    p.add_argument("--api-base", metavar="URL", default=None,
                   help="the API gateway of your region: na, eu, ap, ca, cn or its URL (default: $ALMA_API_BASE, "
                        "else North America)")
    p.add_argument("--api-key-env", metavar="NAME", default=None,
                   help="the environment variable holding the API key (default: ALMA_API_KEY)")
    p.add_argument("--api-key-block", metavar="NAME", default=None,
                   help="a Prefect Secret block holding the API key, instead of an environment variable")
    p.add_argument("--mapping", type=Path, metavar="TOML", help="site-specific header names (see README)")

    command("status", _status, help="what is stored, per institution and kind (read-only)",
            description="Per institution and kind: how many files are stored, the newest one and when it "
                        "came in, and the database's size. Opens the database read-only; answers at once "
                        "while another command is writing.")

    p = command("history", _history, help="when a portfolio (or P2E line, PO line) appeared, changed or went",
                description="File by file, what happened to the rows with this key in the stored files of "
                            "one kind: appeared, changed (and which columns), unchanged, gone. The key is the "
                            "Portfolio Id for portfolio exports and Extended Exports, the legacy record id for "
                            "P2E files, the PO line reference for PO line exports. Read-only.")
    p.add_argument("key", metavar="KEY", help="a portfolio ID, legacy record ID or PO line reference")
    p.add_argument("--kind", choices=KIND_NAMES, default="portfolios", help="which stored files (default: portfolios)")
    p.add_argument("--institution", default=None, metavar="CODE",
                   help="institution code (default: the only one in the database)")


def _sample_commands(command) -> None:
    """sample (a sample institution's exports) and demo (both workflows on one)."""
    p = command("sample", _sample, help="write a realistic sample institution's exports",
                description="Write a sample institution's portfolio export, P2E file, PO line export and "
                            "Extended Exports, built on real public title lists, to try almaclean on.")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", type=float, default=1.0, help="1.0 is about 5,000 portfolios; 200 is 1,000,000")
    p.add_argument("--ee-rows", type=int, default=None, metavar="N",
                   help="also write one Extended Export of N rows (up to 100,000)")

    p = command("demo", _demo, help="run both workflows on a realistic sample, in a new folder",
                description="Write a sample institution, store it, run the P2E clean-up and the re-sync "
                            "audit on it, and say where the run folders are: a tour of what almaclean writes.")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help=OUT_HELP)


def _resync_command(command) -> None:
    """resync: audit Extended Exports, apply a review workbook."""
    p = command("resync", _resync,
                help="audit Extended Exports and write review workbooks and Portfolio Loader files",
                description="For each e-collection's Extended Export: check it for local and acquisitions "
                            "data, say whether 'Activate all' is safe or the collection must be reloaded "
                            "through the Portfolio Loader, and write the review workbook and loader file. "
                            "With --decisions, apply a reviewed workbook and write the final loader file.")
    p.add_argument("exports", nargs="+", type=Path, metavar="EXPORT", help="Extended Export .xlsx files or folders")
    p.add_argument("--po-lines", type=Path, metavar="FILE", help="PO line export to check PO_LINE values")
    p.add_argument("--institution", default=None, metavar="CODE",
                   help="institution code the exports belong to (default: the only one in the database)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help=OUT_HELP)
    p.add_argument("--decisions", type=Path, metavar="REVIEW.xlsx",
                   help="a review workbook with decisions filled in: apply them and write the final loader file")
    p.add_argument("--keep-localized-n", action="store_true", help="do not change LOCALIZED N to Y")
    p.add_argument("--mapping", type=Path, metavar="TOML",
                   help="site-specific header names for the PO line export (and the exports' ID columns)")


def _p2e_cleanup_command(command) -> None:
    """p2e: the P2E clean-up."""
    p = command("p2e", _p2e,
                help="find P2E duplicates, POL relinks and local-collection groups; write deletion sets",
                description="Match the P2E portfolios against the CZ-linked ones by identifier and coverage: "
                            "deletion sets for the duplicates, POL relink worksheets, a review list with each "
                            "reason, and local-collection groups for what has no CZ twin. Files given are "
                            "read and stored first; without them, the stored ones are used.")
    p.add_argument("--portfolios", type=Path, metavar="FILE",
                   help="all-portfolios export (default: the one stored for the institution)")
    p.add_argument("--p2e", type=Path, metavar="FILE", help="the P2E file (headerless or spreadsheet)")
    p.add_argument("--po-lines", type=Path, metavar="FILE", help="PO line export")
    p.add_argument("--institution", default=None, metavar="CODE",
                   help="institution code (default: the only one in the database)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help=OUT_HELP)
    p.add_argument("--set-header", default="Portfolio Id", help="header line of the itemized set files")
    p.add_argument("--set-size", type=int, default=10_000, help="IDs per set file at most")
    p.add_argument("--mapping", type=Path, metavar="TOML", help="site-specific header names")
    p.add_argument("--without-po-lines", action="store_true",
                   help="write the deletion sets even though no PO-line evidence was given (no PO line column, "
                        "no PO number in the P2E file, no PO line export): recorded in the bundle and the sets' README")
    p.add_argument("--cz-titles", type=Path, nargs="+", default=[], metavar="FILE",
                   help="CZ collection title lists (KBART, or an Alma portfolio export of a CZ collection): "
                        "which kept P2E portfolios could be linked to the CZ")
    p.add_argument("--deactivate", action="store_true",
                   help="write the same sets as de-activation sets (deactivation-sets/), a reversible alternative "
                        "to deleting, with Alma's route to de-activate the portfolios")


def _many_commands(command) -> None:
    """nightly and batch: many institutions or collections at once, as Prefect flows."""
    p = command("nightly", _nightly,
                help="ingest what is new in each institution's inbox, re-run P2E detection, report changes",
                description="INBOX holds one folder per institution code (see docs/nightly.md). "
                            "Reports new, resolved, still open and changed duplicates since the previous run. "
                            "Runs as a Prefect flow.")
    p.add_argument("inbox", type=Path, metavar="INBOX")
    p.add_argument("--institution", action="append", dest="institutions", metavar="CODE",
                   help="only this institution (repeatable; default: every folder in INBOX)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help=OUT_HELP)
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="institutions at once (threads; default 1: an institution of 1,000,000 portfolios needs "
                        "about 1.5 GB)")
    p.add_argument("--dask", dest="dask_address", metavar="ADDRESS",
                   help="run the institutions on this Dask scheduler (needs the almaclean[dask] extra)")

    p = command("batch", _batch,
                help="re-sync every collection and run P2E clean-up for every institution in a folder tree",
                description="TREE holds one folder per institution code, laid out like the nightly inbox "
                            "(docs/audit.md). Jobs run concurrently as a Prefect flow; a failing one is "
                            "reported and the others finish.")
    p.add_argument("tree", type=Path, metavar="TREE")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help=OUT_HELP)
    p.add_argument("--workers", type=int, default=4, metavar="N", help="jobs at once (threads; default 4)")
    p.add_argument("--dask", dest="dask_address", metavar="ADDRESS",
                   help="run the jobs on this Dask scheduler (needs the almaclean[dask] extra)")


def _db_command(command) -> None:
    """db upgrade, downgrade and prune."""
    p = command("db", None, help="database upkeep: schema upgrade and downgrade, retention",
                description="upgrade: bring the database to this almaclean's schema, after a backup when a "
                            "migration rewrites tables (other commands apply only migrations that add). downgrade: "
                            "undo migrations down to a revision. prune: remove stored files older than --keep-days "
                            "that are superseded and that no recorded run analysed, then give the space back.")
    db = p.add_subparsers(dest="db_command", required=True, metavar="ACTION", parser_class=Parser)
    for name, run, help_text in (
            ("upgrade", _db_upgrade, "bring the database to this almaclean's schema (a SQLite database is backed "
                                     "up first when a migration rewrites tables)"),
            ("downgrade", _db_downgrade, "undo schema migrations down to REVISION (backed up first)"),
            ("prune", _db_prune, "remove old superseded stored files")):
        action = db.add_parser(name, help=help_text, description=help_text)
        _global_options(action, in_command=True)
        action.set_defaults(run=run)
        p.commands[name] = action
        if name == "prune":
            action.add_argument("--keep-days", type=int, required=True, metavar="N",
                                help="keep every stored file ingested in the last N days")
            continue
        if name == "downgrade":
            action.add_argument("revision", metavar="REVISION", help="the schema revision to go back to (e.g. 0008)")
        action.add_argument("--i-have-a-backup", action="store_true",
                            help="PostgreSQL (or any server database): you have backed the database up "
                                 "(e.g. with pg_dump); almaclean backs up SQLite files itself")
        action.add_argument("--backup-dir", type=Path, metavar="DIR",
                            help="SQLite: write the backup here (default: beside the database file)")


def _verify_command(command) -> None:
    """verify: re-run a run folder from its bundle."""
    p = command("verify", _verify,
                help="re-run a run folder from its bundle and check every output is byte-identical",
                description="Exit 0 when inputs, outputs and a fresh re-run all match bundle.json, "
                            "1 when anything differs (each difference is listed), 2 when the folder "
                            "is not a bundle. With the database the run was made with (--db, or the "
                            "default one), bundle.json is also checked against that database's run "
                            "ledger. The re-run uses a new temporary database unless --rerun-db names "
                            "an empty one.")
    p.add_argument("run_folder", type=Path, metavar="RUN_FOLDER")
    p.add_argument("--rerun-db", metavar="URL", help="an EMPTY database for the re-run (default: a temporary one)")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    finally:
        _close_stores()


def _main(argv: list[str] | None) -> int:
    try:
        interrupts.install()
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    _setup_logging(args.verbose, args.quiet)
    try:
        result = args.run(args)
        interrupts.check()  # a stop that a library swallowed still stops the run here
        code = 0 if getattr(result, "ok", True) else 1
        _print(result, args)
        return code
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except BrokenPipeError:
        return _output_cut()
    except Exception as exc:
        if interrupts.stopped():  # a failure the stop itself caused (its staging folder removed)
            return _interrupted(interrupts.Interrupted(interrupts.stop_signal()))
        if isinstance(exc, AlmacleanError):
            _say_error(f"almaclean: error: {exc}")
            return exc.exit_code
        plain = plain_failure(exc, args)
        if plain is not None:  # a fault of the machine or of a file given, said in words
            log.debug("failure", exc_info=True)
            _say_error(f"almaclean: error: {plain}")
            return plain.exit_code
        # a bug, not bad input: say so, keep the traceback in the log
        log.debug("internal error", exc_info=True)
        _say_error(f"almaclean: internal error: {type(exc).__name__}: {exc} (run with -vv for the traceback)")
        if args.verbose > 1:
            raise
        return 1


def _close_stores() -> None:
    """The command's databases disposed of when it ends (a caller of main() may run another)."""
    bootstrap = sys.modules.get("almaclean.store.bootstrap")
    if bootstrap is not None:
        bootstrap.close_stores()


def plain_failure(exc: BaseException, args) -> AlmacleanError | None:
    """A failure that is no bug, in plain words: a database error (store.db.database_error) or
    an operating-system one (a full disk, a path you may not write to); None for anything else."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        from almaclean.store.db import database_error

        return database_error(exc, _database(args))
    if isinstance(exc, OSError):
        return os_failure(exc)
    return None


def os_failure(exc: OSError) -> AlmacleanError:
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return AlmacleanError(f"the disk is full{where}: free some space and run the command again (nothing was "
                              "half-written: a run folder appears only once complete, the database only commits "
                              "whole files)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return AlmacleanError(f"permission denied{where}: almaclean may not read or write there")
    if exc.errno == errno.EROFS:
        return AlmacleanError(f"the file system is read-only{where}")
    return AlmacleanError(f"{exc.strerror or exc}{where}")


def _say_error(text: str) -> None:
    try:
        print(text, file=sys.stderr)
    except (BrokenPipeError, ValueError):
        pass


def _output_cut() -> int:
    """Standard output was closed by its reader (`almaclean --json status | head`): end quietly.
    Python would otherwise say so again when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


def _interrupted(exc: KeyboardInterrupt) -> int:
    code = interrupts.exit_code(exc)
    name = "Ctrl-C" if code == 130 else str(exc) or "a signal"
    _say_error(f"almaclean: stopped ({name}); nothing was half-written: no run folder was published and "
               "no file was partly stored")
    if interrupts.threads_left_behind():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # not waiting for Prefect's crash reports (orchestration.stopping)
    return code


def _print(result, args) -> None:
    """The result on standard output: its JSON with --json (even with -q, which only silences
    the lines for people and the logs), else its lines unless -q."""
    if result is None or (args.quiet and not args.json):
        return
    choice = getattr(args, "institution_choice", None)
    implied = choice is not None and choice.how != "named"
    if args.json:
        payload = result.as_json()
        if implied:
            payload = {**payload, "institution": choice.code, "institution_chosen": choice.how,
                       **({"institution_note": choice.note} if choice.note else {})}
        text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    else:
        text = "\n".join(result.lines())
        if implied:
            text = (f"institution {choice.code}: {choice.how} (another: --institution CODE)"
                    + (f"; {choice.note}" if choice.note else "") + "\n" + text)
    print(text)
    sys.stdout.flush()   # a closed pipe is seen here (BrokenPipeError), not at exit


def _setup_logging(verbose: int, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.INFO if verbose
                 else logging.WARNING)
    log.propagate = False
    from almaclean import progress

    progress.set_visible(not quiet)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG" if verbose > 1 else "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_SECONDS)


def _as_flow(args) -> bool:
    return args.prefect or settings.prefect_api_configured()


PREFECT_LOGGERS = ("prefect", "prefect.flow_runs", "prefect.task_runs")


def _run_flow(name: str, *call_args, db: str | None = None, rerun_db: str | None = None, quiet: bool = False,
              **kwargs):
    """A flow of almaclean.orchestration; Prefect's own start-up failures in one plain line.
    Without -v, Prefect's failure logs (with their tracebacks) are silenced: the error itself
    is said once, in almaclean's words. The database (--db) goes to the flow run through the
    environment, never as a parameter the Prefect UI would show. While Prefect starts a
    temporary server (no $PREFECT_API_URL), progress is printed on standard error."""
    try:
        from almaclean.orchestration import flows
    except ImportError as exc:  # pragma: no cover - Prefect is a dependency
        raise AlmacleanError(f"cannot import Prefect: {exc}") from exc
    if not log.isEnabledFor(logging.INFO):
        for name_ in PREFECT_LOGGERS:
            logging.getLogger(name_).setLevel(logging.CRITICAL)
    from almaclean.orchestration.stopping import run_stoppable

    waiting = None
    if not settings.prefect_api_configured() and not quiet:
        from almaclean.progress import Waiting

        waiting = Waiting("starting Prefect's temporary server (a running server, named in $PREFECT_API_URL, "
                          "skips this)")
        flows.on_flow_start.append(lambda: waiting.done("Prefect's temporary server started in {seconds:.0f} s"))
    try:
        with settings.environment(**{settings.DB_URL_ENV: db, settings.RERUN_DB_URL_ENV: rerun_db}):
            return run_stoppable(getattr(flows, name), *call_args, **kwargs)
    except AlmacleanError:
        raise
    except Exception as exc:
        hint = _prefect_hint(exc)
        if hint is None:
            raise
        raise AlmacleanError(hint) from exc
    finally:
        if waiting is not None:
            waiting.done()
            flows.on_flow_start.clear()


def _prefect_hint(exc: Exception) -> str | None:
    text = f"{type(exc).__name__}: {exc}"
    if "ephemeral" in text.lower() or "Timed out while attempting to connect" in text:
        return ("Prefect's temporary server did not start in time. Start one and point almaclean at it: "
                f"`{tool_line('prefect', 'server', 'start')}` in another terminal, then "
                "`export PREFECT_API_URL=http://127.0.0.1:4200/api` and run the command again")
    if "Failed to reach API" in text or "ConnectError" in text or "Connection refused" in text:
        url = os.environ.get(settings.PREFECT_API_ENV, "")
        return (f"the Prefect server at {url or 'PREFECT_API_URL'} does not answer: start it "
                f"(`{tool_line('prefect', 'server', 'start')}`) or unset PREFECT_API_URL to run without a server")
    return None


def _out(args) -> Path:
    """--out (checked by services.options.output_folder where it is used), else runs/ in the data
    folder: the folder run folders are made in."""
    return args.out.absolute() if args.out is not None else settings.runs_dir()


def run_words(args, *, drop: Iterable[str] = ()) -> list[str | Path]:
    """This run's command after the program, every option given repeated (files as Path, so
    that invocation.command_line writes them absolute), less the options in `drop`."""
    parser = build_parser()
    command = parser.commands[args.command]
    names = [args.command]
    if getattr(args, "db_command", None):
        command = command.commands[args.db_command]
        names.append(args.db_command)
    global_options = _global_actions(parser)
    dests = {a.dest for a in global_options}
    return [*names, *_option_words(args, global_options, drop),
            *_option_words(args, [a for a in command.arguments if a.dest not in dests], drop)]


def _global_actions(parser: Parser) -> list[argparse.Action]:
    return [a for a in parser.arguments if a.dest != "version"]


def _option_words(args, actions: list[argparse.Action], drop: Iterable[str]) -> list[str | Path]:
    words: list[str | Path] = []
    for action in actions:
        value = getattr(args, action.dest, None)
        flag = action.option_strings[-1] if action.option_strings else None
        if flag in drop or value is None or value is False or value == [] or value == action.default:
            continue
        if action.dest == "db":
            value = _absolute_db(value)
        values = value if isinstance(value, (list, tuple)) else [value]
        if flag is None:
            words += values
        elif action.nargs == 0:   # a switch, or a count (-v -v)
            words += [flag] * (value if type(value) is int else 1)
        elif action.nargs is None and isinstance(value, list):   # repeated (action="append")
            for item in values:
                words += [flag, item]
        else:
            words += [flag, *values]
    return words


def _absolute_db(url: str) -> str:
    """A SQLite URL with a relative path, made absolute (the same database from any folder)."""
    from almaclean.store.db import sqlite_file

    try:
        path = sqlite_file(url)
    except Exception:  # not a URL: said elsewhere
        return url
    if path is None or path.is_absolute():
        return url
    return url.replace(str(path), str(path.absolute()), 1)


def next_command(args, *extra: str | Path, drop: Iterable[str] = ()) -> str:
    """The command to run next: this run's, every option repeated, with `extra` added."""
    return command_line(*run_words(args, drop=drop), *extra)


def other_command(args, *words: str | Path) -> str:
    """Another command to run next (`words`), with this run's global options (--db, ...)."""
    return command_line(*words, *_option_words(args, _global_actions(build_parser()), ()))


def _open(args, *, read_only: bool = False):
    from almaclean.store.bootstrap import open_store

    return open_store(args.db, read_only=read_only).engine


class _Lines:
    """A result that is only lines of text."""

    def __init__(self, lines: list[str], payload: dict, ok: bool = True) -> None:
        self._lines, self._payload, self.ok = lines, payload, ok

    def lines(self) -> list[str]:
        return self._lines

    def as_json(self) -> dict:
        return self._payload


def _ingest(args):
    institution = _institution(args, storing=True)
    if _as_flow(args):
        results = _run_flow("ingest_flow", args.kind, args.files, institution, scope=args.scope,
                            mapping=args.mapping, db=args.db, quiet=args.quiet)
    else:
        from almaclean.services.ingest import ingest

        results = ingest(_open(args), args.kind, args.files, institution, scope=args.scope, mapping=args.mapping)
    lines = [f"{r.status:9} {r.file}: {r.rows:,} rows ({r.kind}, scope {r.scope!r}, file #{r.source_file_id})"
             for r in results]
    lines.append(f"database: {_database(args)}")
    payload = {"command": "ingest", "database": _database(args),
               "files": [{"file": r.file, "status": r.status, "rows": r.rows, "kind": r.kind, "scope": r.scope,
                          "source_file_id": r.source_file_id} for r in results]}
    return _Lines(lines, payload)


def _fetch(args):
    from almaclean.services.fetch import FetchRequest, fetch_report
    from almaclean.services.ingest import mapping_for

    institution = _institution(args, storing=True)
    request = FetchRequest(args.kind, institution, args.report, api_base=args.api_base,
                           api_key_env=args.api_key_env, api_key_block=args.api_key_block)
    if _as_flow(args):
        result = _run_flow("fetch_flow", request, mapping=args.mapping, db=args.db, quiet=args.quiet)
    else:
        result = fetch_report(_open(args), request, mapping=mapping_for(args.mapping, args.kind))
    return replace(result, next_command=other_command(args, "p2e", "--institution", institution))


def _database(args) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(settings.database_url(args.db)).render_as_string(hide_password=True)
    except ArgumentError:
        return str(args.db)


def _database_file(args):
    """The SQLite file of the database (None for a server), the URL checked first (InputError)."""
    from almaclean.store.db import check_url, sqlite_file

    return sqlite_file(check_url(settings.database_url(args.db), settings.database_source(args.db)))


def _nothing_stored(args) -> str:
    return f"nothing stored yet: store your exports with {other_command(args, 'ingest', 'KIND', 'FILE', '--institution', 'CODE')}"


def _status(args):
    from almaclean.store.db import describe
    from almaclean.store.load import stored_status

    path = _database_file(args)
    if path is not None and not path.is_file():
        return _Lines([f"database: {path}", _nothing_stored(args)],
                      {"command": "status", "database": str(path), "stored": []})
    from almaclean.store.size import institution_bytes

    engine = _open(args, read_only=True)
    frame = stored_status(engine)
    sizes = institution_bytes(engine)
    lines = [f"database: {describe(engine)}" + (f" ({path.stat().st_size / 1e6:,.1f} MB)" if path else "")]
    if sizes:
        lines.append("size per institution (estimated from its share of each table): "
                     + ", ".join(f"{code} {size / 1e6:,.1f} MB" for code, size in sorted(sizes.items())))
    if frame.is_empty():
        lines.append(_nothing_stored(args))
    else:
        lines.append(f"{'institution':<14}{'kind':<17}{'files':>6}{'current':>9}{'rows':>12}  last ingest")
        lines += [f"{row['institution']:<14}{row['kind']:<17}{row['files']:>6}{row['current_files']:>9}"
                  f"{row['current_rows']:>12,}  {row['last_ingest']}" for row in frame.iter_rows(named=True)]
        from almaclean.services.options import PLACEHOLDER

        if PLACEHOLDER in frame["institution"].to_list():
            lines.append(f"{PLACEHOLDER!r} is no institution: earlier almaclean versions stored re-sync exports "
                         "given without --institution under it. No command chooses it for you; read its files "
                         f"with --institution {PLACEHOLDER}.")
    return _Lines(lines, {"command": "status", "database": describe(engine), "stored": frame.to_dicts(),
                          "bytes_per_institution": sizes})


def _history(args):
    from almaclean.store.history import row_history

    path = _database_file(args)
    if path is not None and not path.is_file():
        raise InputError(f"no database at {path}: {_nothing_stored(args)}")
    engine = _open(args, read_only=True)
    institution = _institution(args, storing=False)
    frame = row_history(engine, institution, args.kind, args.key.strip())
    what = f"{args.key.strip()} in the {args.kind} files of {institution}"
    if frame.is_empty():
        lines = [f"{what}: in no stored file"]
    else:
        lines = [f"{what}:"] + [
            f"  {row['ingested_at']}  {row['file']} (file #{row['source_file_id']}, scope {row['scope']!r}): "
            f"{row['status']}" + (f", row {row['rows']}" if row["rows"] else "")
            + (f"; changed: {row['changed']}" if row["changed"] else "") for row in frame.iter_rows(named=True)]
    return _Lines(lines, {"command": "history", "institution": institution, "kind": args.kind,
                          "key": args.key.strip(), "history": frame.to_dicts()})


def _sample(args):
    from almaclean.sample.generator import generate
    from almaclean.services import options

    options.number("--scale", args.scale, MIN_SCALE, MAX_SCALE)
    options.whole_number("--ee-rows", args.ee_rows if args.ee_rows is not None else 0, 0, 100_000)
    options.output_folder(args.out)

    manifest = generate(args.out, seed=args.seed, scale=args.scale, ee_rows=args.ee_rows)
    names = [*manifest.files.values(), *manifest.extended_exports]
    folder = args.out.absolute()
    return _Lines([f"sample written to {folder}: {manifest.counts['portfolios']:,} portfolios, "
                   f"{manifest.counts['p2e_lines']:,} P2E lines, {manifest.counts['po_lines']:,} PO lines, "
                   f"{len(manifest.extended_exports)} Extended Export(s)", *(f"  {name}" for name in names)],
                  {"command": "sample", "folder": str(folder), "files": names, "counts": manifest.counts})


def _resync(args):
    from almaclean.services import options
    from almaclean.services.resync import ResyncRequest, run_resync

    options.output_folder(_out(args))   # before the database is opened (or made)
    request = ResyncRequest(args.exports, _out(args), _institution(args, storing=True), po_lines=args.po_lines,
                            decisions=args.decisions, keep_localized_n=args.keep_localized_n, mapping=args.mapping,
                            db=args.db)
    if _as_flow(args):
        return _run_flow("resync_flow", request, db=args.db, quiet=args.quiet)
    return run_resync(_open(args), request)


def _institution(args, *, storing: bool) -> str:
    """services.options.choose_institution (one rule for every command), before the database is
    opened for writing (or made); how the institution was chosen is kept in args for the closing
    lines, and a user who must name one is given the command with --institution to run."""
    from almaclean.services.options import choose_institution

    try:
        choice = choose_institution(args.institution, [] if args.institution else _stored_institutions(args),
                                    storing=storing)
    except InputError as exc:
        if args.institution is None:
            raise InputError(f"{exc.message}: {next_command(args, '--institution', 'CODE')}") from None
        raise
    args.institution_choice = choice
    return choice.code


def _stored_institutions(args) -> list[str]:
    """The institutions the database holds, read without making it (a SQLite file not there yet
    holds none)."""
    from almaclean.store.load import institutions

    path = _database_file(args)
    if path is not None:
        return institutions(_open(args, read_only=True)) if path.is_file() else []
    return institutions(_open(args))


def _p2e(args):
    from almaclean.services.p2e import P2ERequest, check_options, run_p2e

    storing = any(f is not None for f in (args.portfolios, args.p2e, args.po_lines))
    request = P2ERequest(args.institution or "", _out(args), portfolios=args.portfolios, p2e=args.p2e,
                         po_lines=args.po_lines, set_header=args.set_header, set_size=args.set_size,
                         mapping=args.mapping, cz_titles=tuple(args.cz_titles),
                         without_po_lines=args.without_po_lines, deactivate=args.deactivate)
    check_options(request)   # before the database is opened (or made)
    request = replace(request, institution=_institution(args, storing=storing))
    engine = _open(args)
    if _as_flow(args):  # the flow runs in this process and is handed the same Store
        run = _run_flow("p2e_flow", request, db=args.db, quiet=args.quiet)
    else:
        run = run_p2e(engine, request)
    return replace(run, commands=_p2e_commands(args, run))


def _p2e_commands(args, run) -> list[tuple[str, str]]:
    """The run again that its closing lines ask for, with every option of this run."""
    from almaclean.p2e.match import PO_LINES_RULE

    commands = []
    if any(item == "not recognised" for item, _ in run.evidence):
        mapping = args.mapping or Path("my-headers.toml")
        commands.append((f"with the mapping lines above in {mapping.absolute()}",
                         next_command(args, "--mapping", mapping, drop=["--mapping"])))
    if PO_LINES_RULE in run.not_checked and not args.without_po_lines:
        commands.append(("to write the deletion sets without PO-line evidence",
                         next_command(args, "--without-po-lines")))
    return commands


def _named_inbox_folders(args) -> None:
    """Each --institution named must have its folder in the inbox: a mistyped code is bad input."""
    from almaclean.services.options import institution_code

    for code in args.institutions or []:
        institution_code(code)
        if not (args.inbox / code).is_dir():
            raise InputError(f"--institution {code}: the inbox has no folder {code}/ (one folder per institution "
                             "code, see docs/nightly.md)", file=args.inbox)


def _nightly(args):
    from almaclean.services import options
    from almaclean.services.batch import MAX_WORKERS

    _named_inbox_folders(args)   # checked before Prefect starts (seconds)
    options.whole_number("--workers", args.workers, 1, MAX_WORKERS)
    options.output_folder(_out(args))
    return _closing_lines_on_failure(args, "nightly_flow", args.inbox, institutions=args.institutions,
                                     out=_out(args), workers=args.workers, dask_address=args.dask_address)


def _batch(args):
    from almaclean.services import options
    from almaclean.services.batch import MAX_WORKERS

    options.whole_number("--workers", args.workers, 1, MAX_WORKERS)   # checked before Prefect starts
    options.output_folder(_out(args))
    return _closing_lines_on_failure(args, "batch_flow", args.tree, out=_out(args), workers=args.workers,
                                     dask_address=args.dask_address)


def _closing_lines_on_failure(args, name: str, *call_args, **kwargs):
    """A flow that ran to its end with failures still prints its closing lines (what it read,
    decided and wrote, and what to do next) before the error."""
    from almaclean.orchestration.flows import FlowFailed

    try:
        return _with_global_options(_run_flow(name, *call_args, db=args.db, quiet=args.quiet, **kwargs), args)
    except FlowFailed as failed:
        if failed.result is not None:
            _print(_with_global_options(failed.result, args), args)
        raise AlmacleanError(str(failed)) from failed


def _with_global_options(result, args):
    """A flow's result whose next steps name commands (nightly's): with this run's global
    options (--db, ...), so that the command runs on the same database."""
    if hasattr(result, "global_options"):
        return replace(result, global_options=tuple(_option_words(args, _global_actions(build_parser()), ())))
    return result


def _ledger(args):
    """The user's database, read-only, when there is one (its run ledger), else None."""
    path = _database_file(args)
    if path is not None and not path.is_file():
        return None
    return _open(args, read_only=True)


def _say(args):
    """Progress of a long database command, on standard error (nothing with -q)."""
    if args.quiet:
        return None
    return lambda text: print(text, file=sys.stderr, flush=True)


def _db_upgrade(args):
    from almaclean.services.db import upgrade_database
    from almaclean.store.db import open_database

    return upgrade_database(open_database(args.db, migrate=False), i_have_a_backup=args.i_have_a_backup,
                            backup_dir=args.backup_dir, say=_say(args))


def _db_downgrade(args):
    from almaclean.services.db import downgrade_database
    from almaclean.store.db import open_database

    return downgrade_database(open_database(args.db, migrate=False), args.revision,
                              i_have_a_backup=args.i_have_a_backup, backup_dir=args.backup_dir, say=_say(args))


def _db_prune(args):
    from almaclean.services import options
    from almaclean.services.db import MAX_KEEP_DAYS, prune_history

    options.whole_number("--keep-days", args.keep_days, 0, MAX_KEEP_DAYS)   # before the database is opened
    return prune_history(_open(args), args.keep_days)


def _verify(args):
    from almaclean.services.verify import verify_run

    if _as_flow(args):
        ledger = _ledger(args)
        if ledger is not None:
            ledger.dispose()
        result = _run_flow("verify_flow", args.run_folder, check_ledger=ledger is not None, db=args.db,
                           rerun_db=args.rerun_db, quiet=args.quiet)
    else:
        result = verify_run(args.run_folder, db_url=args.rerun_db, ledger=_ledger(args))
    if not result.ok:
        verdict = "NOT verified: see the lines above"
    elif result.notes:
        verdict = "verified: every output is byte-identical but the workbook(s) filled in, as expected (above)"
    else:
        verdict = "verified, every output is byte-identical"
    origin = [result.origin] if result.origin else ["origin not checked: no database at hand with a run ledger"]
    return _Lines([*result.lines, *result.notes, *origin, f"{args.run_folder}: {verdict}"],
                  {"command": "verify", "folder": str(args.run_folder), "ok": result.ok, "lines": result.lines,
                   "notes": result.notes, "origin": result.origin}, ok=result.ok)


def _demo(args):
    if _as_flow(args):
        run = _run_flow("demo_flow", _out(args), configured_database=args.db is not None, db=args.db,
                        quiet=args.quiet)
    else:
        from almaclean.services.demo import run_demo

        run = run_demo(_out(args), args.db)
    # The demo keeps its own database in its folder (unless --db): the follow-up commands name it.
    db = [] if args.db else ["--db", run.database_url]
    commands = [("what the demo stored", other_command(args, "status", *db))]
    if run.example_portfolio:
        commands.append(("when a portfolio appeared, changed or went",
                         other_command(args, "history", run.example_portfolio, *db)))
    commands.append(("check that the P2E run can be re-made byte for byte",
                     other_command(args, "verify", run.p2e.folder, *db)))
    return replace(run, commands=commands)


if __name__ == "__main__":
    sys.exit(main())
