"""What Alma's data means, in one place every rule reads.

- ``portfolio``: each column of a portfolio export (kinds.aliases["portfolios"]) as global (comes
  back from the Community Zone), local (the library's own, lost when the portfolio is deleted)
  or system (IDs, flags, dates), and how a column no alias recognises is judged by its name and
  content.
- ``identifiers``: what an ISSN or ISBN is on a given record (the ISBN of a work, the ISSN of a
  serial, the series ISSN of a monograph) and so which shared identifier is evidence of the same
  resource.

Other kinds of file (the Extended Export) get a module of their own beside these.
"""
