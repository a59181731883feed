-- vibe index schema, version 2: two indexes that a first build paid for, after parsing, where
-- every millisecond is wall time.
--
-- `names` becomes one B-tree keyed by the name. Names are only ever looked up by text, and a
-- first build inserts ~70k of them at commit in name order: into a rowid table with a UNIQUE
-- index that meant one ordered and one scattered B-tree insert per name, now it is one append.
-- The next free id moves to `meta` (key `names_next`), since MAX(id) is no longer an index
-- lookup.
CREATE TABLE names_by_name (
    name TEXT PRIMARY KEY,
    id   INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO names_by_name(name, id) SELECT name, id FROM names ORDER BY name;
DROP TABLE names;
ALTER TABLE names_by_name RENAME TO names;
INSERT OR REPLACE INTO meta(key, value)
    SELECT 'names_next', CAST(COALESCE(MAX(id), 0) + 1 AS TEXT) FROM names;

-- Symbols are only looked up by name to find `main` functions (entry points in the map's
-- header); an index of every name (~75k on the Python standard library) cost a first build
-- ~50 ms to sort, a partial index of the `main`s costs nothing.
DROP INDEX symbols_name;
CREATE INDEX symbols_main ON symbols(file_id) WHERE name = 'main';
