"""Run leases: a running run holds the stored files it analyses, and `db prune` leaves them.

A run takes a lease (run_lease) when it starts and holds each stored file it picks (Lease.hold)
before it reads the file's rows; the lease goes when the run ends, by which time a published
run's files are kept by the run ledger (bundle/ledger.py). Holding and pruning are serialised
(SQLite's write lock, a PostgreSQL advisory lock): a file prune removed before the run could
hold it is found missing at once, and the run fails instead of analysing less than it picked.
A lease whose run is gone (killed on this host, or older than LEASE_MAX_AGE anywhere) no longer
holds anything, and prune removes it.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, bindparam, text

from almaclean import process
from almaclean.errors import AlmacleanError
from almaclean.store.db import write_transaction

log = logging.getLogger(__name__)

LEASE_MAX_AGE = timedelta(days=2)   # far longer than any run; then a lease of another host lapses
_ADVISORY_LOCK = 7316029             # PostgreSQL: holding and pruning one at a time


class PinnedFileGone(AlmacleanError):
    """A stored file a run picked was removed before the run could hold it or finish."""


def gone_error(label: str, missing: Iterable[int]) -> PinnedFileGone:
    ids = ", ".join(f"#{i}" for i in sorted(missing))
    return PinnedFileGone(f"{label}: stored file {ids}, which this run analyses, is no longer in the database "
                          "(removed by `almaclean db prune` meanwhile?): nothing was published; run the command again")


def lock(conn: Connection) -> None:
    """Serialise with holding or pruning in another process (SQLite: the write transaction already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})


@dataclass
class Lease:
    engine: Engine
    label: str
    id: int
    held: set[int] = field(default_factory=set)

    def hold(self, ids: Iterable[int]) -> None:
        """Hold these stored files too; PinnedFileGone when one is already gone."""
        wanted = {int(i) for i in ids}
        if wanted <= self.held:
            return
        with write_transaction(self.engine) as conn:
            lock(conn)
            _refuse_missing(conn, self.label, wanted)
            # Several holders of one lease (a nightly run's institutions, each its own task and
            # engine) add to what the lease holds, never replace it.
            stored = conn.execute(text("SELECT source_file_ids FROM run_leases WHERE id = :id"),
                                  {"id": self.id}).scalar()
            self.held |= wanted | {int(i) for i in json.loads(stored or "[]")}
            conn.execute(text("UPDATE run_leases SET source_file_ids = :ids WHERE id = :id"),
                         {"ids": json.dumps(sorted(self.held)), "id": self.id})


    def check(self) -> None:
        """PinnedFileGone when a held file is no longer stored (removed by hand, or after its lease
        lapsed): the run must not publish a bundle without it."""
        if self.held:
            with self.engine.connect() as conn:
                _refuse_missing(conn, self.label, self.held)


def _refuse_missing(conn: Connection, label: str, wanted: set[int]) -> None:
    present = {int(i) for i in conn.execute(
        text("SELECT id FROM source_files WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
        {"ids": sorted(wanted)}).scalars()}
    if wanted - present:
        raise gone_error(label, wanted - present)


@contextmanager
def run_lease(engine: Engine, label: str) -> Iterator[Lease]:
    """A lease for the length of the block, released when it ends (whatever happened)."""
    with write_transaction(engine) as conn:
        lease_id = conn.execute(
            text("INSERT INTO run_leases (label, host, pid, started_at, source_file_ids) "
                 "VALUES (:l, :h, :p, :t, '[]') RETURNING id"),
            {"l": label, "h": process.host(), "p": os.getpid(),
             "t": datetime.now(timezone.utc).isoformat(timespec="seconds")}).scalar_one()
    lease = Lease(engine, label, int(lease_id))
    try:
        yield lease
    finally:
        try:
            with write_transaction(engine) as conn:
                conn.execute(text("DELETE FROM run_leases WHERE id = :id"), {"id": lease.id})
        except Exception:  # the run's own outcome matters more; prune lets a dead run's lease lapse
            log.warning("could not release the lease of %s (a later prune removes it)", label, exc_info=True)


def leased_files(conn: Connection, *, now: datetime | None = None) -> set[int]:
    """Inside prune's write transaction (after lock): the files live leases hold; the leases of
    runs that are gone are removed (and said)."""
    now = now or datetime.now(timezone.utc)
    held: set[int] = set()
    here = process.host()
    for row in conn.execute(text("SELECT id, label, host, pid, started_at, source_file_ids FROM run_leases")).all():
        started = datetime.fromisoformat(row.started_at)
        dead = (row.host == here and not process.alive(int(row.pid))) or now - started > LEASE_MAX_AGE
        if dead:
            conn.execute(text("DELETE FROM run_leases WHERE id = :id"), {"id": row.id})
            log.info("lease of %s (process %s on %s, %s) lapsed: its run is gone", row.label, row.pid, row.host,
                     row.started_at)
        else:
            held |= {int(i) for i in json.loads(row.source_file_ids)}
    return held

