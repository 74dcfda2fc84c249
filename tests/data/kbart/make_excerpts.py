"""Rebuild the KBART excerpts in this folder from the four raw files (maintainers only).

    python tests/data/kbart/make_excerpts.py PATH/TO/realdata

Each excerpt is the raw file's header line and a chosen set of its data lines, byte for byte and
in the file's order, joined by CRLF with no line ending after the last one, as in the raw files.
The lines kept are the first FIRST_LINES data lines, the lines carrying each quirk the raw files
are documented for (README.md), and the last line. `excerpts.json` records, per file, the raw
file's SHA-256 and the data line numbers kept (1 = the first line after the header).
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST_LINES = 100
Row = dict[str, str]


def _rows(path: Path) -> tuple[bytes, list[bytes], list[Row]]:
    data = path.read_bytes()
    header, *lines = data.split(b"\r\n")
    names = header.decode("utf-8").split("\t")
    return header, lines, [dict(zip(names, line.decode("utf-8").split("\t"))) for line in lines]


def _first(rows: list[Row], wanted: Callable[[Row], bool], n: int | None = None) -> list[int]:
    found = [i for i, row in enumerate(rows) if wanted(row)]
    return found if n is None else found[:n]


def _ids(row: Row) -> set[str]:
    return {v for v in (row["print_identifier"], row["online_identifier"]) if v}


def _year_only(value: str) -> bool:
    return len(value) == 4 and value.isdigit()


def _also_on_muse(jstor: list[Row], muse: list[Row]) -> list[int]:
    """The first JSTOR lines sharing an ISSN with Project MUSE (the MUSE lines are kept too)."""
    on_muse = set().union(*map(_ids, muse))
    return _first(jstor, lambda r: bool(_ids(r) & on_muse), 40)


def choose(name: str, rows: list[Row], others: dict[str, list[Row]]) -> list[int]:
    """Data line indexes (0-based) to keep, beyond the first lines and the last one."""
    if name.startswith("JSTOR"):
        return (_first(rows, lambda r: r["print_identifier"] == "0898-5510")
                + _first(rows, lambda r: not r["online_identifier"], 25)
                + _first(rows, lambda r: not r["print_identifier"], 10)
                + _first(rows, lambda r: _year_only(r["date_first_issue_online"])
                         or _year_only(r["date_last_issue_online"]))
                + _also_on_muse(rows, others["PROJECTMUSE"])
                + _first(rows, lambda r: "Psychotherapeutica" in r["publication_title"])
                + _first(rows, lambda r: not r["publication_title"].isascii(), 20))
    if name.startswith("PROJECTMUSE"):
        jstor = others["JSTOR"]
        jstor_kept = set().union(*(_ids(jstor[i]) for i in _also_on_muse(jstor, rows)))
        online = [r["online_identifier"] for r in rows if r["online_identifier"]]
        shared = {v for v in online if online.count(v) > 1}
        return (_first(rows, lambda r: bool({"1552-8339", "0742-4617", "1935-8562"} & _ids(r)))
                + _first(rows, lambda r: not r["print_identifier"])
                + _first(rows, lambda r: r["online_identifier"] in shared)
                + _first(rows, lambda r: r["date_last_issue_online"] != "", 30)
                + _first(rows, lambda r: r["print_identifier"] == "0898-5510")
                + _first(rows, lambda r: bool(_ids(r) & jstor_kept)))
    if name.startswith("CLASSIQUESGARNIER"):
        def isbn10(value: str) -> bool:
            return len(value.replace("-", "")) == 10 and value.count("-") == 3

        return (_first(rows, lambda r: isbn10(r["print_identifier"]), 40)
                + _first(rows, lambda r: r["print_identifier"] == "2-86503-237-2")
                + _first(rows, lambda r: isbn10(r["online_identifier"]))
                + _first(rows, lambda r: r["publication_type"] == "serial", 20)
                + _first(rows, lambda r: r["publication_title"] == "Théâtre complet. Tome I")
                + _first(rows, lambda r: "œ" in r["publication_title"] or "æ" in r["publication_title"], 10)
                + _first(rows, lambda r: "’" in r["publication_title"], 10)
                + _first(rows, lambda r: "//num.classiques-garnier.com" in r["title_url"], 5)
                + _first(rows, lambda r: "//www.classiques-garnier.com" in r["title_url"], 5)
                + _first(rows, lambda r: "//classiques-garnier.com" in r["title_url"], 5))
    if name.startswith("ERUDIT"):
        return (_first(rows, lambda r: bool({"2763772945", "9782980846430"} & _ids(r)))
                + _first(rows, lambda r: not _ids(r))
                + _first(rows, lambda r: r["print_identifier"] == "1492-8647")  # "Mens", two titles
                + _first(rows, lambda r: r["publication_type"] == "monograph", 40)
                + _first(rows, lambda r: len(r["print_identifier"]) == 10, 10))
    raise ValueError(name)


def main(realdata: Path) -> None:
    files = sorted(realdata.glob("*_20*.txt"))
    parsed = {path.name: _rows(path) for path in files}
    by_provider = {name.split("_")[0]: rows for name, (_, _, rows) in parsed.items()}
    manifest = {}
    for path in files:
        header, lines, rows = parsed[path.name]
        kept = sorted(set(range(min(FIRST_LINES, len(lines)))) | set(choose(path.name, rows, by_provider))
                      | {len(lines) - 1})
        (HERE / path.name).write_bytes(b"\r\n".join([header, *(lines[i] for i in kept)]))
        manifest[path.name] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "data_lines": len(lines),
                               "kept": [i + 1 for i in kept]}
        print(f"{path.name}: {len(kept)} of {len(lines)} data lines")
    entries = [f'  {json.dumps(name)}: {json.dumps(entry, separators=(", ", ": "))}' for name, entry in manifest.items()]
    (HERE / "excerpts.json").write_text("{\n" + ",\n".join(entries) + "\n}\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
