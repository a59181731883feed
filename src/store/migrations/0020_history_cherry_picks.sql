-- vibe index schema, version 20: commit messages are read without the lines git cherry-pick -x
-- and git revert add (`(cherry picked from commit <hash>)`, `This reverts commit <hash>.`), whose
-- words made every backport alike; the rows of version 19 are read again from git.
DELETE FROM history;
DELETE FROM meta WHERE key = 'history_head';
