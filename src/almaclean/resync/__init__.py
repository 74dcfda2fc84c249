"""Re-sync an e-collection from its Extended Export (CARLI's re-sync guide).

audit.py      categories by exact guide column names, not-checked categories (any guide column
              absent), look-alike headers not recognised, the decision
polines.py    PO_LINE cells against a PO line export
loader.py     the guide's edits as data, applied with a change log line per change; check_logged
              refuses a loader that differs from its log
decisions.py  the review workbook's decision and "new value" cells -> edits (refuses bad input)
plan.py       one collection start to finish (pure); nothing to load without portfolios; the
              loader is a DRAFT until no reviewed row awaits a decision
report.py     plain-words explanation, next steps, audit.json, review and summary sheets
inputs.py / outputs.py   the file adapters used by flows/resync.py
"""
