"""What a shared ISSN or ISBN proves, from the kind of resource each record is.

- A record is a *book* (a monograph: e-book, dissertation, proceedings...) or a *serial*
  (journal, newspaper...): by its material type (Alma's electronic material type), else by its
  identifiers (a record with an ISBN is a book, one with only ISSNs a serial).
- The ISBN of a book identifies the work (one ISBN per format of an edition: print and online
  ISBNs of one edition are one resource). The ISSN of a serial identifies the serial (print and
  online ISSNs are one resource). The ISSN on a book is the ISSN of the series it belongs to
  (Lecture Notes in Computer Science, 0302-9743): it identifies the series, not the book.
- So a shared identifier is evidence of the same resource only between two records of the same
  kind, and only when it is that kind's own identifier: ISBN between two books, ISSN between two
  serials. A book and a serial are never the same resource, and two books sharing only a series
  ISSN are two books.
"""
from __future__ import annotations

import polars as pl

BOOK, SERIAL = "book", "serial"
# Alma's electronic material types (folded), by kind; other types are told by their identifiers.
BOOK_TYPES = frozenset({
    "book", "books", "e-book", "ebook", "book chapter", "dissertation", "thesis", "conference proceeding",
    "conference proceedings", "government document", "report", "standard", "score", "map",
})
SERIAL_TYPES = frozenset({
    "journal", "journals", "e-journal", "ejournal", "newspaper", "newspapers", "periodical", "serial",
    "magazine", "newsletter", "yearbook", "annual", "continuing",
})
# The identifier type that identifies a resource of each kind.
OWN_IDENTIFIER = {BOOK: "isbn", SERIAL: "issn"}


def material_kind(material_type: pl.Expr, has_isbn: pl.Expr) -> pl.Expr:
    """BOOK or SERIAL: the material type when it says, else BOOK when the record has an ISBN."""
    folded = material_type.str.strip_chars().str.to_lowercase()
    return (
        pl.when(folded.is_in(list(BOOK_TYPES))).then(pl.lit(BOOK))
        .when(folded.is_in(list(SERIAL_TYPES))).then(pl.lit(SERIAL))
        .when(has_isbn.fill_null(False)).then(pl.lit(BOOK))
        .otherwise(pl.lit(SERIAL))
    )


def proves_identity(id_type: pl.Expr, kind: pl.Expr, other_kind: pl.Expr) -> pl.Expr:
    """Whether a value of `id_type` shared by records of kinds `kind` and `other_kind` is evidence of
    one resource: the same kind, and that kind's own identifier."""
    return (kind == other_kind) & (
        ((kind == BOOK) & (id_type == "isbn")) | ((kind == SERIAL) & (id_type == "issn"))
    )
