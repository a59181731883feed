-- vibe index schema, version 7: files are analysed differently (an acronym with one lowercase
-- letter is one word: `URLs`, `IPv6`, no longer `ur` + `ls`, `i` + `pv`; a "generated" mark
-- counts only as the header's own statement, not quoted or inside a longer phrase). The table is
-- unchanged; its entries are dropped so that every file is analysed again, once, by the next
-- `vibe context`.
DELETE FROM lexicon;
