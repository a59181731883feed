-- vibe index schema, version 20: a carriage return that no line feed follows ends a line (a
-- file with classic Mac OS line endings was one line to the parser, the lexicon and the packer:
-- its first definition alone was found). Files the index holds as one line are read, parsed and
-- analysed again once; a file that has such line endings and more than one line feed is read
-- again when it next changes.
DELETE FROM lexicon WHERE file_id IN (SELECT id FROM files WHERE lines <= 1 AND bytes > 0);
DELETE FROM lexicon_deep WHERE file_id IN (SELECT id FROM files WHERE lines <= 1 AND bytes > 0);
UPDATE files SET hash = NULL, stamp = 0 WHERE lines <= 1 AND bytes > 0 AND skip_reason IS NULL;
