-- vibe index schema, version 20: every file is read and parsed again once, and its lexicon
-- analysed again, for what this version reads differently:
-- * in a file whose lines end with a carriage return alone (classic Mac OS line endings), each
--   of those ends a line (such a file was one line to the parser, the lexicon and the packer:
--   its first definition alone was found); the content is the same, so neither the file's hash
--   nor its lexicon's would say it changed;
-- * a signature leaves out the comments in a definition's head at any depth (Java's
--   `@SuppressWarnings("x") // why` above `public class A` was in its one-line signature, and
--   commented out the rest of it).
DELETE FROM lexicon;
DELETE FROM lexicon_deep;
UPDATE files SET hash = NULL, stamp = 0 WHERE skip_reason IS NULL;
