"""The sample generator: deterministic, Alma-shaped, and every scenario of truth.json is in the files."""
from __future__ import annotations

import json
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from almaclean.sample import realdata_dir
from almaclean.sample.extended import EXTENDED_EXPORT_HEADER
from almaclean.sample.generator import generate
from almaclean.sample.realdata import BUNDLED_DIR, derive_titles, kbart_files, load_titles
from conftest import KBART_DIR, KBART_FILES, kbart_excerpt_lines

SCALE = 0.4  # 2,000 portfolios: every scenario, quick


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    manifest = generate(out, seed=7, scale=SCALE)
    truth = json.loads(manifest.path("truth").read_text(encoding="utf-8"))
    portfolios = pl.read_csv(manifest.path("portfolios"), infer_schema=False)
    return manifest, truth, portfolios


def _keys(cell: str | None) -> set[str]:
    return {v.strip().replace("-", "").upper() for v in (cell or "").split(";") if v.strip()}


def _ee(path: Path) -> tuple[tuple[str, ...], pl.DataFrame]:
    frame = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string").to_polars()
    return frame.row(0), frame.slice(1)


def test_same_seed_same_bytes_other_seed_differs(tmp_path, sample):
    a = generate(tmp_path / "a", seed=3, scale=0.1)
    b = generate(tmp_path / "b", seed=3, scale=0.1)
    c = generate(tmp_path / "c", seed=4, scale=0.1)
    names = sorted(p.name for p in a.out_dir.iterdir())
    assert names == sorted(p.name for p in b.out_dir.iterdir())
    assert len(names) == 5 + len(a.extended_exports)
    for name in names:
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name
    assert a.path("portfolios").read_bytes() != c.path("portfolios").read_bytes()
    assert a.path("p2e").read_bytes() != c.path("p2e").read_bytes()


def test_refuses_to_overwrite_an_existing_sample(tmp_path):
    from almaclean.errors import InputError

    generate(tmp_path, seed=1, scale=0.05)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(InputError, match="a sample is there already .*portfolios.csv") as caught:
        generate(tmp_path, seed=2, scale=0.05)
    assert caught.value.exit_code == 2
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(("options", "message"), [
    ({"scale": 0}, "--scale 0 gives 0 portfolios"), ({"scale": 201}, "--scale 201 gives 1,005,000 portfolios"),
    ({"ee_rows": 0}, "--ee-rows 0: must be 1 to 100,000"), ({"ee_rows": 100_001}, "--ee-rows 100001"),
])
def test_bad_sample_options_are_bad_input(tmp_path, options, message):
    from almaclean.errors import InputError

    with pytest.raises(InputError, match=message) as caught:
        generate(tmp_path / "s", **options)
    assert caught.value.exit_code == 2 and not (tmp_path / "s").exists()


def test_bundled_title_table_matches_the_real_files():
    """The bundled table holds, row for row, what the raw KBART files say: checked on the lines of
    the excerpts (tests/data/kbart), at their line numbers in the raw files."""
    bundled = load_titles(BUNDLED_DIR)
    assert bundled.height == 20_298  # tests/data/kbart/README.md: 4,614 + 893 + 14,288 + 503
    assert (BUNDLED_DIR / "titles.tsv.gz").stat().st_size < 3_000_000
    assert realdata_dir() == BUNDLED_DIR
    derived = derive_titles(KBART_DIR)
    assert [p.name for p in kbart_files(KBART_DIR)] == sorted(KBART_FILES.values())
    offset, expected = 0, []
    for source, name in KBART_FILES.items():  # the bundled table's order
        expected += [offset + line - 1 for line in kbart_excerpt_lines(name)]
        offset += bundled.filter(pl.col("source") == source).height
    assert derived.height == len(expected) > 500
    assert derived.equals(bundled[expected])


def test_ids_are_alma_shaped_text(sample):
    manifest, truth, portfolios = sample
    assert portfolios.height == manifest.counts["portfolios"] == round(5000 * SCALE)
    for column, prefix in (("Portfolio Id", "53"), ("MMS Id", "99")):
        assert portfolios[column].str.contains(rf"^{prefix}\d{{10,13}}3681$").all()  # 16-19 digits
    assert portfolios["Portfolio Id"].n_unique() == portfolios.height
    assert portfolios["MMS Id"].n_unique() == portfolios.height
    pols = pl.read_csv(manifest.path("po_lines"), infer_schema=False)
    assert set(pols["Portfolio Id"].drop_nulls()) <= set(portfolios["Portfolio Id"])
    assert set(pols["MMS Id"].drop_nulls()) <= set(portfolios["MMS Id"])


