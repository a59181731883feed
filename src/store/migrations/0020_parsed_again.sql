-- vibe index schema, version 20: every parsed file is read and parsed again once, for what
-- this version reads differently:
-- * a carriage return that no line feed follows ends a line (a file with classic Mac OS line
--   endings was one line to the parser, the lexicon and the packer: its first definition alone
--   was found); the lexicon of the files the index holds as one line is analysed again too;
-- * a signature leaves out the comments in a definition's head at any depth (Java's
--   `@SuppressWarnings("x") // why` above `public class A` was in its one-line signature, and
--   commented out the rest of it).
DELETE FROM lexicon WHERE file_id IN (SELECT id FROM files WHERE lines <= 1 AND bytes > 0);
DELETE FROM lexicon_deep WHERE file_id IN (SELECT id FROM files WHERE lines <= 1 AND bytes > 0);
UPDATE files SET hash = NULL, stamp = 0
 WHERE skip_reason IS NULL AND (language IS NOT NULL OR (lines <= 1 AND bytes > 0));
