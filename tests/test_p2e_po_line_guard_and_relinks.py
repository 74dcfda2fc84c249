"""The POL guard and POL relink rules on small frames: which PO lines tie to which P2E
portfolio (three sources), which status counts, and each relink row's reason and steps."""
from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from almaclean.p2e.match import DELETE, DISAGREE, NO_DUPLICATE, REVIEW, TITLE_ONLY
from almaclean.p2e.relink import (
    CANCELLED, CLOSED_RELINK_STEPS, COPY_STEP, NEEDS_REVIEW, NO_KEEPER_YET, RELINK_COLUMNS, RELINK_STEPS,
    SEVERAL_KEEPERS, UNKNOWN_STATUS_STEP, awaiting_relink, guarded_portfolios, po_line_links, po_line_status, relinks,
)

P1, P2, P3, P4, P5, P6 = (f"53{n:015d}" for n in range(1, 7))
B1, B2, B3, B4, B5, B6 = (f"99{n:015d}" for n in range(1, 7))
K1, KB1 = "531000000000000001", "991000000000000001"


def p2e(rows: list[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"portfolio_id": pl.String, "mms_id": pl.String,
                                      "po_line": pl.String, "p2e_po_number": pl.String}, orient="row")


def po_export(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.String for c in ("po_line", "status", "mms_id", "portfolio_id")})


def decisions(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.String for c in
                                      ("portfolio_id", "decision", "reason", "keep_portfolio_id", "keep_mms_id")},
                        orient="row")


def test_links_come_from_the_portfolio_export_the_p2e_file_and_the_po_line_export():
    frame = p2e([(P1, B1, " POL-1 ; POL-2,POL-3 | POL-4", None),
                 (P2, B2, None, "POL-5"),
                 (P3, B3, "POL-6", "POL-6"),
                 (P4, B4, "", None)])
    lines = po_export([{"po_line": "POL-7", "status": "ACTIVE", "mms_id": None, "portfolio_id": P4},
                       {"po_line": "POL-8", "status": "ACTIVE", "mms_id": B2, "portfolio_id": None},
                       {"po_line": None, "status": "ACTIVE", "mms_id": B3, "portfolio_id": P3},
                       {"po_line": "POL-9", "status": "ACTIVE", "mms_id": "990000000000099999",
                        "portfolio_id": "530000000000099999"}])
    expected = pl.DataFrame({
        "portfolio_id": [P1, P1, P1, P1, P3, P2, P4, P2],
        "po_line": ["POL-1", "POL-2", "POL-3", "POL-4", "POL-6", "POL-5", "POL-7", "POL-8"],
        "source": ["portfolio export"] * 5 + ["P2E file", "PO line export", "PO line export"],
    })
    assert_frame_equal(po_line_links(frame, lines), expected)


def test_links_without_a_po_line_export_use_the_two_p2e_columns():
    frame = p2e([(P1, B1, "POL-1", "POL-2")])
    expected = pl.DataFrame({"portfolio_id": [P1, P1], "po_line": ["POL-1", "POL-2"],
                             "source": ["portfolio export", "P2E file"]})
    assert_frame_equal(po_line_links(frame, None), expected)


def test_status_is_the_first_stated_one_and_lines_without_a_number_are_dropped():
    lines = po_export([{"po_line": "POL-1", "status": None, "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-1", "status": "CLOSED", "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-1", "status": "ACTIVE", "mms_id": None, "portfolio_id": None},
                       {"po_line": None, "status": "CANCELLED", "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-2", "status": None, "mms_id": None, "portfolio_id": None}])
    result = po_line_status(lines).sort("po_line")
    assert result.to_dicts() == [{"po_line": "POL-1", "po_line_status": "CLOSED"},
                                 {"po_line": "POL-2", "po_line_status": None}]


def test_guarded_portfolios_join_their_po_lines_once_each():
    frame = p2e([(P1, B1, "POL-1; POL-2", "POL-2"), (P2, B2, None, None)])
    lines = po_export([{"po_line": "POL-3", "status": "ACTIVE", "mms_id": B1, "portfolio_id": None}])
    assert guarded_portfolios(frame, lines).to_dicts() == [{"portfolio_id": P1, "po_lines": "POL-1; POL-2; POL-3"}]


def test_a_portfolio_s_po_lines_are_named_in_the_order_its_sources_give_them():
    # The Groups sheet shows each kept portfolio's PO lines as the librarian will look them up:
    # the portfolio export's first, in its order, then the P2E file's, then the PO line export's.
    frame = p2e([(P1, B1, "POL-9; POL-1", "POL-5; POL-1")])
    lines = po_export([{"po_line": "POL-3", "status": "ACTIVE", "mms_id": B1, "portfolio_id": None}])
    assert guarded_portfolios(frame, lines).to_dicts() == [{"portfolio_id": P1, "po_lines": "POL-9; POL-1; POL-5; POL-3"}]


def test_only_duplicates_decided_delete_await_their_relinks_the_others_wait_on_review():
    frame = p2e([(P1, B1, "POL-1; POL-2", None), (P2, B2, "POL-3", None)])
    decided = decisions([(P1, DELETE, "neither states coverage", K1, KB1),
                         (P2, REVIEW, TITLE_ONLY, None, None)])
    pol = relinks(frame, decided, None)
    assert pol["portfolio_id"].to_list() == [P1, P1, P2]
    assert awaiting_relink(pol).select("portfolio_id", "po_line").rows() == [(P1, "POL-1"), (P1, "POL-2")]

