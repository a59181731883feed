-- vibe index schema, version 12: `history.added` holds the paths a commit added, NUL-separated,
-- so that a path added again after its file was renamed away is not taken for that file; the
-- rows of version 11 are dropped and read again from git.
ALTER TABLE history ADD COLUMN added TEXT NOT NULL DEFAULT '';
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
