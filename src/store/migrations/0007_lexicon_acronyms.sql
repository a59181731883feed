-- vibe index schema, version 7: identifiers split differently (an acronym's plural such as
-- `URLs` is one word, no longer `ur` + `ls`). The table is unchanged; its entries are dropped so
-- that every file is analysed again, once, by the next `vibe context`.
DELETE FROM lexicon;
