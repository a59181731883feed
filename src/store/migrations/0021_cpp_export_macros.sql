-- vibe index schema, version 21: C and C++ files are parsed and analysed again once. The export
-- and visibility macros between `class`, `struct` or `union` and the name
-- (`class FMT_API format_error : public std::runtime_error {`, `class Q_CORE_EXPORT QObject`)
-- are now read as such: the class, its methods and what followed it in the file were lost. The
-- content is the same, so neither the file's hash nor its lexicon's would say it changed.
DELETE FROM lexicon WHERE file_id IN (SELECT id FROM files WHERE language IN ('c', 'cpp'));
DELETE FROM lexicon_deep WHERE file_id IN (SELECT id FROM files WHERE language IN ('c', 'cpp'));
UPDATE files SET hash = NULL, stamp = 0 WHERE skip_reason IS NULL AND language IN ('c', 'cpp');
