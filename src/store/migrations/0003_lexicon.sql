-- vibe index schema, version 3: the lexical index of `vibe context` (see src/context/lexicon.rs).
-- One row per analysed file: the content hash it was built from (a file whose `files.hash`
-- differs is analysed again), its length in terms, its term records, the same per passage
-- of consecutive lines (`chunks`), and the terms of each defined name (`names`). Built lazily by the first `vibe context`, so `vibe map`
-- never writes it.
CREATE TABLE lexicon (
    file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    hash    BLOB NOT NULL,
    length  INTEGER NOT NULL,
    terms   BLOB NOT NULL,
    chunks  BLOB NOT NULL,
    names   BLOB NOT NULL
);
