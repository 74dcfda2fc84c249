"""The text reader's rules, across generated files (hypothesis):
- every record comes back with its row number, whatever empty lines, line ends and quoted line
  breaks surround it (empty lines are left out of the frame, their row numbers kept);
- a record with fewer fields than the first is refused at its row, naming the first column left
  without a value;
- a control character anywhere is refused at its row and column;
- white space ending every line never decides the separator."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from almaclean.errors import InputError
from almaclean.read.detect import sniff_separator
from almaclean.read.table import excel_letter, read_table

CELLS = st.text(alphabet=st.sampled_from(["a", "é", "1", ",", ";", '"', " ", "\n", "x"]), max_size=5)
CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]   # what no XML text holds
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def tables(draw):
    width = draw(st.integers(1, 4))
    header = [f"H{j}" for j in range(width)]
    rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), min_size=1, max_size=6))
    blanks = draw(st.lists(st.integers(0, 3), min_size=len(rows) + 1, max_size=len(rows) + 1))
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    return header, rows, blanks, newline


def field(value: str) -> str:
    if value == "" or any(c in value for c in ',";\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write(rows: list[list[str]], blanks: list[int], newline: str, header: list[str]) -> tuple[bytes, list[int]]:
    """The CSV text (empty lines blanks[i] before data row i, blanks[-1] at the end) and the
    row number of each data row (records counted as Excel does: an empty line is one)."""
    out = [",".join(header) + newline]
    record, numbers = 1, []
    for row, before in zip(rows, blanks):
        out.append(newline * before)
        record += before + 1
        numbers.append(record)
        out.append(",".join(field(v) for v in row) + newline)
    out.append(newline * blanks[-1])
    return "".join(out).encode("utf-8"), numbers


def read_back(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        table = read_table(path)
    return table


def content(table) -> list[tuple[int, tuple]]:
    """(row, cells) of the frame rows holding a value."""
    return [(table.excel_row(i), row) for i, row in enumerate(table.frame.rows()) if any(v is not None for v in row)]


@pytest.fixture(params=["dense", "empty_lines_left_out"])
def reader(request, monkeypatch):
    """Both ways of reading empty lines: kept as null rows (few), or left out before parsing
    (read.table.BLANK_LINE_BUDGET set to 0 here, as a file of millions of them gets)."""
    import almaclean.read.table as table

    if request.param == "empty_lines_left_out":
        monkeypatch.setattr(table, "BLANK_LINE_BUDGET", -10**12)
    return request.param


@SETTINGS
@given(drawn=tables())
def test_every_record_comes_back_with_its_row_number_whatever_the_empty_lines(reader, drawn):
    header, rows, blanks, newline = drawn
    data, numbers = write(rows, blanks, newline, header)
    table = read_back(data)
    expected = [(n, tuple(v or None for v in row)) for n, row in zip(numbers, rows) if any(row)]
    assert table.header == tuple(header)
    assert content(table) == expected


@SETTINGS
@given(drawn=tables(), data=st.data())
def test_a_record_with_fewer_fields_than_the_first_is_refused_at_its_row(reader, drawn, data):
    header, rows, blanks, newline = drawn
    width = len(header)
    if width < 2:
        return
    victim = data.draw(st.integers(0, len(rows) - 1))
    keep = data.draw(st.integers(1, width - 1))
    rows = [row[:keep] if i == victim else row for i, row in enumerate(rows)]
    text, numbers = write(rows, blanks, newline, header)
    with pytest.raises(InputError) as caught:
        read_back(text)
    assert (caught.value.row, caught.value.column) == (numbers[victim], excel_letter(keep))
    assert f"{keep} field" in caught.value.message


@SETTINGS
@given(drawn=tables(), data=st.data())
def test_a_control_character_is_refused_at_its_row_and_column(reader, drawn, data):
    header, rows, blanks, newline = drawn
    victim = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.integers(0, len(header) - 1))
    control = data.draw(st.sampled_from(CONTROLS))
    rows = [list(row) for row in rows]
    rows[victim][column] += control
    text, numbers = write(rows, blanks, newline, header)
    with pytest.raises(InputError) as caught:
        read_back(text)
    if "cannot decode the text as utf-16" in caught.value.message:
        return  # a tiny file of NULs looks like UTF-16 text: refused all the same
    assert "control character" in caught.value.message
    assert (caught.value.row, caught.value.column) == (numbers[victim], excel_letter(column))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z]([A-Za-z ]{0,6}[A-Za-z])?", fullmatch=True), min_size=1, max_size=5),
       st.sampled_from([",", ";", "\t"]), st.text(alphabet=" \t", max_size=4))
def test_white_space_ending_the_line_never_decides_the_separator(cells, separator, ending):
    assert sniff_separator(separator.join(cells) + ending) == (separator if len(cells) > 1 else ",")


@pytest.mark.parametrize("stray_quote", [False, True], ids=["fast_reader", "slow_reader"])
def test_a_million_empty_lines_cost_no_memory_and_keep_the_row_numbers(tmp_path, stray_quote):
    """Empty lines that would cost memory are left out before the frame is built (both readers):
    a 20-column export with one and a half million of them (24 bytes each as frame rows, 480 MB)
    reads as its two rows, each with its row number."""
    title = 'say "hi" now' if stray_quote else "Revue"
    header = "Portfolio Id,MMS Id,Title," + ",".join(f"Extra {n}" for n in range(17))
    path = tmp_path / "blank.csv"
    path.write_bytes((header + "\n53496697910003681,9977047322103681,T" + "," * 17 + "\n" + "\n" * 1_000_000
                      + f"53496697920003681,9977047322103681,{title}" + "," * 17 + "\n" + "\r\n" * 500_000).encode())
    table = read_table(path)
    assert table.frame.height == 2 and table.frame.estimated_size() < 10_000
    assert [table.excel_row(i) for i in range(2)] == [2, 1_000_003]
    assert table.frame.row(1)[2] == title
    assert table.row_span == 1_000_002
