"""Real public KBART title lists (BACON, CC0) behind the sample generator.

The sample is built from the compact table bundled in this package (data/titles.tsv.gz, derived
from the four raw KBART files by `write_bundled_table`), so it is the same on every machine.
`load_titles(folder)` reads raw KBART files instead when given a folder of them (the same frame,
tested on excerpts of the raw files in tests/data/kbart).
"""
from __future__ import annotations

import gzip
import io
import logging
from pathlib import Path

import polars as pl

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).with_name("data")
BUNDLED_TABLE = "titles.tsv.gz"
# KBART file name prefix -> short source name used as the collection family.
SOURCES = {
    "JSTOR_": "JSTOR",
    "PROJECTMUSE_": "MUSE",
    "CLASSIQUESGARNIER_": "GARNIER",
    "ERUDIT_": "ERUDIT",
}
TITLE_COLUMNS = [
    "title",
    "print_identifier",
    "online_identifier",
    "date_first",
    "date_last",
    "date_monograph",
    "embargo",
    "title_url",
    "publisher",
    "publication_type",
    "source",
]
_KBART_TO_TITLE = {
    "publication_title": "title",
    "print_identifier": "print_identifier",
    "online_identifier": "online_identifier",
    "date_first_issue_online": "date_first",
    "date_last_issue_online": "date_last",
    "date_monograph_published_online": "date_monograph",
    "embargo_info": "embargo",
    "title_url": "title_url",
    "publisher_name": "publisher",
    "publication_type": "publication_type",
}


def realdata_dir() -> Path:
    """The folder the sample's titles come from: the bundled table's."""
    return BUNDLED_DIR


def kbart_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.txt") if any(p.name.startswith(k) for k in SOURCES))


def _read_text_tsv(data: bytes) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(data),
        separator="\t",
        infer_schema=False,
        quote_char=None,
    )


def derive_titles(folder: Path) -> pl.DataFrame:
    """The title table from the raw KBART files: one row per KBART row, text only, file order."""
    frames = []
    for path in kbart_files(folder):
        source = next(v for k, v in SOURCES.items() if path.name.startswith(k))
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        kbart = _read_text_tsv(raw)
        frames.append(
            kbart.select([pl.col(k).alias(v) for k, v in _KBART_TO_TITLE.items()]).with_columns(
                pl.lit(source).alias("source")
            )
        )
    # Sources in a fixed order, whatever the directory listing says.
    order = list(SOURCES.values())
    frames.sort(key=lambda f: order.index(f["source"][0]))
    titles = pl.concat(frames).select(TITLE_COLUMNS)
    return titles.with_columns(pl.all().str.strip_chars().replace("", None))


def load_titles(folder: Path | None = None) -> pl.DataFrame:
    """Title table (TITLE_COLUMNS, all text) from raw KBART files or the bundled derived table."""
    folder = Path(folder) if folder is not None else realdata_dir()
    bundled = folder / BUNDLED_TABLE
    if kbart_files(folder):
        titles = derive_titles(folder)
    elif bundled.exists():
        titles = _read_text_tsv(gzip.decompress(bundled.read_bytes())).select(TITLE_COLUMNS)
        titles = titles.with_columns(pl.all().replace("", None))
    else:
        raise FileNotFoundError(f"no KBART files or {BUNDLED_TABLE} in {folder}")
    log.info("read %d real titles from %s", titles.height, folder)
    return titles


def write_bundled_table(kbart_folder: Path, out: Path = BUNDLED_DIR / BUNDLED_TABLE) -> Path:
    """Rebuild the bundled table from the raw KBART files (maintainers only)."""
    titles = derive_titles(kbart_folder)
    buf = io.BytesIO()
    titles.write_csv(buf, separator="\t", quote_style="never", line_terminator="\n")
    # mtime=0: the same table always gives the same bytes.
    out.write_bytes(gzip.compress(buf.getvalue(), compresslevel=9, mtime=0))
    return out
