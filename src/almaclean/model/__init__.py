"""What Alma's data means, in one place every rule reads: for every column of a kind of export,
whether it is global (comes back from the Community Zone), local (the institution's own, lost
when the portfolio or collection is deleted) or system (IDs, names, flags, dates: nothing to
lose), with the source that says so; and what each identifier is on a given record.

columns.py           the roles, the Column record and `header_key` (how a header cell is compared
                     with a model's names: after Unicode normalisation)
extended_export.py   the Extended Export's columns (one e-collection's portfolios)
portfolio.py         the portfolio export's columns (kinds.aliases["portfolios"]), and how a column
                     no alias recognises is judged by its name and content
identifiers.py       what an ISSN or ISBN is on a record (the ISBN of a work, the ISSN of a serial,
                     the series ISSN of a monograph), so which shared identifier is evidence of the
                     same resource

Pure data and small functions: imports nothing else of almaclean, so any layer may read it.
"""
from almaclean.model.columns import GLOBAL, LOCAL, SYSTEM, Column, header_key

__all__ = ["GLOBAL", "LOCAL", "SYSTEM", "Column", "header_key"]
