-- vibe index schema, version 23: C and C++ files are parsed and analysed again once. The export
-- macros that begin a declaration's head (`GTEST_API_ size_t GetFileSize(FILE* file)`, a
-- `V8_EXPORT_PRIVATE` line of its own above a function, not the tail of a `#define` or `#elif`
-- continued above it) are now in its signature and its line range: they were left out. The
-- content is the same, so neither the file's hash nor its lexicon's would say it changed.
DELETE FROM lexicon WHERE file_id IN (SELECT id FROM files WHERE language IN ('c', 'cpp'));
DELETE FROM lexicon_deep WHERE file_id IN (SELECT id FROM files WHERE language IN ('c', 'cpp'));
UPDATE files SET hash = NULL, stamp = 0 WHERE skip_reason IS NULL AND language IN ('c', 'cpp');
