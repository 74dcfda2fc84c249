"""The data model the rules share: for every column of a kind of export, whether it is global
(comes back from the Community Zone), local (the institution's own, lost with a deleted
collection) or system (IDs, names, dates: nothing to lose), with the source that says so.

columns.py           the roles, the Column record and `header_key` (how a header cell is compared
                     with a model's names: after Unicode normalisation)
extended_export.py   the Extended Export's columns (one e-collection's portfolios)

Pure data and small functions: imports nothing else of almaclean, so any layer may read it.
"""
from almaclean.model.columns import GLOBAL, LOCAL, SYSTEM, Column, header_key

__all__ = ["GLOBAL", "LOCAL", "SYSTEM", "Column", "header_key"]
