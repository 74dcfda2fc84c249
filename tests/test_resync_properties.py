"""Properties of the re-sync audit over column sets and contents (hypothesis): a local column
with a local value never gives "Activate all" and lists its row; empty extra columns, whatever
their names and wherever they sit, never block it; a value in a column almaclean does not know is
never taken for nothing."""
from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_resync_evidence import clean_rows

from almaclean.model import extended_export as model
from almaclean.resync.audit import TOPIC_CATEGORY, UNKNOWN, audit_table
from almaclean.sample.extended import EXTENDED_EXPORT_HEADER, extended_export_frame

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOCAL = [c for c in model.COLUMNS if c.role == model.LOCAL]


def clean() -> tuple[list[str], pl.DataFrame]:
    rows = clean_rows()
    frame = extended_export_frame(pl.DataFrame(rows, schema={k: pl.String for r in rows for k in r}))
    return list(EXTENDED_EXPORT_HEADER), frame


def with_column(header: list[str], frame: pl.DataFrame, name: str, cells: list[str | None],
                at: int | None = None) -> tuple[list[str], pl.DataFrame]:
    """The export with one more column (name, cells) at position `at` (the end by default)."""
    at = len(header) if at is None else at
    columns = [frame[f"c{j}"] for j in range(len(header))]
    columns.insert(at, pl.Series(cells, dtype=pl.String))
    return header[:at] + [name] + header[at:], pl.DataFrame({f"c{j}": s for j, s in enumerate(columns)})


def set_cell(header: list[str], frame: pl.DataFrame, name: str, row: int, value: str | None):
    """Write a cell of the first column so named (appending the column when absent)."""
    if name not in header:
        return with_column(header, frame, name, [value if i == row else None for i in range(frame.height)])
    j = header.index(name)
    cells = frame[f"c{j}"].to_list()
    cells[row] = value
    return header, frame.with_columns(pl.Series(f"c{j}", cells, dtype=pl.String))


text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@SETTINGS
@given(column=st.sampled_from(LOCAL), value=text, row=st.integers(0, 5), twin=st.one_of(st.none(), text))
def test_any_local_column_with_a_local_value_never_gives_activate_all(column, value, row, twin):
    value = value + " local" if column.local_pattern else value
    assume(value.strip() and value.strip().lower() not in {v.lower() for v in column.neutral})
    assume(twin is None or twin.strip() != value.strip())
    header, frame = clean()
    header, frame = set_cell(header, frame, column.name, row, value)
    if column.twin:
        header, frame = set_cell(header, frame, column.twin, row, twin)
    audit = audit_table(header, frame)
    category = TOPIC_CATEGORY[column.topic]
    assert audit.decision == "manual_load"
    assert audit.flags[category][row] and audit.counts[category] >= 1


@SETTINGS
@given(names=st.lists(st.text(max_size=20), min_size=1, max_size=4),
       blanks=st.lists(st.sampled_from([None, "", " ", "\t", "\u00a0 "]), min_size=6, max_size=6),
       data=st.data())
def test_empty_extra_columns_never_block_activate_all(names, blanks, data):
    header, frame = clean()
    for name in names:
        at = data.draw(st.integers(0, len(header)))
        header, frame = with_column(header, frame, name, list(blanks), at)
    audit = audit_table(header, frame)
    assert audit.decision == "reactivate_all", (audit.not_checked, audit.counts)


@SETTINGS
@given(name=st.text(min_size=1, max_size=20), value=text, row=st.integers(0, 5))
def test_a_value_in_an_unknown_column_is_not_checked(name, value, row):
    assume(model.column(name) is None and value.strip())
    header, frame = clean()
    header, frame = with_column(header, frame, name, [value if i == row else None for i in range(6)])
    audit = audit_table(header, frame)
    assert audit.decision == "manual_load" and audit.flags[UNKNOWN][row]
    assert UNKNOWN in audit.not_checked


def test_the_clean_base_is_activate_all():
    header, frame = clean()
    assert audit_table(header, frame).decision == "reactivate_all"