def test_p2e_duplicates_point_at_cz_keepers(sample):
    manifest, truth, portfolios = sample
    by_id = {r["Portfolio Id"]: r for r in portfolios.to_dicts()}
    dups = truth["p2e_duplicates"]
    assert len(dups) == manifest.counts["p2e_duplicates"] > 0
    for d in dups:
        copy, keeper = by_id[d["portfolio_id"]], by_id[d["keeper_portfolio_id"]]
        assert copy["Is Standalone"] == "Yes" and copy["Portfolio Linked To CZ"] == "N"
        assert copy["Electronic Collection Id"] is None
        assert f"(EDU01){d['legacy_id'][5:]}" in copy["Network Number"]
        assert keeper["Is Standalone"] == "No" and keeper["Portfolio Linked To CZ"] == "Y"
        assert keeper["Availability"] == "Available"
        assert (_keys(copy["ISSN"]) | _keys(copy["ISBN"])) & (_keys(keeper["ISSN"]) | _keys(keeper["ISBN"]))
        assert keeper["MMS Id"] == d["keeper_mms_id"]
    relations = {d["coverage_relation"] for d in dups}
    assert relations == {"contained", "partial", "unknown"}
    partial = set(truth["partial_coverage"])
    for d in dups:
        if d["portfolio_id"] in partial:
            p2e_from = int(by_id[d["portfolio_id"]]["Coverage Statement"][15:19])
            keeper_from = int(by_id[d["keeper_portfolio_id"]]["Coverage Statement"][15:19])
            assert p2e_from < keeper_from
        elif d["coverage_relation"] == "contained":
            p2e_cov = by_id[d["portfolio_id"]]["Coverage Statement"]
            keeper_cov = by_id[d["keeper_portfolio_id"]]["Coverage Statement"]
            assert int(p2e_cov[15:19]) >= int(keeper_cov[15:19]) and "until" in p2e_cov


def test_p2e_files_hold_every_line(sample):
    manifest, truth, portfolios = sample
    lines = manifest.path("p2e").read_text(encoding="utf-8").splitlines()
    pairs = dict(line.split(",") for line in lines)
    assert len(pairs) == len(lines)
    records = truth["p2e_duplicates"] + truth["p2e_only"]
    assert all(pairs[r["legacy_id"]] == "portfolio" for r in records)
    assert all(pairs[x] == "database" for x in truth["p2e_database_lines"])
    networks = " ".join(portfolios["Network Number"].drop_nulls())
    for legacy in truth["p2e_deleted_lines"]:
        assert pairs[legacy] == "portfolio" and f"(EDU01){legacy[5:]}" not in networks
    report = fastexcel.read_excel(str(manifest.path("p2e_report"))).load_sheet(0, dtypes="string").to_polars()
    assert report.columns == ["Legacy ID", "Type", "Title", "ISSN", "ISBN", "856 URL", "Provider", "PO Number"]
    assert report["Legacy ID"].to_list() == list(pairs)
    assert not report["856 URL"].drop_nulls().str.starts_with(truth["proxy_prefix"]).any()


def test_po_lines_match_truth_and_portfolios(sample):
    manifest, truth, portfolios = sample
    pols = pl.read_csv(manifest.path("po_lines"), infer_schema=False)
    assert pols["PO Line Reference"].str.contains(r"^POL-\d+$").all()
    status = dict(zip(pols["PO Line Reference"], pols["Status"]))
    pol_of = dict(zip(portfolios["Portfolio Id"], portfolios["PO Line Reference"]))
    assert truth["po_lines"]
    for p in truth["po_lines"]:
        assert status[p["po_line"]] == p["pol_status"]
        assert pol_of[p["portfolio_id"]] == p["po_line"]
    p2e_statuses = {d["pol_status"] for d in truth["p2e_duplicates"] if d["po_line"]}
    assert {"ACTIVE", "CLOSED"} <= p2e_statuses
    assert pols["Portfolio Id"].null_count() > 0  # lines linked to nothing any more


