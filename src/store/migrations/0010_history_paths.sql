-- vibe index schema, version 10: a commit's paths in `history.files` are separated by NUL (a
-- path may hold a newline); the rows of version 9 are dropped and read again from git.
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
