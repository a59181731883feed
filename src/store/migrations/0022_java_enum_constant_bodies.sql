-- vibe index schema, version 22: Java files are parsed and analysed again once. An enum
-- constant with a body of its own (`Data { void read(…) {…} },` in a state machine) is now a
-- definition, and the methods in its body are its own: they were the enum's, forty `read`
-- methods with nothing to tell them apart. The content is the same, so neither the file's hash
-- nor its lexicon's would say it changed.
DELETE FROM lexicon WHERE file_id IN (SELECT id FROM files WHERE language = 'java');
DELETE FROM lexicon_deep WHERE file_id IN (SELECT id FROM files WHERE language = 'java');
UPDATE files SET hash = NULL, stamp = 0 WHERE skip_reason IS NULL AND language = 'java';
