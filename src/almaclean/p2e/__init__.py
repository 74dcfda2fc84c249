"""P2E clean-up: which portfolios came from P2E, which duplicate a CZ keeper, which
PO lines must be relinked first, and how the rest group into local collections.

Pure functions over canonical frames (kinds contract):
- classify: P2E portfolios, keepers, standalone portfolios not in the P2E file, unmatched lines
- match: identifier evidence, junk values, coverage verdicts, disagreeing keepers, decisions
- titles: title keys and the title-similarity tier (review only)
- relink: the POL guard and relink rows
- groups: local-collection groups by provider and URL host
- analyse: `analyse_p2e(portfolios, p2e_lines, po_lines) -> P2EResult`, everything at once
Writers (adapters over almaclean.write): sets (itemized set files), report (the run folder).
"""
