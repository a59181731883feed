-- vibe index schema, version 19: commit messages are read without links to issues, requests,
-- bugs and commits (`https://github.com/o/r/issues/123`), without the MIME headers a patch tool
-- folded into a subject, and with a patch file's mail headers (`From:`, `Date:`) left out as a
-- patch mail's; the rows of version 18 are read again from git.
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
