"""The writers: run folders, atomic files, text-only deterministic xlsx, CSV."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from almaclean.errors import AlmacleanError, InputError
from almaclean.write import Sheet, atomic_path, new_run_folder, write_csv, write_workbook
from almaclean.write.csvfile import write_csv_for_people, write_id_set

HOSTILE = ["=1+2", "+33 1 44 27 00 00", "-5", "@user", "0012", "http://example.org/a?b=1", "53496697910003681",
           "9.97704E+15", "Œuvres complètes – Tome I", "TRUE"]


def _read_xlsx(path: Path, sheet: int | str = 0) -> pl.DataFrame:
    return fastexcel.read_excel(str(path)).load_sheet(sheet, header_row=None, dtypes="string").to_polars()


def _sheet_xml(path: Path, n: int = 1) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{n}.xml").decode("utf-8")


def test_new_run_folder_never_reuses_and_sanitises(tmp_path):
    a = new_run_folder(tmp_path, "p2e / JSTOR: run*1")
    b = new_run_folder(tmp_path, "p2e / JSTOR: run*1")
    assert a != b and a.is_dir() and b.is_dir()
    assert re.fullmatch(r"p2e-JSTOR-run-1-\d{8}-\d{6}(-\d+)?", a.name)
    assert a.parent == tmp_path


def test_staging_folder_is_hidden_until_published_and_never_lands_on_a_taken_name(tmp_path):
    from datetime import datetime

    from almaclean.write.atomic import discard_staging_folder, new_staging_folder, publish_run_folder

    now = datetime(2026, 11, 23, 15, 4, 5)
    staging = new_staging_folder(tmp_path, "p2e-Érudit", now=now)
    assert staging.name == ".p2e-Erudit-20261123-150405.partial"
    (staging / "review.csv").write_text("portfolio_id\n", encoding="utf-8")
    taken = tmp_path / "p2e-Erudit-20261123-150405"
    taken.mkdir()
    (taken / "mine.txt").write_text("a user's file", encoding="utf-8")

    final = publish_run_folder(staging)
    assert final.name == "p2e-Erudit-20261123-150405-2" and not staging.exists()
    assert (final / "review.csv").is_file() and (taken / "mine.txt").read_text(encoding="utf-8") == "a user's file"

    failed = new_staging_folder(tmp_path, "p2e-Erudit", now=now)
    (failed / "deletion_candidates.csv").write_text("x", encoding="utf-8")
    discard_staging_folder(failed)
    discard_staging_folder(final)  # only ever a staging folder is removed
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name, final.name]


def test_atomic_path_publishes_on_success_and_cleans_on_error(tmp_path):
    final = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as temp:
            temp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(final) as temp:
        assert temp.parent == tmp_path and temp != final
        temp.write_text("done")
    assert final.read_text() == "done"
    assert list(tmp_path.iterdir()) == [final]


def test_atomic_path_refuses_to_overwrite(tmp_path):
    final = tmp_path / "user.xlsx"
    final.write_text("user data")
    with pytest.raises(AlmacleanError, match="already exists"):
        with atomic_path(final) as temp:
            temp.write_text("new")
    assert final.read_text() == "user data"
    # Appearing while the work runs is refused too, and the temp file does not remain.
    other = tmp_path / "late.csv"
    with pytest.raises(AlmacleanError):
        with atomic_path(other) as temp:
            temp.write_text("ours")
            other.write_text("theirs")
    assert other.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv", "user.xlsx"]


def test_xlsx_cells_stay_literal_text_and_nulls_empty(tmp_path):
    header = ["Portfolio Id", "ISSN", "ISSN", "Note"]
    frame = pl.DataFrame({
        "c0": ["53496697910003681", "53496697920003681"] * 5,
        "c1": HOSTILE,
        "c2": [None, ""] * 5,
        "c3": list(reversed(HOSTILE)),
    })
    path = write_workbook(tmp_path / "t.xlsx", [Sheet("Review", header, frame)])
    back = _read_xlsx(path)
    assert back.row(0) == tuple(header)  # duplicate header names kept exactly
    assert back.to_series(1).to_list()[1:] == HOSTILE
    assert back.to_series(3).to_list()[1:] == list(reversed(HOSTILE))
    assert back.to_series(0).to_list()[1:] == frame["c0"].to_list()
    assert back.to_series(2).null_count() == 10
    xml = _sheet_xml(path)
    assert "<f>" not in xml and 't="n"' not in xml  # no formula, no number cell
    assert "<c r=\"C2\"" not in xml  # null -> nothing written


def test_xlsx_is_byte_identical_for_same_input(tmp_path):
    frame = pl.DataFrame({"c0": HOSTILE, "c1": [str(i) for i in range(10)]})
    sheets = [Sheet("A", ["x", "y"], frame, highlight={(1, 1)}, validations={1: ["keep", "delete", "review"]})]
    a = write_workbook(tmp_path / "a.xlsx", sheets)
    b = write_workbook(tmp_path / "b.xlsx", sheets)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert "2000-01-01T00:00:00Z" in z.read("docProps/core.xml").decode()


def test_xlsx_sheet_options(tmp_path):
    frame = pl.DataFrame({"c0": ["a", "b", "c"], "c1": ["x" * 200, "y", None]})
    sheet = Sheet("Dups", ["Portfolio Id", "decision"], frame, highlight={(2, 0)}, validations={1: ["keep", "delete"]})
    path = write_workbook(tmp_path / "o.xlsx", [sheet, Sheet("Empty", ["only header"], pl.DataFrame({"c0": []}, schema={"c0": pl.String}))])
    xml = _sheet_xml(path)
    assert '<pane ySplit="1"' in xml and 'state="frozen"' in xml
    assert '<autoFilter ref="A1:B4"/>' in xml
    assert '<dataValidation type="list"' in xml and '"keep,delete"' in xml
    widths = [float(w) for w in re.findall(r'width="([\d.]+)"', xml)]
    assert widths[0] >= len("Portfolio Id") and widths[1] <= 61  # readable, capped
    highlighted = re.search(r'<c r="A4" s="(\d+)"', xml)
    plain = re.search(r'<c r="A3"( s="\d+")?', xml)
    assert highlighted and plain and plain.group(1) is None
    assert re.search(r'<c r="A1" s="\d+"', xml)  # bold header style
    assert _read_xlsx(path, "Empty").row(0) == ("only header",)


def test_xlsx_refuses_too_long_text_naming_the_cell(tmp_path):
    frame = pl.DataFrame({"c0": ["ok", "ok"], "c1": ["fine", "z" * 32_768]})
    with pytest.raises(AlmacleanError, match=r"sheet 'S', row 3, column 'Notes'"):
        write_workbook(tmp_path / "long.xlsx", [Sheet("S", ["Id", "Notes"], frame)])
    assert not any(tmp_path.iterdir())


def test_xlsx_rejects_bad_sheets(tmp_path):
    frame = pl.DataFrame({"c0": ["a"]})
    with pytest.raises(AlmacleanError, match="header"):
        write_workbook(tmp_path / "x.xlsx", [Sheet("S", ["a", "b"], frame)])
    with pytest.raises(AlmacleanError, match="sheet name"):
        write_workbook(tmp_path / "x.xlsx", [Sheet("a/b", ["a"], frame)])
    with pytest.raises(AlmacleanError, match="duplicate"):
        write_workbook(tmp_path / "x.xlsx", [Sheet("S", ["a"], frame), Sheet("s", ["a"], frame)])


def test_xlsx_numbers_only_when_asked(tmp_path):
    frame = pl.DataFrame({"c0": ["dups", "relinks"], "c1": [12, 3]})
    text = write_workbook(tmp_path / "t.xlsx", [Sheet("S", ["what", "count"], frame)])
    nums = write_workbook(tmp_path / "n.xlsx", [Sheet("S", ["what", "count"], frame, text_only=False)])
    assert 't="n"' not in _sheet_xml(text)
    assert re.search(r'<c r="B2"[^>]*><v>12</v>', _sheet_xml(nums))


def test_csv_utf8_quoting_exact_header(tmp_path):
    frame = pl.DataFrame({"a": ["53496697910003681", "x, y", 'say "hi"', None], "b": ["Œuvres", "=1+2", "0012", "l1\nl2"]})
    path = write_csv(tmp_path / "o.csv", frame, header=["ISSN", "ISSN"])
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8") == (
        "ISSN,ISSN\n53496697910003681,Œuvres\n\"x, y\",=1+2\n\"say \"\"hi\"\"\",0012\n,\"l1\nl2\"\n"
    )
    with pytest.raises(AlmacleanError):
        write_csv(path, frame)
    plain = write_csv(tmp_path / "p.csv", frame)
    assert plain.read_text(encoding="utf-8").splitlines()[0] == "a,b"


def test_unique_folder_names_are_safe_and_distinct_ignoring_case():
    from almaclean.write.atomic import unique_folder_names

    assert unique_folder_names(["JSTOR Arts & Sciences I", "jstor arts & sciences i", "Érudit", "EDU01"]) == [
        "JSTOR-Arts-Sciences-I", "jstor-arts-sciences-i-2", "Erudit", "EDU01"]


# --- CSV for people and set files for Alma ---------------------------------------------------

def test_csv_for_people_has_a_bom_and_no_cell_a_spreadsheet_would_run(tmp_path):
    hostile = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x.example","click")', "+33 1", "-5", "@SUM(A1)",
               "\tTab", "\rCR", "＝1+1", "Plain – title", "53496697910003681", None]
    frame = pl.DataFrame({"title": hostile, "count": list(range(len(hostile)))})
    path = write_csv_for_people(tmp_path / "deletion_candidates.csv", frame, header=["=Title", "Count"])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(raw[3:], infer_schema=False)
    assert back.columns == ["'=Title", "Count"]
    assert back.get_column("'=Title").to_list() == [
        "'=cmd|' /C calc'!A0", "'=HYPERLINK(\"http://x.example\",\"click\")", "'+33 1", "'-5", "'@SUM(A1)",
        "'\tTab", "'\rCR", "'＝1+1", "Plain – title", "53496697910003681", None]
    assert back.get_column("Count").to_list() == [str(n) for n in range(len(hostile))]


def test_plain_data_csv_keeps_every_cell_exactly(tmp_path):
    frame = pl.DataFrame({"a": ["=1+2", "-5", "@x"]})
    assert write_csv(tmp_path / "data.csv", frame).read_text(encoding="utf-8") == "a\n=1+2\n-5\n@x\n"


def test_set_file_for_alma_is_header_and_validated_ids_without_bom(tmp_path):
    ids = ["53496697910003681", "53496697920003681"]
    path = write_id_set(tmp_path / "set_1.csv", pl.Series(ids), header="Portfolio Id")
    assert path.read_bytes() == b"Portfolio Id\n53496697910003681\n53496697920003681\n"


@pytest.mark.parametrize(("value", "complaint"), [("=1+2", "characters other than digits"), (None, "empty"),
                                                  ("0053496697910003681", "starts with 0"),
                                                  ("5" * 25, "25 digits")])
def test_set_file_refuses_what_is_not_an_alma_id_and_writes_nothing(tmp_path, value, complaint):
    with pytest.raises(AlmacleanError, match=complaint) as caught:
        write_id_set(tmp_path / "set_1.csv", ["53496697910003681", value], header="Portfolio Id")
    assert "line 3" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("header", ["", " Portfolio Id", "Portfolio Id\n123", "PID,MMS", 'a"b', "x" * 101])
def test_set_header_must_be_one_plain_line(tmp_path, header):
    with pytest.raises(InputError, match="set header"):
        write_id_set(tmp_path / "set_1.csv", ["53496697910003681"], header=header)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_writing_leaves_nothing_and_says_so(tmp_path):
    import errno

    final = tmp_path / "report.csv"
    with pytest.raises(AlmacleanError, match="no space left") as caught:
        with atomic_path(final) as temp:
            temp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not isinstance(caught.value, InputError)
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_written_is_refused_as_input(tmp_path, monkeypatch):
    import errno
    import os as os_module

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os_module, "open", read_only)
    with pytest.raises(InputError, match="cannot write in this folder") as caught:
        with atomic_path(tmp_path / "report.csv"):
            pass
    assert caught.value.file == str(tmp_path)
