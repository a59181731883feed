-- vibe index schema, version 4: the bug memory of `vibe heal` (see src/heal/memory.rs).
-- One row per error a heal fixed: the stage and code of the diagnostic, its message with names
-- and numbers normalised away (`signature`), the lines the fix removed, normalised (`before`,
-- what `vibe heal --check` looks for to warn of a bug coming back), and the fix as a diff.
CREATE TABLE heal_memory (
    id        INTEGER PRIMARY KEY,
    time_ms   INTEGER NOT NULL,
    path      TEXT NOT NULL,
    stage     TEXT NOT NULL,
    code      TEXT NOT NULL,
    signature TEXT NOT NULL,
    message   TEXT NOT NULL,
    before    TEXT NOT NULL,
    diff      TEXT NOT NULL
);
CREATE INDEX heal_memory_stage ON heal_memory(stage, code);
