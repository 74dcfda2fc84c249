"""Re-sync an e-collection from its Extended Export (CARLI's re-sync guide).

audit.py      every column by what it means (almaclean.model.extended_export): local values per
              category, global twins compared, unknown columns by content, "not checked"
              when a column real exports carry is absent, the decision
pending.py    INACTIVE rows with a pending order, activation, trial or programme: no default
reload.py     rows the loader could not match after the deletion; LOCALIZED N rows duplicating a
              CZ-linked row of the export
polines.py    PO_LINE cells against a PO line export
values.py     what a corrected value must look like (years, months, dates, URLs, identifiers...)
loader.py     the guide's edits as data, applied with a change log line per change; check_logged
              refuses a loader that differs from its log
decisions.py  the review workbook's decision and "new value" cells -> edits (refuses bad input;
              a blank decision cell is no decision)
plan.py       one collection start to finish (pure): the review's rows and proposals, what awaits
              a decision; the loader is a DRAFT until a review is applied and nothing awaits
report.py     plain-words explanation, next steps, audit.json, review and summary sheets
inputs.py / outputs.py   the file adapters used by services/resync.py
"""
