-- vibe index schema, version 14: commit messages are read without the headers of commits they
-- quote as `git log` prints them (a squash commit's `commit <hash>`, `Author:`, `Date:` lines),
-- which name people and dates rather than code; the rows of version 13 are read again from git.
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
