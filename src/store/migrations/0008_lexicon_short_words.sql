-- vibe index schema, version 8: files are analysed differently (a word of one-letter and digit
-- parts is a term as a whole: `u128`, `i32`, `h2`, `k8s`; before, all its parts were dropped and
-- so was it). The table is unchanged; its entries are dropped so that every file is analysed
-- again, once, by the next `vibe context`.
DELETE FROM lexicon;
