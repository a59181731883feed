-- vibe index schema, version 15: the file graph `vibe context` ranks with (files joined by
-- references and imports, with their weights; see src/repomap/rank.rs, `Edges`), kept so that a
-- warm run reads it instead of building it from every file's references again. One row: `key`
-- names what it was built from (the graph generation, which an index run that changes any
-- file's definitions, references or imports advances and which clears this table, and the
-- candidate files); a row with another key is stale and built again by the next run.
CREATE TABLE file_graph (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    key  TEXT NOT NULL,
    data BLOB NOT NULL
);
