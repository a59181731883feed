-- vibe index schema, version 17: each defined name's terms (`names`) move out of the lexicon
-- row as the passages did in version 16, into one table of what ranking reads for its best few
-- hundred files only (`lexicon_deep`: passages and names). Every file is analysed again once.
DROP TABLE passages;
DROP TABLE lexicon;
CREATE TABLE lexicon (
    file_id       INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    hash          BLOB NOT NULL,
    length        INTEGER NOT NULL,
    passages      INTEGER NOT NULL,
    passage_terms INTEGER NOT NULL,
    terms         BLOB NOT NULL
);
CREATE TABLE lexicon_deep (
    file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
    chunks  BLOB NOT NULL,
    names   BLOB NOT NULL
);