def test_each_relink_row_says_ready_or_why_blocked_and_gives_the_steps():
    frame = p2e([(P1, B1, "POL-1", None), (P2, B2, "POL-2", None), (P3, B3, "POL-3", None),
                 (P4, B4, "POL-4", None), (P5, B5, "POL-5", None), (P6, B6, "POL-6", None)])
    lines = po_export([{"po_line": "POL-1", "status": "ACTIVE", "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-2", "status": " Closed ", "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-3", "status": "Canceled", "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-5", "status": "CLOSED", "mms_id": None, "portfolio_id": None},
                       {"po_line": "POL-6", "status": "cancelled", "mms_id": None, "portfolio_id": None}])
    decided = decisions([(P1, DELETE, "keeper coverage contains the P2E coverage", K1, KB1),
                         (P2, DELETE, "neither states coverage", K1, KB1),
                         (P3, REVIEW, "partial or disjoint coverage", K1, KB1),
                         (P4, REVIEW, DISAGREE, K1, KB1),
                         (P5, REVIEW, TITLE_ONLY, None, None),
                         (P6, DELETE, "neither states coverage", K1, KB1)])
    result = relinks(frame, decided, lines)
    assert result.columns == [*RELINK_COLUMNS, "source", "decision", "reason", "steps"]
    rows = {r["portfolio_id"]: r for r in result.iter_rows(named=True)}
    assert list(rows) == [P1, P2, P3, P4, P5, P6]
    ready = rows[P1]
    assert (ready["po_line"], ready["po_line_status"], ready["mms_id"]) == ("POL-1", "ACTIVE", B1)
    assert (ready["target_portfolio_id"], ready["target_mms_id"], ready["blocked_reason"]) == (K1, KB1, None)
    assert ready["steps"] == RELINK_STEPS and ready["source"] == "portfolio export"
    assert rows[P2]["steps"] == CLOSED_RELINK_STEPS and rows[P2]["blocked_reason"] is None
    assert rows[P3]["blocked_reason"] == CANCELLED + "; " + NEEDS_REVIEW + "partial or disjoint coverage"
    # a blocked row has no relink steps: its reason says what to settle first
    assert rows[P3]["target_portfolio_id"] == K1 and rows[P3]["steps"] is None
    assert rows[P4]["blocked_reason"] == SEVERAL_KEEPERS
    assert (rows[P4]["target_portfolio_id"], rows[P4]["target_mms_id"]) == (None, None)
    assert rows[P4]["steps"] is None
    assert rows[P5]["blocked_reason"] == NO_KEEPER_YET + TITLE_ONLY
    assert rows[P5]["steps"] is None
    assert rows[P6]["blocked_reason"] == CANCELLED and rows[P6]["target_mms_id"] == KB1
    assert rows[P6]["steps"] is None


def test_portfolios_without_a_duplicate_or_a_decision_have_no_relink_row():
    frame = p2e([(P1, B1, "POL-1", None), (P2, B2, "POL-2", None), (P3, B3, "POL-3", None)])
    decided = decisions([(P1, NO_DUPLICATE, "no CZ duplicate", None, None),
                         (P3, DELETE, "neither states coverage", K1, KB1)])
    result = relinks(frame, decided, None)
    assert result["portfolio_id"].to_list() == [P3]
    assert result["steps"].to_list() == [UNKNOWN_STATUS_STEP + RELINK_STEPS]


def test_relink_rows_sort_by_portfolio_then_po_line():
    frame = p2e([(P2, B2, "POL-9; POL-1", None), (P1, B1, "POL-5", None)])
    decided = decisions([(P1, DELETE, "neither states coverage", K1, KB1),
                         (P2, DELETE, "neither states coverage", K1, KB1)])
    result = relinks(frame, decided, None)
    assert result.select("portfolio_id", "po_line").rows() == [(P1, "POL-5"), (P2, "POL-1"), (P2, "POL-9")]


def test_titles_of_both_sides_and_a_copy_step_for_local_data():
    frame = p2e([(P1, B1, "POL-1", None), (P2, B2, "POL-2", None)]).with_columns(
        pl.Series("title", ["Mens [electronic resource]", None]), pl.Series("p2e_title", [None, "Urban History"]))
    decided = decisions([(P1, "copy first", "local data", K1, KB1), (P2, DELETE, "neither states coverage", K1, KB1)]
                        ).with_columns(pl.lit("Mens").alias("keep_title"),
                                       pl.Series("local_data", ["public note 'Law School users only'", None]))
    rows = {r["portfolio_id"]: r for r in relinks(frame, decided, None).iter_rows(named=True)}
    assert (rows[P1]["title"], rows[P1]["target_title"]) == ("Mens [electronic resource]", "Mens")
    assert rows[P2]["title"] == "Urban History"
    assert rows[P1]["steps"] == (COPY_STEP + "public note 'Law School users only'. " + UNKNOWN_STATUS_STEP
                                 + RELINK_STEPS)
    assert rows[P2]["steps"] == UNKNOWN_STATUS_STEP + RELINK_STEPS


def test_additional_po_lines_guard_and_relink():
    frame = p2e([(P1, B1, None, None)])
    more = pl.DataFrame({"portfolio_id": [P1], "po_line": ["POL-7; POL-8"],
                         "source": ["portfolio export (additional PO lines)"]})
    assert guarded_portfolios(frame, None, more).to_dicts() == [{"portfolio_id": P1, "po_lines": "POL-7; POL-8"}]
    result = relinks(frame, decisions([(P1, DELETE, "neither states coverage", K1, KB1)]), None, more)
    assert result["po_line"].to_list() == ["POL-7", "POL-8"]
