"""Re-sync an e-collection from its Extended Export (CARLI's re-sync guide).

audit.py      categories by column name, not-checked categories, the decision
polines.py    PO_LINE cells against a PO line export
loader.py     the guide's edits as data, applied with a change log line per change
decisions.py  the review workbook's decision cells -> edits (refuses bad input)
plan.py       one collection start to finish (pure)
report.py     plain-words explanation, next steps, audit.json, review and summary sheets
inputs.py / outputs.py   the file adapters used by flows/resync.py
"""
