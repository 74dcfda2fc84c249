"""map_unique: a per-value function over a big column, run once per distinct value."""
from __future__ import annotations

import polars as pl

from almaclean.normalize import map_unique


def test_each_value_gets_its_function_s_result_nulls_included_in_the_column_s_order():
    seen = []

    def described(value):
        seen.append(value)
        return "empty" if value is None else value.upper()

    column = pl.Series("cell", ["b", None, "a", "b", None, "c"])
    assert map_unique(column, described, pl.String).to_list() == ["B", "empty", "A", "B", "empty", "C"]
    assert sorted(seen, key=str) == sorted(["b", None, "a", "c"], key=str)  # once per distinct value
    assert map_unique(column, described, pl.String).name == "cell"


def test_lists_come_back_as_lists_and_an_empty_one_as_null():
    column = pl.Series("cell", ["a;b", "", None, "a;b"])
    split = map_unique(column, lambda value: value.split(";") if value else [], pl.List(pl.String))
    assert split.to_list() == [["a", "b"], None, None, ["a", "b"]]


def test_a_column_of_nulls_only_gets_the_result_for_null_from_one_call():
    seen = []

    def described(value):
        seen.append(value)
        return "empty"

    column = pl.Series("cell", [None, None, None], dtype=pl.String)
    result = map_unique(column, described, pl.String)
    assert (result.to_list(), result.name, result.dtype, seen) == (["empty"] * 3, "cell", pl.String, [None])
    split = map_unique(column, lambda value: [], pl.List(pl.String))
    assert (split.to_list(), split.dtype) == ([None] * 3, pl.List(pl.String))
    assert map_unique(column, lambda value: ["x"], pl.List(pl.String)).to_list() == [["x"]] * 3
    assert map_unique(column.head(0), described, pl.String).to_list() == []
