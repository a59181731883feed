-- vibe index schema, version 5: chat sessions (see src/store/sessions.rs, docs/chat.md).
-- One row per session; `summary` stands for the turns before `window_start` (older turns
-- summarised by the model, or trimmed when that failed), which are kept here but no longer sent.
CREATE TABLE chat_sessions (
    id           TEXT PRIMARY KEY,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    model        TEXT NOT NULL,
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '',
    window_start INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chat_sessions_updated ON chat_sessions(updated_ms);
-- Every message of a session, in order (`n` from 0): the user's and the model's.
CREATE TABLE chat_turns (
    session       TEXT NOT NULL,
    n             INTEGER NOT NULL,
    role          TEXT NOT NULL,
    text          TEXT NOT NULL,
    time_ms       INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (session, n)
) WITHOUT ROWID;
-- The edit runs (`.vibe/backups/<run_id>`) a session wrote.
CREATE TABLE chat_runs (
    session TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX chat_runs_session ON chat_runs(session);
