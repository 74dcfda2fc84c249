"""Hostile input files for the readers, generated (never committed as blobs).

Each Case builds one file in a folder and says what a reader must do with it: refuse it with
an InputError naming the file (and the row / column where one is to blame), or read it with
exactly the data it holds. Run as a script to write every file into a folder for manual use:

    python tests/faults/make_hostile.py /tmp/hostile
"""
from __future__ import annotations

import codecs
import os
import random
import socket
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults.xlsx_parts import Book, SheetXml, cell_ref, rows_xml, write_book  # noqa: E402

PID = ["53496697910003681", "53496697920003681", "53496697930003681"]


def pid(n: int) -> str:
    """The n-th of many distinct 17-digit portfolio ids (a portfolio export never repeats one)."""
    return f"5349670{n:06d}3681"
MMS = ["9977047322103681", "9977047322203681", "9977047322303681"]
TITLES = ["Études littéraires", "Revue d'histoire de l'Amérique française", "Zeitschrift für Ästhetik"]
HEADER = ["Portfolio Id", "MMS Id", "Title"]
GOOD_ROWS = [[p, m, t] for p, m, t in zip(PID, MMS, TITLES)]


@dataclass(frozen=True)
class Refuse:
    """InputError naming the file; row / column when given; `match` a part of the message."""
    row: int | None = None
    column: str | None = None
    match: str | None = None


@dataclass(frozen=True)
class Accept:
    """Read as these canonical rows: (row, portfolio_id, mms_id, title); None: the good rows."""
    rows: list[tuple[int, str | None, str | None, str | None]] | None = None
    encoding: str | None = "any"


GOOD = [(n + 2, p, m, t) for n, (p, m, t) in enumerate(GOOD_ROWS)]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    expect: Refuse | Accept
    kind: str = "portfolios"


def text(rows: list[list[str]], *, sep: str = ",", nl: str = "\r\n", quote_all: bool = False) -> str:
    def field(value: str) -> str:
        if quote_all or any(c in value for c in (sep, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value
    return "".join(sep.join(field(v) for v in row) + nl for row in rows)


def good_text(**kwargs) -> str:
    return text([HEADER, *GOOD_ROWS], **kwargs)


def raw(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path
    return build


def book(name: str, make: Callable[[], Book]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        return write_book(folder / name, make())
    return build


def sheet(rows: list[list[object]], **kwargs) -> Book:
    return Book([SheetXml("Results", rows_xml(rows, **kwargs))])


def shared_book(rows: list[list[object]]) -> Book:
    strings: list[str] = []
    body = rows_xml(rows, shared=strings)
    return Book([SheetXml("Results", body)], shared=strings)


def id_cell_book(cell: str) -> Book:
    """Header in row 1; row 2 has `cell` (at A2) as the portfolio ID and a good MMS ID."""
    body = ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Portfolio Id</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>MMS Id</t></is></c></row>'
            f'<row r="2">{cell}<c r="B2" t="inlineStr"><is><t>{MMS[0]}</t></is></c></row></sheetData>')
    return Book([SheetXml("Results", body)])


def title_cell_book(cell: str, *, styles: tuple[dict[int, str], list[int]] | None = None,
                    calc_pr: str | None = None, header: list[str] = HEADER) -> Book:
    """The header in row 1; row 2 a good portfolio and MMS ID and `cell` (at C2) as its title."""
    head = "".join(f'<c r="{cell_ref(1, j + 1)}" t="inlineStr"><is><t>{h}</t></is></c>' for j, h in enumerate(header))
    body = (f'<sheetData><row r="1">{head}</row><row r="2"><c r="A2" t="inlineStr"><is><t>{PID[0]}</t></is></c>'
            f'<c r="B2" t="inlineStr"><is><t>{MMS[0]}</t></is></c>{cell}</row></sheetData>')
    return Book([SheetXml("Results", body)], styles=styles, calc_pr=calc_pr)


def legacy_number_book(value: str, code: str) -> Book:
    """A P2E report: Legacy ID stored as a number shown through `code`, Type, Title."""
    body = ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Legacy ID</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>Type</t></is></c><c r="C1" t="inlineStr"><is><t>Title</t></is></c></row>'
            f'<row r="2"><c r="A2" s="1"><v>{value}</v></c><c r="B2" t="inlineStr"><is><t>portfolio</t></is></c>'
            '<c r="C2" t="inlineStr"><is><t>T</t></is></c></row></sheetData>')
    return Book([SheetXml("P2E", body)], styles=({164: code}, [0, 164]))


def good_rows_with(extra_row_xml: str) -> Book:
    """The good rows, with `extra_row_xml` put right before </sheetData>."""
    return Book([SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS]).replace("</sheetData>", extra_row_xml + "</sheetData>"))])


def id_cell_book_styled(cell: str, styles: tuple[dict[int, str], list[int]]) -> Book:
    made = id_cell_book(cell)
    made.styles = styles
    return made


def zip_edit(name: str, make: Callable[[], Book], edit: Callable[[dict[str, bytes]], dict[str, bytes]],
             *, compression: int = zipfile.ZIP_DEFLATED) -> Callable[[Path], Path]:
    """An xlsx built from `make`, its parts then changed by `edit` and zipped again."""
    def build(folder: Path) -> Path:
        path = write_book(folder / name, make())
        with zipfile.ZipFile(path) as archive:
            parts = {n: archive.read(n) for n in archive.namelist()}
        parts = edit(parts)
        with zipfile.ZipFile(path, "w", compression) as archive:
            for member, data in parts.items():
                archive.writestr(member, data)
        return path
    return build


def zeros_bomb(folder: Path) -> Path:
    """A valid workbook plus a 300 MB part of zeros (a few hundred KB zipped)."""
    path = write_book(folder / "bomb.xlsx", sheet([HEADER, *GOOD_ROWS]))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/media/zeros.bin", "w", force_zip64=True) as handle:
            block = bytes(1 << 20)
            for _ in range(300):
                handle.write(block)
    return path


def lying_size(folder: Path) -> Path:
    """A sheet whose zip header says 100 bytes while it inflates to far more."""
    path = write_book(folder / "liar.xlsx", sheet([HEADER, *GOOD_ROWS] + [[PID[0], MMS[0], "x" * 50]] * 2000))
    data = bytearray(path.read_bytes())
    member = b"xl/worksheets/sheet1.xml"
    for at in _all(data, member):
        # local header: sizes at name-30+22 (uncompressed); central: at name-46+24
        if data[at - 30: at - 26] == b"PK\x03\x04":
            data[at - 8: at - 4] = (100).to_bytes(4, "little")
        elif data[at - 46: at - 42] == b"PK\x01\x02":
            data[at - 22: at - 18] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def _all(data: bytearray, needle: bytes) -> list[int]:
    found, start = [], 0
    while (at := data.find(needle, start)) >= 0:
        found.append(at)
        start = at + 1
    return found


def truncated(folder: Path) -> Path:
    path = write_book(folder / "cut.xlsx", sheet([HEADER, *GOOD_ROWS]))
    path.write_bytes(path.read_bytes()[:-200])
    return path


def duplicate_member(folder: Path) -> Path:
    path = write_book(folder / "twice.xlsx", sheet([HEADER, *GOOD_ROWS]))
    with zipfile.ZipFile(path, "a") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": the point of this file
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet/>")
    return path


def encrypted_flag(folder: Path) -> Path:
    path = write_book(folder / "locked.xlsx", sheet([HEADER, *GOOD_ROWS]))
    data = bytearray(path.read_bytes())
    for at in _all(data, b"PK\x03\x04"):
        data[at + 6] |= 1
    for at in _all(data, b"PK\x01\x02"):
        data[at + 8] |= 1
    path.write_bytes(bytes(data))
    return path


