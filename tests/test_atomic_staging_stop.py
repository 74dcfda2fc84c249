"""A stopped run's staging folder stays removed: a worker thread still writing makes no new one."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from almaclean.errors import AlmacleanError
from almaclean.write.atomic import atomic_path, make_folder
from almaclean.write.staging import staging_folder

names = st.lists(st.text(alphabet="abcdefgh-_", min_size=1, max_size=6), min_size=1, max_size=3)


def test_a_file_written_after_the_staging_folder_was_removed_fails_and_makes_nothing(tmp_path):
    out = tmp_path / "out"
    with staging_folder(out, "p2e-EDU01") as staging:
        pass   # the block ends without publishing: the folder is removed, as on a stop
    with pytest.raises(AlmacleanError, match="staging folder was removed"):
        with atomic_path(staging / "deletion-sets" / "set_1.csv") as temp:
            temp.write_text("x", encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        make_folder(staging / "inputs" / "portfolios")
    assert sorted(p.name for p in out.iterdir()) == []


@given(names)
def test_make_folder_makes_every_missing_level_below_an_existing_folder(tmp_path_factory, parts):
    root = tmp_path_factory.mktemp("root")
    target = root.joinpath(*parts)
    make_folder(target)
    make_folder(target)   # again: nothing to do
    assert target.is_dir()


@given(names, names)
def test_make_folder_never_makes_a_missing_staging_folder(tmp_path_factory, above, below):
    root = tmp_path_factory.mktemp("root")
    staging = root.joinpath(*above[:-1], f".{above[-1]}.partial")
    with pytest.raises(FileNotFoundError):
        make_folder(staging.joinpath(*below))
    assert not staging.exists()
