-- almaclean storage schema as of the baseline migration (0001), frozen: later changes are the
-- migrations in src/almaclean/store/migrations/versions (0007: rows stored by content, see
-- store/content.py). Portable between SQLite and PostgreSQL; {autoid} is the one
-- dialect-specific piece (store/sqlfiles.py fills it in). Every statement is idempotent.

CREATE TABLE IF NOT EXISTS institutions (
    code        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

-- One row per file ever ingested. (institution, kind, sha256) is unique: the same bytes
-- again are a no-op. The newest file of a (institution, kind, scope) is the current one;
-- older ones stay for history (see current_source_files.sql).
CREATE TABLE IF NOT EXISTS source_files (
    id               {autoid},
    institution_code TEXT NOT NULL REFERENCES institutions (code),
    kind             TEXT NOT NULL,
    scope            TEXT NOT NULL,
    file_name        TEXT NOT NULL,
    file_size        BIGINT NOT NULL,
    sha256           TEXT NOT NULL,
    row_count        INTEGER NOT NULL,
    format           TEXT NOT NULL,
    encoding         TEXT,
    header_json      TEXT NOT NULL,
    column_count     INTEGER NOT NULL,
    first_row        INTEGER NOT NULL,
    ingested_at      TEXT NOT NULL,
    tool_version     TEXT NOT NULL,
    UNIQUE (institution_code, kind, sha256)
);
CREATE INDEX IF NOT EXISTS source_files_scope ON source_files (institution_code, kind, scope);

-- Every data row exactly as read, by column position, so a file (an Extended Export with its
-- repeated headers included) can be written back cell for cell with source_files.header_json.
-- A file column whose cells are, row for row, exactly those of one canonical column is not
-- repeated: raw_columns names that column (load.raw_table puts the cells back). raw_rows holds
-- the other columns as a JSON object {"c<position>": text-or-null, ...}, and has no row at all
-- for a file whose every column is held (a clean portfolio export).
CREATE TABLE IF NOT EXISTS raw_columns (
    source_file_id   BIGINT NOT NULL REFERENCES source_files (id),
    column_position  INTEGER NOT NULL,
    canonical_column TEXT NOT NULL,
    PRIMARY KEY (source_file_id, column_position)
);

CREATE TABLE IF NOT EXISTS raw_rows (
    source_file_id BIGINT NOT NULL REFERENCES source_files (id),
    row_number     INTEGER NOT NULL,
    cells          TEXT NOT NULL,
    PRIMARY KEY (source_file_id, row_number)
);

-- Normalised tables: the canonical columns of each kind (kinds/*.py), text as read.
-- Analysis reads them by source file (the primary key's prefix); no secondary index is kept,
-- since each one costs about 10% of ingest time and no query uses it yet. Normalised ISSN/ISBN
-- values are not stored: normalize/identifiers.py derives them from these columns when an
-- analysis runs (storing 2 million derived rows per million portfolios cost more than deriving).
CREATE TABLE IF NOT EXISTS portfolios (
    source_file_id          BIGINT NOT NULL REFERENCES source_files (id),
    row_number              INTEGER NOT NULL,
    portfolio_id            TEXT NOT NULL,
    mms_id                  TEXT NOT NULL,
    title                   TEXT,
    publisher               TEXT,
    publication_date        TEXT,
    issn                    TEXT,
    isbn                    TEXT,
    network_number          TEXT,
    collection_id           TEXT,
    collection_name         TEXT,
    interface_name          TEXT,
    service_id              TEXT,
    portfolio_linked_to_cz  TEXT,
    collection_linked_to_cz TEXT,
    availability            TEXT,
    url                     TEXT,
    po_line                 TEXT,
    coverage_statement      TEXT,
    material_type           TEXT,
    license_name            TEXT,
    is_standalone           TEXT,
    PRIMARY KEY (source_file_id, row_number)
);

CREATE TABLE IF NOT EXISTS p2e_lines (
    source_file_id BIGINT NOT NULL REFERENCES source_files (id),
    row_number     INTEGER NOT NULL,
    legacy_id      TEXT NOT NULL,
    p2e_type       TEXT,
    title          TEXT,
    issn           TEXT,
    isbn           TEXT,
    url            TEXT,
    provider       TEXT,
    po_number      TEXT,
    PRIMARY KEY (source_file_id, row_number)
);

CREATE TABLE IF NOT EXISTS po_lines (
    source_file_id  BIGINT NOT NULL REFERENCES source_files (id),
    row_number      INTEGER NOT NULL,
    po_line         TEXT NOT NULL,
    title           TEXT,
    status          TEXT,
    order_line_type TEXT,
    vendor          TEXT,
    mms_id          TEXT,
    portfolio_id    TEXT,
    PRIMARY KEY (source_file_id, row_number)
);

CREATE TABLE IF NOT EXISTS extended_export_rows (
    source_file_id      BIGINT NOT NULL REFERENCES source_files (id),
    row_number          INTEGER NOT NULL,
    portfolio_id        TEXT NOT NULL,
    mms_id              TEXT NOT NULL,
    title               TEXT,
    localized           TEXT,
    availability        TEXT,
    issn                TEXT,
    isbn                TEXT,
    other_system_number TEXT,
    url                 TEXT,
    po_line             TEXT,
    coverage_statement  TEXT,
    publisher           TEXT,
    PRIMARY KEY (source_file_id, row_number)
);

-- Nightly P2E detection (src/almaclean/nightly/, docs/nightly.md). One row per institution
-- per nightly run; status is 'running' until the run is recorded, then 'succeeded' or
-- 'failed' (error says why). A run left 'running' (a killed process) is never compared with.
-- sources_json names the stored files the analysis used: {"portfolios": [id], ...}.
CREATE TABLE IF NOT EXISTS nightly_runs (
    id               {autoid},
    institution_code TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    tool_version     TEXT NOT NULL,
    status           TEXT NOT NULL,
    error            TEXT,
    sources_json     TEXT,
    findings         INTEGER
);
CREATE INDEX IF NOT EXISTS nightly_runs_institution ON nightly_runs (institution_code, status);

-- What a succeeded run found: one row per P2E portfolio with an outcome (delete, pol_relink,
-- review). Changed evidence is told by evidence_sha256 (sha256 of the evidence text).
CREATE TABLE IF NOT EXISTS nightly_findings (
    run_id              BIGINT NOT NULL REFERENCES nightly_runs (id),
    portfolio_id        TEXT NOT NULL,
    mms_id              TEXT,
    outcome             TEXT NOT NULL,
    keeper_portfolio_id TEXT,
    keeper_mms_id       TEXT,
    evidence            TEXT,
    evidence_sha256     TEXT NOT NULL,
    PRIMARY KEY (run_id, portfolio_id)
);

-- What changed since the institution's previous succeeded run (new, changed, resolved,
-- no longer a duplicate, open): resolved ones live only here.
CREATE TABLE IF NOT EXISTS nightly_changes (
    run_id           BIGINT NOT NULL REFERENCES nightly_runs (id),
    portfolio_id     TEXT NOT NULL,
    mms_id           TEXT,
    change           TEXT NOT NULL,
    what_changed     TEXT,
    outcome          TEXT,
    previous_outcome TEXT,
    keeper           TEXT,
    previous_keeper  TEXT,
    PRIMARY KEY (run_id, portfolio_id)
);
