-- vibe index schema, version 1.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every walked file: source files (language set), other text files (ftype only) and skipped
-- files (skip_reason set).
CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    language     TEXT,
    ftype        TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    hash         BLOB,
    lines        INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    parse_errors INTEGER NOT NULL DEFAULT 0,
    skip_reason  TEXT,
    package      TEXT,
    main_guard   INTEGER NOT NULL DEFAULT 0,
    rank         REAL NOT NULL DEFAULT 0,
    -- Rank of each of the file's symbols, f32 little-endian, in symbol id order.
    symbol_ranks BLOB
);

CREATE TABLE symbols (
    id        INTEGER PRIMARY KEY,
    file_id   INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    parent    TEXT,
    signature TEXT NOT NULL,
    line      INTEGER NOT NULL,
    end_line  INTEGER NOT NULL,
    doc       TEXT
);
CREATE INDEX symbols_file ON symbols(file_id);
CREATE INDEX symbols_name ON symbols(name);

-- Every identifier the index has seen, so ranking works on integer ids. Never shrinks (a
-- rebuild starts it afresh).
CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- The ranking graph of one file, as varint blobs over `names` ids: its references (id, count),
-- sorted by name text, and its definitions (id, impl flag byte, shape code byte), in symbol
-- order. One row per file keeps a re-index's write and the ranking's read cheap (a row per
-- identifier would be ~300k rows on the Python standard library, read back on every re-rank).
CREATE TABLE refs (
    file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    data    BLOB NOT NULL,
    defs    BLOB NOT NULL
);

CREATE TABLE imports (
    id       INTEGER PRIMARY KEY,
    file_id  INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    line     INTEGER NOT NULL,
    raw      TEXT NOT NULL,
    kind     TEXT NOT NULL,
    module   TEXT NOT NULL,
    names    TEXT NOT NULL,
    -- Resolution, rewritten whenever the set of files changes: the file ids it resolved to
    -- (space-separated) or the external package it names.
    targets  TEXT NOT NULL DEFAULT '',
    external TEXT
);
CREATE INDEX imports_file ON imports(file_id);

-- File → file import edges (deduplicated), derived from imports.targets.
CREATE TABLE edges (
    src INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    dst INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    PRIMARY KEY (src, dst)
) WITHOUT ROWID;
CREATE INDEX edges_dst ON edges(dst);

-- tiktoken counts of rendered map lines, keyed by a hash of the line and encoding, so a map can
-- be fitted to its budget without loading the tokenizer when nothing new is shown.
CREATE TABLE token_counts (
    hash  INTEGER PRIMARY KEY,
    count INTEGER NOT NULL
) WITHOUT ROWID;
