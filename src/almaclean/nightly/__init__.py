"""Nightly P2E detection (docs/nightly.md).

Each institution's inbox folder receives its scheduled Alma exports; a nightly run ingests
what is new, re-runs the P2E analysis (almaclean.p2e) and reports what changed since the
institution's previous succeeded run.
- inbox: which files, of which kind, in which order
- changes: findings of a P2E result and the run-over-run diff (pure, polars)
- history: run rows, findings and changes in the database (sql/nightly_*.sql)
- report: changes.csv, report.md, summary.md / summary.json, artifact text
The flow is flows/nightly.py: `nightly_flow(inbox, *, institutions=None, out=..., db_url=None)`.
"""
