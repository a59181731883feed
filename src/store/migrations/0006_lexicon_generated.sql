-- vibe index schema, version 6: lexicon entries now mark generated files (a reserved term, see
-- src/context/lexicon.rs). The table is unchanged; its entries are dropped so that every file
-- is analysed again, once, by the next `vibe context`.
DELETE FROM lexicon;
