"""Errors say where: file, row as Excel shows it, column; and keep that across processes."""
from __future__ import annotations

import pickle

from almaclean.errors import InputError


def test_message_names_file_row_and_column():
    error = InputError("an ID stored as a number lost its last digits", file="JSTOR+Arts_portfolios.xlsx",
                       row=1204, column="PORTFOLIO_PID")
    assert str(error) == ("JSTOR+Arts_portfolios.xlsx: row 1204, column 'PORTFOLIO_PID': "
                          "an ID stored as a number lost its last digits")
    assert str(InputError("empty file", file="p2e.txt")) == "p2e.txt: empty file"


def test_survives_pickling_with_its_place():
    error = pickle.loads(pickle.dumps(InputError("bad type", file="p2e.txt", row=7, column="B")))
    assert (error.file, error.row, error.column, error.exit_code) == ("p2e.txt", 7, "B", 2)
    assert str(error) == "p2e.txt: row 7, column 'B': bad type"
