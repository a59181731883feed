-- vibe index schema, version 18: each file's `stamp` (a hash of its inode and change time, as
-- git's index keeps them), so that a file replaced by another of the same size and mtime (two
-- files written by one `git checkout`, one moved over the other) is read again. Rows of older
-- indexes have 0 and are re-hashed once (read, not parsed, when the content is the same).
ALTER TABLE files ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0;
