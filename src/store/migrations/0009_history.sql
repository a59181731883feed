-- vibe index schema, version 9: the repository's recent commits, read from git by
-- `vibe context` (see src/context/history.rs): one row per commit, newest first (`seq` 0), with
-- its subject, its message's terms as (term, count) varint pairs and their total, and the
-- paths it changed, relative to the indexed root and separated by newlines. `meta`'s
-- `history_head` is "HEAD MAX": the last MAX one-parent commits of that HEAD are what the table
-- holds. When HEAD moves, only commits the table does not hold are read from git.
CREATE TABLE history (
    seq     INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL,
    subject TEXT NOT NULL,
    length  INTEGER NOT NULL,
    terms   BLOB NOT NULL,
    files   TEXT NOT NULL
);