def fifo(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


def unix_socket(folder: Path) -> Path:
    path = folder / "sock.csv"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def symlink_loop(folder: Path) -> Path:
    (folder / "a.csv").symlink_to(folder / "b.csv")
    (folder / "b.csv").symlink_to(folder / "a.csv")
    return folder / "a.csv"


def dangling(folder: Path) -> Path:
    (folder / "gone.csv").symlink_to(folder / "nowhere.csv")
    return folder / "gone.csv"


def good_symlink(folder: Path) -> Path:
    (folder / "real.csv").write_text(good_text(), encoding="utf-8")
    (folder / "link.csv").symlink_to(folder / "real.csv")
    return folder / "link.csv"


def folder_itself(folder: Path) -> Path:
    (folder / "sub.csv").mkdir()
    return folder / "sub.csv"


def random_bytes(seed: int, size: int) -> Callable[[], bytes]:
    return lambda: random.Random(seed).randbytes(size)


def replace_in(member: str, old: bytes, new: bytes) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    def edit(parts: dict[str, bytes]) -> dict[str, bytes]:
        parts[member] = parts[member].replace(old, new)
        return parts
    return edit


def drop(member: str) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    return lambda parts: {n: d for n, d in parts.items() if n != member}


SHEET = "xl/worksheets/sheet1.xml"
ACCENTED = [(2, PID[0], MMS[0], TITLES[0]), (3, PID[1], MMS[1], TITLES[1]), (4, PID[2], MMS[2], TITLES[2])]


def id_row(value: str, row: int = 3) -> Callable[[Path], Path]:
    rows = [HEADER, GOOD_ROWS[0], [value, MMS[1], "T"]]
    return raw(f"id_{row}.csv", text(rows).encode("utf-8"))


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    late_latin1 = (text([HEADER] + [[PID[0], MMS[0], "Café"]] * 3000)).encode() + f"{PID[1]},{MMS[1]},caf\xe9\r\n".encode("latin-1")

    # --- encodings ---------------------------------------------------------------------------
    add(Case("utf8", raw("utf8.csv", good_text().encode()), Accept(encoding="utf-8")))
    add(Case("utf8_bom", raw("bom.csv", codecs.BOM_UTF8 + good_text().encode()), Accept(encoding="utf-8-sig")))
    for enc, bom in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)):
        add(Case(f"{enc}_bom_tab", raw(f"{enc}.txt", bom + good_text(sep="\t").encode(enc)), Accept(encoding=enc)))
        add(Case(f"{enc}_no_bom", raw(f"{enc}-nobom.txt", good_text(sep="\t").encode(enc)), Accept(encoding=enc)))
    add(Case("cp1252", raw("win.csv", good_text(sep=";").encode("cp1252")), Accept(encoding="cp1252")))
    add(Case("cp1252_first_accent_late", raw("win-late.csv", text([HEADER] + [[pid(n), MMS[0], "Plain"] for n in range(3000)]
                                                                   + [[PID[1], MMS[1], "Café"]]).encode("cp1252")),
             Accept(rows=[(n + 2, pid(n), MMS[0], "Plain") for n in range(3000)] + [(3002, PID[1], MMS[1], "Café")],
                    encoding="cp1252")))
    add(Case("utf8_latin1_byte_late", raw("mixed.csv", late_latin1), Refuse(row=3002, match="mixes two encodings")))
    add(Case("utf8_latin1_byte_early", raw("mixed2.csv", good_text().encode() + b"53496697940003681,9977047322403681,caf\xe9\r\n"),
             Refuse(row=5, match="mixes two encodings")))
    add(Case("bom_then_invalid", raw("bom-bad.csv", codecs.BOM_UTF8 + good_text().encode() + b"x\xff,1,2\r\n"),
             Refuse(row=5)))
    add(Case("cp1252_undefined_byte", raw("undef.csv", good_text().encode("cp1252").replace(b"\xc9", b"\x81")),
             Refuse(row=2, match="cannot decode")))
    add(Case("utf16_odd_length", raw("odd16.txt", codecs.BOM_UTF16_LE + good_text(sep="\t").encode("utf-16-le") + b"\x41"),
             Refuse()))
    add(Case("utf16_lone_surrogate", raw("sur16.txt", codecs.BOM_UTF16_LE + good_text(sep="\t").encode("utf-16-le")
                                         + b"\x00\xd8A\x00\r\x00\n\x00"), Refuse()))
    add(Case("utf32_bom", raw("u32.txt", codecs.BOM_UTF32_LE + good_text(sep="\t").encode("utf-32-le")), Refuse()))
    add(Case("utf16le_comma", raw("u16comma.csv", codecs.BOM_UTF16_LE + good_text().encode("utf-16-le")), Accept(encoding="utf-16-le")))
    add(Case("utf8_bom_semicolon", raw("bomsemi.csv", codecs.BOM_UTF8 + good_text(sep=";").encode()), Accept(encoding="utf-8-sig")))
    add(Case("bom_twice", raw("bom2.csv", codecs.BOM_UTF8 * 2 + good_text().encode()), Accept(encoding="utf-8-sig")))
    add(Case("bom_char_inside_id", raw("bomid.csv", (text([HEADER, GOOD_ROWS[0]]) + "\ufeff" + text(GOOD_ROWS[1:2])).encode()),
             Refuse(row=3, column="Portfolio Id", match="not an Alma ID")))
    add(Case("zero_width_space_in_id", id_row(PID[1][:5] + "\u200b" + PID[1][5:]), Refuse(row=3, column="Portfolio Id")))
    add(Case("lone_ff_byte_is_windows_1252", raw("ff.csv", text([HEADER, [PID[0], MMS[0], "x"]]).encode() + f"{PID[1]},{MMS[1]},y\xff\r\n".encode("latin-1")),
             Accept(rows=[(2, PID[0], MMS[0], "x"), (3, PID[1], MMS[1], "yÿ")], encoding="cp1252")))
    add(Case("unicode_line_separators_in_title", raw("ls.csv", text([HEADER, [PID[0], MMS[0], "a\u2028b\u0085c\u2029d"]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "a\u2028b\u0085c\u2029d")])))
    add(Case("header_only_bom_cr", raw("hbomcr.csv", codecs.BOM_UTF8 + b"Portfolio Id,MMS Id\r"), Accept(rows=[])))
    add(Case("only_bom", raw("onlybom.csv", codecs.BOM_UTF8), Refuse(match="empty")))
    add(Case("only_utf16_bom", raw("onlybom16.csv", codecs.BOM_UTF16_LE), Refuse(match="empty")))
    add(Case("empty", raw("empty.csv", b""), Refuse(match="empty")))
    add(Case("whitespace_only", raw("blank.csv", b" \r\n\t\r\n  \n"), Refuse(match="empty")))
    add(Case("nul_bytes_only", raw("nul.csv", bytes(4096)), Refuse(match="empty")))
    add(Case("overlong_utf8_sequence", raw("overlong.csv", good_text().encode("cp1252").replace(b"\xc9", b"\xc0\xaf")),
             Accept(rows=[(2, PID[0], MMS[0], "À¯tudes littéraires"), *ACCENTED[1:]], encoding="cp1252")))
    add(Case("mac_roman_looking_bytes", raw("mac.csv", good_text().encode("mac_roman")), Refuse()))
    for seed in range(4):
        add(Case(f"random_bytes_{seed}", raw(f"random{seed}.csv", random_bytes(seed, 20_000)), Refuse()))
    add(Case("png_named_csv", raw("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8), Refuse()))
    add(Case("gzip_named_csv", raw("packed.csv", b"\x1f\x8b\x08\x00" + zlib.compress(good_text().encode())), Refuse()))
    add(Case("real_gzip_of_a_good_csv", raw("real.csv", lambda: __import__("gzip").compress(good_text().encode())),
             Refuse(match="compressed file")))
    add(Case("zlib_of_a_good_csv", raw("zl.csv", lambda: zlib.compress(good_text().encode())), Refuse(match="compressed file")))
    add(Case("zstd_magic", raw("zst.csv", b"\x28\xb5\x2f\xfd" + bytes(64)), Refuse()))
    add(Case("p2e_text_starting_like_zlib", raw("p2e-x.txt", b"x^1234,portfolio\nEDU01000123457,database\n"),
             Accept(rows=[(1, "x^1234", "portfolio", None), (2, "EDU01000123457", "database", None)]), kind="p2e"))
    add(Case("pdf_named_csv", raw("doc.csv", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"), Refuse()))
    add(Case("legacy_xls", raw("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)), Refuse(match="legacy Excel")))
    add(Case("text_named_xlsx", raw("fake.xlsx", good_text().encode()), Accept(encoding="utf-8")))  # by content
    add(Case("plain_zip", raw("plain.zip.csv", lambda: _zip_bytes({"readme.txt": b"hello"})), Refuse(match="without an Excel workbook")))

    # --- line ends and blank lines -------------------------------------------------------------
    for label, nl in (("crlf", "\r\n"), ("lf", "\n"), ("cr_only", "\r")):
        add(Case(f"line_ends_{label}", raw(f"{label}.csv", good_text(nl=nl).encode()), Accept()))
    add(Case("mixed_line_ends", raw("mixed-nl.csv", (text([HEADER, GOOD_ROWS[0]], nl="\r\n") + text(GOOD_ROWS[1:], nl="\n")).encode()), Accept()))
    add(Case("no_final_newline", raw("nofinal.csv", good_text().rstrip().encode()), Accept()))
    for label, body in (("lf", "Portfolio Id,MMS Id,Title\n"), ("none", "Portfolio Id,MMS Id,Title"),
                        ("cr", "Portfolio Id,MMS Id,Title\r"), ("crlf", "Portfolio Id,MMS Id,Title\r\n")):
        add(Case(f"header_only_{label}", raw(f"header-{label}.csv", body.encode()), Accept(rows=[])))
    add(Case("header_only_tsv_bom", raw("header.tsv", codecs.BOM_UTF8 + b"Portfolio Id\tMMS Id\r\n"), Accept(rows=[])))
    add(Case("blank_lines_between", raw("gaps.csv", text([HEADER, GOOD_ROWS[0], [""], GOOD_ROWS[1], [""], [""], GOOD_ROWS[2]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (4, PID[1], MMS[1], TITLES[1]), (7, PID[2], MMS[2], TITLES[2])])))
    add(Case("many_trailing_blank_lines", raw("trail.csv", (good_text() + "\r\n" * 500).encode()), Accept()))
    add(Case("row_of_separators_only", raw("commas.csv", text([HEADER, GOOD_ROWS[0], ["", "", ""]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], TITLES[0])])))

    # --- quoting -------------------------------------------------------------------------------
    rows7 = [HEADER] + [[PID[0], MMS[0], f"T{i}"] for i in range(5)]
    add(Case("unclosed_quote_row_7", raw("q7.csv", (text(rows7) + f'{PID[1]},{MMS[1]},"no end\r\n{PID[2]},{MMS[2]},x\r\n').encode()),
             Refuse(row=7, match="closing quote")))
    add(Case("unclosed_quote_last_row", raw("qlast.csv", (good_text() + f'{PID[0]},{MMS[0]},"open').encode()), Refuse(row=5)))
    add(Case("text_after_closing_quote", raw("qafter.csv", (text(GOOD_ROWS[:0] + [HEADER, GOOD_ROWS[0]]) + f'{PID[1]},{MMS[1]},"A" B\r\n').encode()),
             Refuse(row=3, match="quote")))
    add(Case("quote_inside_unquoted_value", raw("qmid.csv", text([HEADER]).encode() + f'{PID[0]},{MMS[0]},say "hi" now\r\n'.encode()),
             Accept(rows=[(2, PID[0], MMS[0], 'say "hi" now')])))
    add(Case("quoted_newline_in_title", raw("qnl.csv", text([HEADER, [PID[0], MMS[0], "Line one\nline two"], GOOD_ROWS[1]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "Line one\nline two"), (3, PID[1], MMS[1], TITLES[1])])))
    add(Case("doubled_quotes", raw("qq.csv", text([HEADER, [PID[0], MMS[0], 'The "Best" of'], ]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], 'The "Best" of')])))
    add(Case("quoted_separator", raw("qsep.csv", text([HEADER, [PID[0], MMS[0], "Arts, Letters"]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "Arts, Letters")])))
    add(Case("everything_quoted", raw("qall.csv", good_text(quote_all=True).encode()), Accept()))
    add(Case("quoted_ids_with_spaces", raw("qsp.csv", text([HEADER, [f" {PID[0]} ", MMS[0], TITLES[0]]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], TITLES[0])])))
    add(Case("ragged_row_5", raw("ragged.csv", (good_text() + f"{PID[0]},{MMS[0]},x,extra\r\n").encode()),
             Refuse(row=5, column="D", match="fields")))
    add(Case("short_row_missing_title", raw("short.csv", (text([HEADER, [PID[0], MMS[0]]])).encode()),
             Refuse(row=2, column="C", match="2 fields but the first row has 3")))
    add(Case("short_row_missing_mms", raw("short2.csv", (text([HEADER, [PID[0]]])).encode()),
             Refuse(row=2, column="B", match="1 field but the first row has 3")))
    add(Case("empty_quoted_id", raw("emptyq.csv", text([HEADER, ['', MMS[0], "x"]], quote_all=True).encode()),
             Refuse(row=2, column="Portfolio Id", match="empty")))
    add(Case("tsv_stray_quotes", raw("kbart.txt", text([HEADER, [PID[0], MMS[0], '"Hamlet" revisited']], sep="\t").replace('"""Hamlet"" revisited"', '"Hamlet" revisited').encode()),
             Accept(rows=[(2, PID[0], MMS[0], '"Hamlet" revisited')])))

    # --- separators, header --------------------------------------------------------------------
    add(Case("semicolon", raw("semi.csv", good_text(sep=";").encode()), Accept()))
    add(Case("tab", raw("tab.tsv", good_text(sep="\t").encode()), Accept()))
    add(Case("pipe_separated", raw("pipe.csv", good_text(sep="|").encode()), Refuse(match="no portfolio_id column")))
    add(Case("semicolons_inside_comma_file", raw("semi-in.csv", text([HEADER, [PID[0], MMS[0], "a; b; c; d"]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "a; b; c; d")])))
    add(Case("duplicate_id_header", raw("dup.csv", text([["Portfolio Id", "PID", "MMS Id"], [PID[0], PID[1], MMS[0]]]).encode()),
             Refuse(match="all mean portfolio_id")))
    add(Case("missing_mms_column", raw("nomms.csv", text([["Portfolio Id", "Title"], [PID[0], "x"]]).encode()),
             Refuse(match="no mms_id column")))
    add(Case("header_spaces_and_case", raw("case.csv", text([[" portfolio_id ", "MMS.ID", "Title"], *GOOD_ROWS]).encode()), Accept()))
    add(Case("header_cell_too_long", raw("longhead.csv", text([HEADER + ["h" * 40_000], *[r + ["x"] for r in GOOD_ROWS]]).encode()),
             Refuse(row=1, match="more than the 32,767")))
    add(Case("title_of_40000_chars", raw("long.csv", text([HEADER, GOOD_ROWS[0], [PID[1], MMS[1], "t" * 40_000]]).encode()),
             Refuse(row=3, column="Title", match="40,000 characters")))
    add(Case("line_of_two_megabytes", raw("huge-line.csv", text([HEADER, [PID[0], MMS[0], "é" * 1_000_000]]).encode()),
             Refuse(row=2, column="Title", match="more than the 32,767")))
    add(Case("title_of_32767_chars", raw("max.csv", text([HEADER, [PID[0], MMS[0], "t" * 32_767]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "t" * 32_767)])))
    add(Case("nul_inside_title", raw("nul-title.csv", text([HEADER, [PID[0], MMS[0], "a\x00b"]]).encode()),
             Refuse(row=2, column="C", match="control character (0x00, NUL)")))
    add(Case("control_chars_in_title", raw("ctl.csv", text([HEADER, [PID[0], MMS[0], "a\x01\x1b[31mb"]]).encode()),
             Refuse(row=2, column="C", match="control character (0x01")))
    add(Case("formula_text_in_title", raw("formula.csv", text([HEADER, [PID[0], MMS[0], "=cmd|' /C calc'!A0"]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "=cmd|' /C calc'!A0")])))
    add(Case("ten_thousand_columns", raw("wide.csv", text([HEADER + [f"X{j}" for j in range(10_000)],
                                                           *[r + [""] * 10_000 for r in GOOD_ROWS]]).encode()), Accept()))
    add(Case("first_row_of_200000_fields", raw("widehead.csv", ("Portfolio Id,MMS Id" + "," * 200_000 + "\r\n").encode()),
             Refuse(row=1, match="more than the 16,384 columns")))
    add(Case("later_row_of_200000_fields", raw("wideline.csv", (good_text() + PID[0] + "," * 200_000 + "\r\n").encode()),
             Refuse(row=5, column="D", match="fields")))
    add(Case("fifty_thousand_rows", raw("tall.csv", text([HEADER] + [[pid(n), MMS[0], "t"] for n in range(50_000)]).encode()),
             Accept(rows=[(n + 2, pid(n), MMS[0], "t") for n in range(50_000)])))

    # --- Alma IDs -------------------------------------------------------------------------------
    for label, value, match in (
        ("fullwidth", "５３４９６６９７９１０００３６８１", "digits other than 0-9"),
        ("arabic_indic", "٥٣٤٩٦٦٩٧٩١٠٠٠٣٦٨١", "digits other than 0-9"),
        ("devanagari", "५३४९६६९७९१०००३६८१", "digits other than 0-9"),
        ("zero", "0", "starts with 0"),
        ("zero_padded", "0053496697910003681", "starts with 0"),
        ("25_digits", "5" * 25, "25 digits"),
        ("14_digits", "5" * 14, "14 digits"),
        ("scientific", "5.34967E+16", "converted to a number"),
        ("dot_zero", "53496697910003681.0", "converted to a number"),
        ("decimal_comma_scientific", "5,34967E+16", "converted to a number"),
        ("negative", "-53496697910003681", "characters other than digits"),
        ("plus_sign", "+53496697910003681", "characters other than digits"),
        ("inner_space", "534966979 10003681", "characters other than digits"),
        ("formula", "=53496697910003681", "characters other than digits"),
        ("letters", "POL-12345", "characters other than digits"),
        ("superscript_digits", "⁵³⁴⁹⁶⁶⁹⁷⁹¹⁰⁰⁰³⁶⁸¹", "digits other than 0-9"),
    ):
        add(Case(f"id_{label}", id_row(value), Refuse(row=3, column="Portfolio Id", match=match)))
    add(Case("id_nbsp_around", id_row(f"\u00a0{PID[1]}\u00a0"), Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (3, PID[1], MMS[1], "T")])))
    add(Case("id_15_digits", id_row("5" * 15), Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (3, "5" * 15, MMS[1], "T")])))
    add(Case("id_19_digits", id_row("5" * 19), Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (3, "5" * 19, MMS[1], "T")])))

    # --- xlsx: good shapes -----------------------------------------------------------------------
    add(Case("xlsx_inline", book("inline.xlsx", lambda: sheet([HEADER, *GOOD_ROWS])), Accept(encoding=None)))
    add(Case("xlsx_shared", book("shared.xlsx", lambda: shared_book([HEADER, *GOOD_ROWS])), Accept(encoding=None)))
    add(Case("xlsx_named_csv", book("really.csv", lambda: sheet([HEADER, *GOOD_ROWS])), Accept(encoding=None)))
    add(Case("xlsx_named_xlsm", book("macro.xlsm", lambda: sheet([HEADER, *GOOD_ROWS])), Accept(encoding=None)))
    add(Case("xlsx_header_only", book("head.xlsx", lambda: sheet([HEADER])), Accept(rows=[], encoding=None)))
    add(Case("xlsx_hidden_first_sheet", book("hidden.xlsx", lambda: Book([
        SheetXml("Old", rows_xml([HEADER, [PID[2], MMS[2], "old"]]), state="hidden"),
        SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS]))])), Accept(encoding=None)))
    add(Case("xlsx_very_hidden_first_sheet", book("vhidden.xlsx", lambda: Book([
        SheetXml("Old", rows_xml([HEADER, [PID[2], MMS[2], "old"]]), state="veryHidden"),
        SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS]))])), Accept(encoding=None)))
    add(Case("xlsx_empty_visible_sheet_first", book("emptyfirst.xlsx", lambda: Book([
        SheetXml("Notes", "<sheetData/>"), SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS]))])), Accept(encoding=None)))
    add(Case("xlsx_cells_without_refs", book("norefs.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS])
                                                                                   .replace(' r="', ' x="'))])), Accept(encoding=None)))
    add(Case("xlsx_prefixed_namespace", zip_edit("prefix.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), _prefix_sheet), Accept(encoding=None)))
    add(Case("xlsx_strict_namespace", zip_edit("strict.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), replace_in(
        SHEET, b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main")),
        Accept(encoding=None)))
    add(Case("xlsx_stored_not_deflated", zip_edit("stored.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), lambda p: p,
                                                  compression=zipfile.ZIP_STORED), Accept(encoding=None)))
    add(Case("xlsx_rich_text_title", book("rich.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER, GOOD_ROWS[0]]).replace(
        f'<t xml:space="preserve">{TITLES[0]}</t>', "<r><t xml:space=\"preserve\">Études </t></r><r><rPr><b/></rPr><t>littéraires</t></r>"))])),
        Accept(rows=[(2, PID[0], MMS[0], TITLES[0])], encoding=None)))
    add(Case("xlsx_formula_with_cached_id", book("fcache.xlsx", lambda: id_cell_book(f'<c r="A2" t="str"><f>B2</f><v>{PID[0]}</v></c>')),
             Accept(rows=[(2, PID[0], MMS[0], None)], encoding=None)))
    add(Case("xlsx_exact_number_id", book("num15.xlsx", lambda: id_cell_book('<c r="A2"><v>534966979100036</v></c>')),
             Accept(rows=[(2, "534966979100036", MMS[0], None)], encoding=None)))
    add(Case("xlsx_absolute_sheet_target", zip_edit("abs.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), replace_in(
        "xl/_rels/workbook.xml.rels", b'Target="worksheets/sheet1.xml"', b'Target="/xl/worksheets/sheet1.xml"')),
        Accept(encoding=None)))

    # --- xlsx: IDs that went through a number, or are not text -----------------------------------
    big = "9977047322103681"
    for label, cell in (("s_before_r", f'<c s="0" r="A2"><v>{big}</v></c>'),
                        ("two_spaces", f'<c  r="A2"><v>{big}</v></c>'),
                        ("single_quotes", f"<c r='A2' t='n'><v>{big}</v></c>"),
                        ("scientific_value", "<c r=\"A2\"><v>9.977047322103681E+15</v></c>"),
                        ("newline_in_tag", f'<c\n r="A2"\n><v>{big}</v></c>'),
                        ("formula_number", f'<c r="A2"><f>1+1</f><v>{big}</v></c>')):
        add(Case(f"xlsx_number_id_{label}", book(f"n-{label}.xlsx", lambda cell=cell: id_cell_book(cell)),
                 Refuse(row=2, column="Portfolio Id", match="stored as an Excel number")))
    for label, cell, match in (("date", '<c r="A2" t="d"><v>2024-01-01T00:00:00</v></c>', "not an Alma ID"),
                               ("boolean", '<c r="A2" t="b"><v>1</v></c>', "not an Alma ID"),
                               ("error", '<c r="A2" t="e"><v>#N/A</v></c>', "shows the error #N/A"),
                               ("formula_no_value", '<c r="A2"><f>B2</f></c>', "result is not saved"),
                               ("small_number", '<c r="A2"><v>12345</v></c>', "5 digits"),
                               ("negative_number", '<c r="A2"><v>-53496697910003</v></c>', "characters other than digits"),
                               ("fraction", '<c r="A2"><v>0.5</v></c>', "characters other than digits")):
        add(Case(f"xlsx_id_{label}", book(f"c-{label}.xlsx", lambda cell=cell: id_cell_book(cell)),
                 Refuse(row=2, column="Portfolio Id", match=match)))

    # --- xlsx: cells whose stored value is not what Excel shows --------------------------------------
    for label, cell, match in (
        ("formula_no_result", '<c r="C2"><f>UPPER(B2)</f></c>', "result is not saved"),
        ("formula_empty_result", '<c r="C2"><f>UPPER(B2)</f><v></v></c>', "result is not saved"),
        ("formula_self_closing_value", '<c r="C2"><f>B2</f><v/></c>', "result is not saved"),
        ("shared_formula_child_no_result", '<c r="C2"><f t="shared" si="0"/></c>', "result is not saved"),
        ("array_formula_no_result", '<c r="C2"><f t="array" ref="C2">B2</f></c>', "result is not saved"),
        ("error_ref", '<c r="C2" t="e"><v>#REF!</v></c>', "#REF!"),
        ("error_na", '<c r="C2" t="e"><v>#N/A</v></c>', "#N/A"),
        ("error_div0", '<c r="C2" t="e"><v>#DIV/0!</v></c>', "#DIV/0!"),
        ("error_value_from_formula", '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>', "#DIV/0!"),
        ("error_without_text", '<c r="C2" t="e"/>', "shows the error"),
    ):
        add(Case(f"xlsx_{label}", book(f"x-{label}.xlsx", lambda cell=cell: title_cell_book(cell)),
                 Refuse(row=2, column="Title", match=match)))
    add(Case("xlsx_formula_cached_but_recalculated_on_open", book("x-recalc.xlsx", lambda: title_cell_book(
        '<c r="C2" t="str"><f>UPPER(B2)</f><v>0</v></c>', calc_pr='<calcPr fullCalcOnLoad="1"/>')),
        Refuse(row=2, column="Title", match="compute every formula again")))
    add(Case("xlsx_formula_cached_text_result", book("x-ftext.xlsx", lambda: title_cell_book(
        '<c r="C2" t="str"><f>"Revue"</f><v>Revue</v></c>', calc_pr='<calcPr calcId="191029"/>')),
        Accept(rows=[(2, PID[0], MMS[0], "Revue")], encoding=None)))
    add(Case("xlsx_formula_empty_text_result", book("x-fempty.xlsx", lambda: title_cell_book(
        '<c r="C2" t="str"><f>IF(1,"","x")</f><v></v></c>')), Accept(rows=[(2, PID[0], MMS[0], None)], encoding=None)))
    add(Case("xlsx_error_in_header", book("x-headerr.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS])
        .replace('<row r="1">', '<row r="1"><c r="D1" t="e"><v>#NAME?</v></c>', 1).replace(
            '<c r="D1" t="e"><v>#NAME?</v></c><c r="A1"', '<c r="A1"').replace('</row>', '<c r="D1" t="e"><v>#NAME?</v></c></row>', 1))])),
        Refuse(row=1, column="D", match="#NAME?")))
    add(Case("xlsx_error_late_in_a_big_sheet", book("x-errlate.xlsx", lambda: good_rows_with(
        "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{pid(n)}</t></is></c><c r="B{n}" t="inlineStr"><is><t>{MMS[0]}</t></is></c>'
                f'<c r="C{n}" t="{"e" if n == 2999 else "inlineStr"}">{"<v>#REF!</v>" if n == 2999 else "<is><t>t</t></is>"}</c></row>'
                for n in range(5, 3000)))), Refuse(row=2999, column="Title", match="#REF!")))
    add(Case("xlsx_boolean_title_reads_as_excel_shows", book("x-bool.xlsx", lambda: title_cell_book('<c r="C2" t="b"><v>1</v></c>')),
             Accept(rows=[(2, PID[0], MMS[0], "TRUE")], encoding=None)))

    # --- xlsx: a cell written twice, or out of its place -----------------------------------------------
    for label, extra, row, column in (
        ("same_cell_twice", f'<row r="5"><c r="A5" t="inlineStr"><is><t>{PID[0]}</t></is></c><c r="A5" t="inlineStr"><is><t>{PID[1]}</t></is></c></row>', 5, "A"),
        ("cells_out_of_order", f'<row r="5"><c r="B5" t="inlineStr"><is><t>{MMS[0]}</t></is></c><c r="A5" t="inlineStr"><is><t>{PID[0]}</t></is></c></row>', 5, "A"),
        ("cell_of_an_earlier_row", f'<row r="5"><c r="A2" t="inlineStr"><is><t>{PID[2]}</t></is></c></row>', 2, "A"),
        ("cell_of_a_later_row", f'<row r="5"><c r="A6" t="inlineStr"><is><t>{PID[2]}</t></is></c></row>', 6, "A"),
        ("unnamed_cell_then_its_name", f'<row r="5"><c r="A5" t="inlineStr"><is><t>{PID[0]}</t></is></c><c t="inlineStr"><is><t>{MMS[0]}</t></is></c>'
                                       f'<c r="B5" t="inlineStr"><is><t>{MMS[1]}</t></is></c></row>', 5, "B"),
    ):
        add(Case(f"xlsx_{label}", book(f"dup-{label}.xlsx", lambda extra=extra: good_rows_with(extra)),
                 Refuse(row=row, column=column, match="twice or out of its place")))
    add(Case("xlsx_same_row_twice", book("dup-row.xlsx", lambda: good_rows_with(
        f'<row r="4"><c r="A4" t="inlineStr"><is><t>{PID[0]}</t></is></c></row>')), Refuse(row=4, match="writes row 4 twice")))
    add(Case("xlsx_rows_out_of_order", book("dup-rows.xlsx", lambda: Book([SheetXml("Results", "<sheetData>" + "".join(
        rows_xml([HEADER, *GOOD_ROWS]).removeprefix("<sheetData>").removesuffix("</sheetData>").replace("</row>", "</row>|")
        .split("|")[i] for i in (0, 1, 3, 2)) + "</sheetData>")])), Refuse(row=3, match="writes row 3 twice or out of order")))
    add(Case("xlsx_rows_without_numbers_skipping_blank_rows", book("norow.xlsx", lambda: Book([SheetXml("Results", rows_xml(
        [HEADER, GOOD_ROWS[0], [None], GOOD_ROWS[1]]).replace(' r="1">', ">").replace(' r="2">', ">").replace(' r="3">', ">")
        .replace(' r="4">', ">").replace("<row></row>", ""))])),
        Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (4, PID[1], MMS[1], TITLES[1])], encoding=None)))

    # --- xlsx: numbers shown through a number format --------------------------------------------------
    for label, code, value, shown in (
        ("zero_padded", "000000000", "123456", "000123456"),
        ("prefix_and_padding", '"VOY"000000', "123", "VOY000123"),
        ("escaped_prefix", "\\V\\O\\Y0000", "42", "VOY0042"),
        ("hyphen_literal", "000-000", "1234", "001-234"),
    ):
        add(Case(f"p2e_legacy_number_{label}", book(f"p2e-{label}.xlsx", lambda code=code, value=value: legacy_number_book(value, code)),
                 Accept(rows=[(2, shown, "portfolio", "T")], encoding=None), kind="p2e"))
    def refused(match: str) -> Refuse:
        return Refuse(row=2, column="Title", match=match)

    for label, code, value, expect in (
        ("issn_pattern", "0000-0000", "1234567", "0123-4567"),
        ("thousands", "#,##0", "1234567", "1,234,567"),
        ("fixed_decimals", "0.00", "5", "5.00"),
        ("percent", "0%", "0.25", "25%"),
        ("negative_in_parentheses", "#,##0;(#,##0)", "-1234", "(1,234)"),
        ("colour_ignored", "[Blue]0000", "7", "0007"),
        ("integer_format_exact", "0", "2024", "2024"),
        ("rounds_decimals", "0.00", "5.125", refused("rounds it to 2 decimal place")),
        ("rounds_to_integer", "0", "5.5", refused("rounds it to 0 decimal place")),
        ("scientific", "0.00E+00", "123456", refused("scientific notation")),
        ("fraction", "# ?/?", "0.5", refused("fraction")),
        ("condition", "[>100]0;0.0", "5", refused("condition")),
        ("scaled_by_thousands", "0,", "123456", refused("scales the value")),
        ("sixteen_digits", "0000000000000000", "1234567890123456", refused("15 significant digits")),
    ):
        made = lambda code=code, value=value: title_cell_book(f'<c r="C2" s="1"><v>{value}</v></c>',  # noqa: E731
                                                             styles=({164: code}, [0, 164]))
        add(Case(f"xlsx_number_format_{label}", book(f"fmt-{label}.xlsx", made),
                 expect if isinstance(expect, Refuse) else Accept(rows=[(2, PID[0], MMS[0], expect)], encoding=None)))
    add(Case("xlsx_number_format_locale_currency_builtin", book("fmt-cur.xlsx", lambda: title_cell_book(
        '<c r="C2" s="1"><v>12</v></c>', styles=({}, [0, 7]))), Refuse(row=2, column="Title", match="locale-dependent")))
    add(Case("xlsx_number_format_builtin_thousands", book("fmt-b3.xlsx", lambda: title_cell_book(
        '<c r="C2" s="1"><v>1234</v></c>', styles=({}, [0, 3]))), Accept(rows=[(2, PID[0], MMS[0], "1,234")], encoding=None)))
    add(Case("xlsx_number_format_text_cell_untouched", book("fmt-text.xlsx", lambda: title_cell_book(
        '<c r="C2" s="1" t="inlineStr"><is><t>123</t></is></c>', styles=({164: "000000"}, [0, 164]))),
        Accept(rows=[(2, PID[0], MMS[0], "123")], encoding=None)))
    add(Case("xlsx_number_format_general_untouched", book("fmt-gen.xlsx", lambda: title_cell_book(
        '<c r="C2" s="1"><v>123</v></c>', styles=({}, [0, 0]))), Accept(rows=[(2, PID[0], MMS[0], "123")], encoding=None)))
    add(Case("xlsx_number_format_date_reads_iso", book("fmt-date.xlsx", lambda: title_cell_book(
        '<c r="C2" s="1"><v>45292</v></c>', styles=({}, [0, 14]))), Accept(rows=[(2, PID[0], MMS[0], "2024-01-01 00:00:00")], encoding=None)))
    add(Case("xlsx_number_format_zero_padded_id_refused_as_id", book("fmt-id.xlsx", lambda: id_cell_book_styled(
        '<c r="A2" s="1"><v>53496697910003</v></c>', ({164: "0000000000000000"}, [0, 164]))),
        Refuse(row=2, column="Portfolio Id", match="starts with 0")))

    # --- xlsx: structure ------------------------------------------------------------------------
    add(Case("xlsx_two_visible_sheets_with_data", book("two.xlsx", lambda: Book([
        SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS])), SheetXml("Copy", rows_xml([HEADER, GOOD_ROWS[0]]))])),
        Refuse(match="2 visible sheets with data")))
    add(Case("xlsx_every_sheet_hidden", book("allhidden.xlsx", lambda: Book([
        SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS]), state="hidden")])), Refuse(match="hidden")))
    add(Case("xlsx_empty_sheet", book("emptysheet.xlsx", lambda: Book([SheetXml("Results", "<sheetData/>")])), Refuse(match="empty")))
    add(Case("xlsx_styled_empty_cells_only", book("styled.xlsx", lambda: Book([SheetXml("Results",
        '<sheetData><row r="1"><c r="A1" s="1"/><c r="B1" s="1"/></row></sheetData>')])), Refuse(match="empty")))
    add(Case("xlsx_no_sheets", zip_edit("nosheets.xlsx", lambda: sheet([HEADER]), replace_in(
        "xl/workbook.xml", b'<sheet name="Results" sheetId="1" r:id="rId1"/>', b"")), Refuse(match="no sheet")))
    add(Case("xlsx_missing_workbook", zip_edit("nowb.xlsx", lambda: sheet([HEADER]), drop("xl/workbook.xml")),
             Refuse(match="without an Excel workbook")))
    add(Case("xlsx_missing_rels", zip_edit("norels.xlsx", lambda: sheet([HEADER]), drop("xl/_rels/workbook.xml.rels")),
             Refuse(match="missing")))
    add(Case("xlsx_missing_sheet_part", zip_edit("nosheet.xlsx", lambda: sheet([HEADER]), drop(SHEET)), Refuse(match="missing")))
    add(Case("xlsx_sheet_target_outside", zip_edit("outside.xlsx", lambda: sheet([HEADER]), replace_in(
        "xl/_rels/workbook.xml.rels", b'Target="worksheets/sheet1.xml"', b'Target="../../../etc/passwd"')), Refuse(match="missing")))
    add(Case("xlsx_rel_id_unknown", zip_edit("norel.xlsx", lambda: sheet([HEADER]), replace_in(
        "xl/workbook.xml", b'r:id="rId1"', b'r:id="rId99"')), Refuse(match="has no part")))
    add(Case("xlsx_bad_sheet_xml", zip_edit("badxml.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), replace_in(
        SHEET, b"</sheetData>", b"<row>")), Refuse(match="not well-formed")))
    add(Case("xlsx_bad_workbook_xml", zip_edit("badwb.xlsx", lambda: sheet([HEADER]), replace_in(
        "xl/workbook.xml", b"</workbook>", b"")), Refuse(match="not well-formed")))
    add(Case("xlsx_bad_shared_strings_xml", zip_edit("badsst.xlsx", lambda: shared_book([HEADER, *GOOD_ROWS]), replace_in(
        "xl/sharedStrings.xml", b"</sst>", b"<si>")), Refuse(match="not well-formed")))
    add(Case("xlsx_sheet_not_utf8", zip_edit("latin1.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), replace_in(
        SHEET, "É".encode(), b"\xc9")), Refuse(match="not well-formed")))
    add(Case("xlsx_sheet_in_utf16", zip_edit("u16.xlsx", lambda: sheet([HEADER, *GOOD_ROWS]), _sheet_in_utf16), Refuse()))
    add(Case("xlsx_shared_index_with_spaces", book("sstsp.xlsx", lambda: Book([SheetXml("Results",
        '<sheetData><row r="1"><c r="A1" t="s"><v> 0 </v></c><c r="B1" t="s"><v>1</v></c></row></sheetData>')],
        shared=["Portfolio Id", "MMS Id"])), Accept(rows=[], encoding=None)))
    add(Case("xlsx_escaped_character_in_text", book("esc.xlsx", lambda: sheet([HEADER, [PID[0], MMS[0], "_x0041_bc"]])),
             Accept(rows=[(2, PID[0], MMS[0], "Abc")], encoding=None)))
    add(Case("xlsx_billion_laughs", zip_edit("laughs.xlsx", lambda: sheet([HEADER]), lambda p: {**p, SHEET: (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        b'<c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>')}), Refuse(match="DTD")))
    add(Case("xlsx_external_entity", zip_edit("xxe.xlsx", lambda: sheet([HEADER]), lambda p: {**p, "xl/workbook.xml": (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><workbook>&x;</workbook>')}),
        Refuse(match="DTD")))
    add(Case("xlsx_shared_index_out_of_range", book("sstoob.xlsx", lambda: Book([SheetXml("Results",
        '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>7</v></c></row></sheetData>')],
        shared=["Portfolio Id", "MMS Id"])), Refuse()))
    add(Case("xlsx_shared_index_not_a_number", book("sstnan.xlsx", lambda: Book([SheetXml("Results",
        '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>x</v></c></row></sheetData>')],
        shared=["Portfolio Id", "MMS Id"])), Refuse()))
    add(Case("xlsx_shared_string_too_long", book("sstlong.xlsx", lambda: Book([SheetXml("Results",
        '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="C2" t="s"><v>3</v></c></row></sheetData>')], shared=HEADER + ["x" * 3_000_000])),
        Refuse(match="longer than Excel's")))
    add(Case("xlsx_inline_string_too_long", book("inlong.xlsx", lambda: sheet([HEADER, [PID[0], MMS[0], "y" * 40_000]])),
             Refuse(row=2, column="Title", match="40,000 characters")))
    add(Case("xlsx_far_cell", book("far.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS]).replace(
        "</sheetData>", f'<row r="1000001"><c r="{cell_ref(1000001, 16001)}"><v>1</v></c></row></sheetData>'))])),
        Refuse(match="1,000,001 rows x 16,001 columns")))
    add(Case("xlsx_far_cell_first", book("farfirst.xlsx", lambda: Book([SheetXml("Results",
        '<sheetData><row r="1"><c r="XFD1"><v>1</v></c></row><row r="1048576"><c r="A1048576"><v>1</v></c></row></sheetData>')])),
        Refuse(match="1,048,576 rows x 16,384 columns")))
    add(Case("xlsx_cell_beyond_excel_grid", book("beyond.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER]).replace(
        "</sheetData>", '<row r="2"><c r="XFE2"><v>1</v></c></row></sheetData>'))])), Refuse(match="outside Excel's grid")))
    add(Case("xlsx_row_beyond_excel_grid", book("rowbeyond.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER]).replace(
        "</sheetData>", '<row r="1048577"><c r="A1048577"><v>1</v></c></row></sheetData>'))])), Refuse()))
    add(Case("xlsx_row_zero", book("row0.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER]).replace(
        '<row r="1">', '<row r="0">'))])), Refuse()))
    add(Case("xlsx_cell_ref_garbage", book("badref.xlsx", lambda: Book([SheetXml("Results", rows_xml([HEADER]).replace(
        'r="A1"', 'r="1A"'))])), Refuse()))
    add(Case("xlsx_huge_dimension", book("dim.xlsx", lambda: Book([SheetXml("Results",
        '<dimension ref="A1:XFD1048576"/>' + rows_xml([HEADER, *GOOD_ROWS]))])), Refuse(match="used range")))
    add(Case("xlsx_garbage_dimension", book("dimbad.xlsx", lambda: Book([SheetXml("Results",
        '<dimension ref="A1:ZZZZ99999999"/>' + rows_xml([HEADER, *GOOD_ROWS]))])), Refuse(match="declares its size")))
    add(Case("xlsx_sane_dimension", book("dimok.xlsx", lambda: Book([SheetXml("Results",
        '<dimension ref="A1:C4"/>' + rows_xml([HEADER, *GOOD_ROWS]))])), Accept(encoding=None)))
    add(Case("xlsx_zip_bomb_part", zeros_bomb, Refuse(match="zip bomb")))
    add(Case("xlsx_lying_zip_header", lying_size, Refuse(match="not a readable Excel file")))
    add(Case("xlsx_truncated", truncated, Refuse(match="damaged or truncated")))
    add(Case("xlsx_duplicate_zip_member", duplicate_member, Refuse(match="two parts under one name")))
    add(Case("xlsx_encrypted_flag", encrypted_flag, Refuse(match="encrypted")))
    add(Case("xlsx_duplicate_sheet_names", book("dupname.xlsx", lambda: Book([
        SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS])), SheetXml("Results", "<sheetData/>")])), Refuse(match="same name")))
    add(Case("xlsx_sheets_sharing_one_part", zip_edit("shared-part.xlsx", lambda: Book([
        SheetXml("Results", rows_xml([HEADER, *GOOD_ROWS])), SheetXml("Again", "<sheetData/>")]), replace_in(
        "xl/_rels/workbook.xml.rels", b'Target="worksheets/sheet2.xml"', b'Target="worksheets/sheet1.xml"')),
        Refuse(match="same part")))
    add(Case("xlsx_blank_rows_above_header", book("above.xlsx", lambda: sheet([HEADER, *GOOD_ROWS], first_row=3)), Refuse()))

    # --- not regular files ----------------------------------------------------------------------
    add(Case("dev_zero", lambda folder: Path("/dev/zero"), Refuse(match="not a regular file")))
    add(Case("dev_null", lambda folder: Path("/dev/null"), Refuse(match="not a regular file")))
    add(Case("fifo", fifo, Refuse(match="not a regular file")))
    add(Case("unix_socket", unix_socket, Refuse(match="not a regular file")))
    add(Case("folder", folder_itself, Refuse(match="folder")))
    add(Case("dangling_symlink", dangling, Refuse(match="does not exist")))
    add(Case("symlink_loop", symlink_loop, Refuse(match="loop")))
    add(Case("missing_file", lambda folder: folder / "missing.csv", Refuse(match="not found")))
    add(Case("symlink_to_good_file", good_symlink, Accept()))

    # --- control characters and short rows in text files: refused at their row -----------------
    add(Case("delete_character_in_title_is_text", raw("del.csv", text([HEADER, [PID[0], MMS[0], "a\x7fb\x85c"]]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "a\x7fb\x85c")])))
    for label, char in (("nul", "\x00"), ("escape", "\x1b"), ("vertical_tab", "\x0b"),
                        ("form_feed", "\x0c"), ("backspace", "\x08"), ("unit_separator", "\x1f")):
        add(Case(f"control_{label}_late", raw(f"ctl-{label}.csv", text([HEADER] + [[pid(n), MMS[0], "t"] for n in range(500)]
                                                                     + [[PID[1], MMS[1], f"x{char}y"]]).encode()),
                 Refuse(row=502, column="C", match="control character")))
    add(Case("control_nul_in_id", raw("nul-id.csv", text([HEADER, [PID[0] + "\x00", MMS[0], "t"]]).encode()),
             Refuse(row=2, column="A", match="NUL")))
    add(Case("control_nul_in_header", raw("nul-head.csv", text([["Portfolio Id\x00", "MMS Id", "Title"], GOOD_ROWS[0]]).encode()),
             Refuse(row=1, column="A", match="NUL")))
    add(Case("control_in_utf16_file", raw("ctl16.txt", codecs.BOM_UTF16_LE + text([HEADER, [PID[0], MMS[0], "a\x00b"]], sep="\t")
                                         .encode("utf-16-le")), Refuse(row=2, column="C", match="NUL")))
    add(Case("control_in_cp1252_file", raw("ctl1252.csv", text([HEADER, [PID[0], MMS[0], "Caf\xe9\x1b"]], sep=";")
                                           .encode("cp1252")), Refuse(row=2, column="C", match="0x1B")))
    add(Case("control_after_stray_quote", raw("ctlq.csv", text([HEADER]).encode() + f'{PID[0]},{MMS[0]},say "hi\x00" now\r\n'.encode()),
             Refuse(row=2, column="C", match="NUL")))
    add(Case("p2e_nul_garbage_line", raw("p2e-nul.txt", b"VOY1,portfolio\r\n\0\0\xff\xfe\0garbage\0"),
             Refuse(row=2, match="control character"), kind="p2e"))
    add(Case("p2e_nul_line_utf8", raw("p2e-nul8.txt", b"VOY1,portfolio\nVOY2,portfolio\n\0\0\0\0\n"),
             Refuse(row=3, match="NUL"), kind="p2e"))
    add(Case("p2e_short_line", raw("p2e-short.txt", b"VOY1,portfolio\nVOY2\nVOY3,database\n"),
             Refuse(row=2, column="B", match="1 field but the first row has 2"), kind="p2e"))
    add(Case("short_row_late", raw("short-late.csv", text([HEADER] + [[pid(n), MMS[0], "t"] for n in range(3000)]
                                                          + [[PID[1], MMS[1]]]).encode()),
             Refuse(row=3002, column="C", match="2 fields")))
    add(Case("short_row_tsv", raw("short.tsv", text([HEADER, GOOD_ROWS[0], [PID[1], MMS[1]]], sep="\t").encode()),
             Refuse(row=3, column="C", match="2 fields")))
    add(Case("short_row_tsv_stray_quotes", raw("short-q.tsv", (text([HEADER, GOOD_ROWS[0]], sep="\t") + f'{PID[1]}\t"x" y\r\n').encode()),
             Refuse(row=3, column="C", match="2 fields")))
    add(Case("short_row_with_quoted_separator", raw("short-qsep.csv", text([HEADER, [PID[0], "Arts, Letters"]]).encode()),
             Refuse(row=2, column="C", match="2 fields")))
    add(Case("short_row_after_multiline_cell", raw("short-nl.csv", text([HEADER, [PID[0], MMS[0], "two\nlines"], [PID[1], MMS[1]]]).encode()),
             Refuse(row=3, column="C", match="2 fields")))
    add(Case("short_row_after_stray_quote", raw("short-stray.csv", text([HEADER]).encode() + f'{PID[0]},{MMS[0]},say "hi" now\r\n{PID[1]},{MMS[1]}\r\n'.encode()),
             Refuse(row=3, column="C", match="2 fields")))
    add(Case("short_row_cr_only", raw("short-cr.csv", text([HEADER, GOOD_ROWS[0], [PID[1], MMS[1]]], nl="\r").encode()),
             Refuse(row=3, column="C", match="2 fields")))
    add(Case("short_row_after_blank_lines", raw("short-blank.csv", (text([HEADER, GOOD_ROWS[0]]) + "\r\n" * 40 + text([[PID[1], MMS[1]]])).encode()),
             Refuse(row=43, column="C", match="2 fields")))
    add(Case("full_rows_with_empty_last_cells", raw("emptylast.csv", text([HEADER, [PID[0], MMS[0], ""], [PID[1], MMS[1], '']], quote_all=True).encode()),
             Accept(rows=[(2, PID[0], MMS[0], None), (3, PID[1], MMS[1], None)])))

    # --- blank lines: left out, row numbers kept -------------------------------------------------
    add(Case("million_blank_lines_between", raw("blank-mid.csv", lambda: (text([HEADER, GOOD_ROWS[0]]) + "\n" * 1_000_000
                                                                       + text(GOOD_ROWS[1:])).encode()),
             Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (1_000_003, PID[1], MMS[1], TITLES[1]),
                          (1_000_004, PID[2], MMS[2], TITLES[2])])))
    add(Case("blank_lines_crlf_and_lf_mixed", raw("blank-mixed.csv", (text([HEADER, GOOD_ROWS[0]]) + "\r\n\n\r\n"
                                                                    + text(GOOD_ROWS[1:], nl="\n") + "\n\n").encode()),
             Accept(rows=[(2, PID[0], MMS[0], TITLES[0]), (6, PID[1], MMS[1], TITLES[1]), (7, PID[2], MMS[2], TITLES[2])])))
    add(Case("blank_lines_right_after_header", raw("blank-head.csv", (text([HEADER]) + "\r\n" * 3 + text(GOOD_ROWS)).encode()),
             Accept(rows=[(5, PID[0], MMS[0], TITLES[0]), (6, PID[1], MMS[1], TITLES[1]), (7, PID[2], MMS[2], TITLES[2])])))
    add(Case("blank_line_inside_quoted_title", raw("blank-q.csv", (text([HEADER, [PID[0], MMS[0], "a\r\n\r\nb"]]) + "\r\n\r\n"
                                                                 + text(GOOD_ROWS[1:2])).encode()),
             Accept(rows=[(2, PID[0], MMS[0], "a\r\n\r\nb"), (5, PID[1], MMS[1], TITLES[1])])))
    add(Case("blank_lines_in_slow_parsed_file", raw("blank-slow.csv", text([HEADER]).encode() + f'{PID[0]},{MMS[0]},say "hi" now\r\n\r\n\r\n'.encode()
                                                  + text(GOOD_ROWS[1:2]).encode()),
             Accept(rows=[(2, PID[0], MMS[0], 'say "hi" now'), (5, PID[1], MMS[1], TITLES[1])])))
    add(Case("p2e_blank_lines_headerless", raw("p2e-blank.txt", b"EDU01000123456,portfolio\n\n\n\nEDU01000123457,database\n\n"),
             Accept(rows=[(1, "EDU01000123456", "portfolio", None), (5, "EDU01000123457", "database", None)]), kind="p2e"))

    # --- separators: a tab (or spaces) ending every line decides nothing --------------------------
    add(Case("p2e_tab_at_end_of_each_line", raw("p2e-tab.txt", b"EDU01000123456,portfolio\t\nEDU01000123457,database\t\n"),
             Accept(rows=[(1, "EDU01000123456", "portfolio", None), (2, "EDU01000123457", "database", None)]), kind="p2e"))
    add(Case("p2e_tabs_and_spaces_at_end", raw("p2e-tabsp.txt", b"EDU01000123456,portfolio \t \r\nEDU01000123457,database\t\r\n"),
             Accept(rows=[(1, "EDU01000123456", "portfolio", None), (2, "EDU01000123457", "database", None)]), kind="p2e"))
    add(Case("header_with_trailing_tab", raw("trailtab.csv", (",".join(HEADER) + "\t\r\n" + text(GOOD_ROWS)).encode()), Accept()))
    add(Case("semicolons_with_trailing_tab", raw("semitab.csv", (";".join(HEADER) + "\t\r\n" + text(GOOD_ROWS, sep=";")).encode()),
             Accept()))
    add(Case("tsv_with_trailing_tab", raw("trail.tsv", ("\t".join(HEADER) + "\t\r\n"
                                                         + "".join("\t".join(r) + "\t\r\n" for r in GOOD_ROWS)).encode()),
             Accept()))

    # --- headers: invisible characters, other spaces and fullwidth forms never hide a column --------
    for label, header in (
        ("zero_width_space", ["Portfolio\u200b Id", "MMS Id", "Title"]),
        ("bom_inside", ["Portfolio Id", "\ufeffMMS Id", "Ti\ufefftle"]),
        ("fullwidth", ["Ｐｏｒｔｆｏｌｉｏ　Ｉｄ", "ＭＭＳ Ｉｄ", "Title"]),
        ("no_break_and_double_spaces", ["Portfolio\u00a0 Id", "MMS  Id", "Title\u00a0"]),
        ("soft_hyphen_and_joiners", ["Port\u00adfolio Id", "MMS\u2060 Id", "T\u200ditle"]),
        ("direction_marks", ["\u200fPortfolio Id\u200e", "\u202aMMS Id\u202c", "Title"]),
    ):
        add(Case(f"header_{label}", raw(f"head-{label}.csv", text([header, *GOOD_ROWS]).encode()), Accept()))
        add(Case(f"header_{label}_xlsx", book(f"head-{label}.xlsx", lambda header=header: sheet([header, *GOOD_ROWS])),
                 Accept(encoding=None)))
    add(Case("p2e_header_zero_width_space", raw("p2e-zw.csv", "Legacy\u200b ID,Type\u200b,Title\nEDU01000123456,portfolio,T\n".encode()),
             Accept(rows=[(2, "EDU01000123456", "portfolio", "T")]), kind="p2e"))
    add(Case("po_lines_header_bom_inside", raw("pol-bom.csv", "PO Line\ufeff Reference,Status,PO Line Title\r\nPOL-1,ACTIVE,T\r\n".encode()),
             Accept(rows=[(2, "POL-1", "ACTIVE", "T")]), kind="po-lines"))

    # --- other kinds ----------------------------------------------------------------------------
    add(Case("p2e_headerless_cr_only", raw("p2e.txt", b"EDU01000123456,portfolio\rEDU01000123457,database\r"),
             Accept(rows=[(1, "EDU01000123456", "portfolio", None), (2, "EDU01000123457", "database", None)]), kind="p2e"))
    add(Case("p2e_unknown_type", raw("p2e-bad.txt", b"EDU01000123456,portfolio\nEDU01000123457,ebook\n"),
             Refuse(row=2, match="unknown P2E type"), kind="p2e"))
    add(Case("p2e_header_only", raw("p2e-head.csv", b"Legacy ID,Type,Title\n"), Accept(rows=[]), kind="p2e"))
    add(Case("p2e_legacy_id_scientific", raw("p2e-sci.csv", b"Legacy ID,Type\n1.23E+15,portfolio\n"),
             Refuse(row=2, column="Legacy ID", match="converted to a number"), kind="p2e"))
    add(Case("po_lines_header_only", raw("pol.csv", b"PO Line Reference,Status\r\n"), Accept(rows=[]), kind="po-lines"))
    add(Case("extended_export_header_only", book("ee.xlsx", lambda: sheet([["PORTFOLIO_PID", "MMS", "ISSN", "ISSN"]])),
             Accept(rows=[], encoding=None), kind="extended-export"))
    add(Case("extended_export_numeric_pid", book("ee-num.xlsx", lambda: Book([SheetXml("Sheet1",
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>PORTFOLIO_PID</t></is></c><c r="B1" t="inlineStr"><is><t>MMS</t></is></c></row>'
        f'<row r="2"><c r="A2" s="0" t="n"><v>{big}</v></c><c r="B2" t="inlineStr"><is><t>{MMS[0]}</t></is></c></row></sheetData>')])),
        Refuse(row=2, column="PORTFOLIO_PID", match="stored as an Excel number"), kind="extended-export"))
    return c


def _prefix_sheet(parts: dict[str, bytes]) -> dict[str, bytes]:
    data = parts[SHEET].decode()
    data = data.replace('<worksheet xmlns="', '<x:worksheet xmlns:x="').replace("</worksheet>", "</x:worksheet>")
    for tag in ("sheetData", "row", "c", "is", "t", "v"):
        data = data.replace(f"<{tag}>", f"<x:{tag}>").replace(f"<{tag} ", f"<x:{tag} ").replace(f"</{tag}>", f"</x:{tag}>")
    parts[SHEET] = data.encode()
    return parts


def _sheet_in_utf16(parts: dict[str, bytes]) -> dict[str, bytes]:
    xml = parts[SHEET].decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    parts[SHEET] = codecs.BOM_UTF16_LE + xml.encode("utf-16-le")
    return parts


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    import io
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CASES = cases()


def main(out: str) -> None:
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        folder = root / case.name
        folder.mkdir(exist_ok=True)
        if case.name in ("fifo", "unix_socket", "dev_zero", "dev_null"):
            continue
        try:
            path = case.build(folder)
        except OSError as exc:
            print(f"{case.name}: not built ({exc})")
            continue
        print(f"{case.name}: {path} -> {case.expect}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "hostile")
