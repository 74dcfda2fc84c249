"""Every hostile input (make_hostile.CASES) read through read_kind: an InputError naming the file
(and the row / column to blame), or exactly the data the file holds. Never another exception."""
from __future__ import annotations

import pytest

from almaclean.errors import InputError
from almaclean.kinds import read_kind
from faults.make_hostile import CASES, GOOD, Accept, Case, Refuse

COLUMNS = {
    "portfolios": ("portfolio_id", "mms_id", "title"),
    "extended-export": ("portfolio_id", "mms_id", "title"),
    "p2e": ("legacy_id", "p2e_type", "title"),
    "po-lines": ("po_line", "status", "title"),
}


def test_the_suite_is_broad_and_names_are_unique():
    assert len(CASES) > 150
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input(tmp_path, case: Case):
    path = case.build(tmp_path)
    if isinstance(case.expect, Refuse):
        with pytest.raises(InputError) as caught:
            read_kind(case.kind, path)
        error, expect = caught.value, case.expect
        assert error.file == str(path), str(error)
        assert str(path) in str(error)
        if expect.row is not None:
            assert error.row == expect.row, str(error)
        if expect.column is not None:
            assert error.column == expect.column, str(error)
        if expect.match is not None:
            assert expect.match in str(error), str(error)
        return
    assert isinstance(case.expect, Accept)
    read = read_kind(case.kind, path)
    rows = read.canonical.select("row", *COLUMNS[case.kind]).rows()
    assert rows == (GOOD if case.expect.rows is None else case.expect.rows)
    if case.expect.encoding != "any":
        assert read.table.encoding == case.expect.encoding
