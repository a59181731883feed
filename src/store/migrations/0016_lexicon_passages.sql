-- vibe index schema, version 16: a file's passages (`chunks`, see src/context/lexicon.rs) move
-- to a table of their own, which ranking reads for its best few hundred files only instead of
-- for every file; the lexicon row keeps their count and summed length (`passage_terms`), from
-- which the passages' average length is computed. Every file is analysed again once.
DROP TABLE lexicon;
CREATE TABLE lexicon (
    file_id       INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    hash          BLOB NOT NULL,
    length        INTEGER NOT NULL,
    passages      INTEGER NOT NULL,
    passage_terms INTEGER NOT NULL,
    terms         BLOB NOT NULL,
    names         BLOB NOT NULL
);
CREATE TABLE passages (
    file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    chunks  BLOB NOT NULL
);
