-- vibe index schema, version 13: commit messages are read without their trailers
-- (`Signed-off-by: …`, `Change-Id: …`) and mail addresses, which name people rather than code;
-- the rows of version 12 are dropped and read again from git.
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
