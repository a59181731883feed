-- vibe index schema, version 11: `history.renames` holds the files a commit renamed, as
-- NUL-separated old and new paths, so that a file's earlier commits count for it under its
-- current name; the rows of version 10 are dropped and read again from git with renames.
ALTER TABLE history ADD COLUMN renames TEXT NOT NULL DEFAULT '';
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