def test_messy_identifiers_junk_and_lookalikes(sample):
    manifest, truth, portfolios = sample
    standalone = portfolios.filter(pl.col("Is Standalone") == "Yes")
    issn = standalone["ISSN"].drop_nulls()
    isbn = standalone["ISBN"].drop_nulls()
    assert issn.str.contains(r"^\d{7}[\dx]($|;)").any() and issn.str.contains(r"\d{7}x").any()
    assert issn.str.contains("; ").any() and issn.str.contains(r"^\d{4}-\d{3}[\dX]").any()
    assert isbn.str.contains(r"(^|; )\d{9}[\dX](;|$)").any()  # an ISBN-10 form
    cells = dict(zip(portfolios["Portfolio Id"], (portfolios["ISSN"].fill_null("") + " " + portfolios["ISBN"].fill_null(""))))
    junk_total = 0
    for value, pids in truth["junk_identifiers"].items():
        junk_total += len(pids)
        assert all(value in cells[p] for p in pids)
    assert junk_total >= 20
    titles = dict(zip(portfolios["Portfolio Id"], portfolios["Title"]))
    by_id = {r["Portfolio Id"]: r for r in portfolios.to_dicts()}
    assert truth["title_only_lookalikes"]
    for look in truth["title_only_lookalikes"]:
        assert titles[look["portfolio_id"]] == titles[look["lookalike_of"]]
        mine, theirs = by_id[look["portfolio_id"]], by_id[look["lookalike_of"]]
        junk = {k.replace("-", "") for k in truth["junk_identifiers"]}
        assert not ((_keys(mine["ISSN"]) | _keys(mine["ISBN"])) - junk) & (_keys(theirs["ISSN"]) | _keys(theirs["ISBN"]))
    assert portfolios["Title"].str.contains(r"[^\x00-\x7F]").sum() > 100
    assert portfolios["Portfolio Static URL"].drop_nulls().str.starts_with(truth["proxy_prefix"]).any()


def test_inactive_and_not_available_collection(sample):
    manifest, truth, portfolios = sample
    down = portfolios.filter(pl.col("Electronic Collection Id").is_in(truth["not_available_collections"]))
    assert down.height > 0 and (down["Availability"] == "Not Available").all()
    inactive = set(portfolios.filter(pl.col("Availability") == "Not Available")["Portfolio Id"])
    assert inactive == set(truth["inactive_portfolios"])
    assert set(portfolios["Availability"].unique()) == {"Available", "Not Available"}
    cov = portfolios["Coverage Statement"].drop_nulls()
    assert cov.str.contains(r"^Available from \d{4} until \d{4}\.$").any()
    assert cov.str.contains(r"Most recent \d+ year\(s\) not available\.$").any()


def test_extended_exports_header_rows_and_categories(sample):
    manifest, truth, portfolios = sample
    assert len(manifest.extended_exports) == 4
    assert [EXTENDED_EXPORT_HEADER.count(n) for n in ("ISSN", "ISBN", "OTHER_SYSTEM_NUMBER")] == [3, 3, 3]
    assert len(EXTENDED_EXPORT_HEADER) == 99
    outcomes = set()
    for name in manifest.extended_exports:
        assert name.endswith("_portfolios.xlsx") and " " not in name
        header, rows = _ee(manifest.out_dir / name)
        t = truth["extended_export_truth"][name]
        assert header == (*EXTENDED_EXPORT_HEADER, *t.get("extra_empty_columns", ()))
        for extra in rows.columns[len(EXTENDED_EXPORT_HEADER):]:
            assert rows[extra].is_null().all()
        col = {h: rows.to_series(i) for i, h in reversed(list(enumerate(header)))}  # first of duplicates
        assert rows.height == t["rows"]
        members = set(portfolios.filter(pl.col("Electronic Collection Id") == t["collection_id"])["Portfolio Id"])
        assert set(col["PORTFOLIO_PID"]) == members
        pids = col["PORTFOLIO_PID"]
        assert set(pids.filter(col["LOCALIZED"] == "N")) == set(t["categories"]["localized"])
        assert set(pids.filter(col["AVAILABILITY"] == "INACTIVE")) == set(t["categories"]["inactive"])
        assert set(pids.filter(col["FROM_YEAR"].is_not_null())) == set(t["categories"]["local_coverage"])
        assert set(pids.filter(col["URL"].is_not_null())) == set(t["categories"]["url_override"])
        assert set(pids.filter(col["PO_LINE"].is_not_null())) == set(t["categories"]["po_line"])
        assert set(pids.filter(col["PUBLIC_NOTES"].is_not_null())) == set(t["categories"]["notes"])
        assert set(pids.filter(col["ACCESS_TYPE"].is_not_null())) == set(t["categories"]["local_settings"])
        outcomes.add(t["reactivate_all"])
        for cell in t["hostile_cells"]:
            row = pids.to_list().index(cell["portfolio_id"])
            assert col[cell["column"]][row] == cell["value"]
        if not t["reactivate_all"]:
            assert {c["value"] for c in t["hostile_cells"]} >= {"0012", "-", "@user", "+33 1 44 27 00 00"}
            assert all(t["categories"].values())
    assert outcomes == {True, False}
