//! Valid code a grammar does not parse yet, blanked out byte for byte before parsing (see
//! `js::mask_typescript_gaps`, `rust::mask_rust_gaps`, `java::mask_java_gaps`, `c::mask_c_gaps`):
//! every position in the tree is still a position in the file, and symbols and signatures are
//! read from the file's own text.

use std::borrow::Cow;

/// `src` with the byte ranges `blank` (ASCII only) turned into spaces, newlines kept.
pub fn blank_out<'a>(src: &'a str, blank: &[(usize, usize)]) -> Cow<'a, str> {
    if blank.is_empty() {
        return Cow::Borrowed(src);
    }
    let mut out = src.as_bytes().to_vec();
    for &(from, to) in blank {
        for c in &mut out[from..to] {
            if *c != b'\n' && c.is_ascii() {
                *c = b' ';
            }
        }
    }
    // Only ASCII bytes were replaced, and only with spaces: still UTF-8.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| src.to_string()))
}

/// Where `word` occurs as a whole word followed, after blanks, by one of `next` (whole words
/// too): the ranges of `word`.
pub fn word_before(src: &str, word: &str, next: &[&str]) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    src.match_indices(word)
        .filter(|&(at, _)| {
            let after = skip_space(b, at + word.len());
            starts_word(b, at, word.len())
                && after > at + word.len()
                && next
                    .iter()
                    .any(|n| b[after..].starts_with(n.as_bytes()) && starts_word(b, after, n.len()))
        })
        .map(|(at, _)| (at, at + word.len()))
        .collect()
}

pub fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
}

/// Whether `b[at..at + len]` is a whole word.
pub fn starts_word(b: &[u8], at: usize, len: usize) -> bool {
    (at == 0 || !is_ident(b[at - 1])) && b.get(at + len).is_none_or(|&c| !is_ident(c))
}

pub fn skip_space(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repomap::lang::Lang;

    /// Whether tree-sitter finds an error in `src` as `lang`, with vibe's masks.
    fn has_error(lang: Lang, src: &str) -> bool {
        let mut p = tree_sitter::Parser::new();
        crate::repomap::extract::parse(&mut p, lang, src)
            .is_none_or(|tree| tree.root_node().has_error())
    }

    #[test]
    fn rust_2024_safe_items_in_unsafe_extern_blocks() {
        let src = "unsafe extern \"C\" {\n    pub safe fn abs(x: i32) -> i32;\n    safe static N: i32;\n    pub unsafe fn labs(x: i64) -> i64;\n}\n";
        assert_eq!(
            crate::repomap::lang::rust::mask_rust_gaps(src),
            src.replace("safe fn abs", "     fn abs")
                .replace("safe static", "     static")
        );
        assert!(!has_error(Lang::Rust, src));
        let mut p = tree_sitter::Parser::new();
        p.set_language(&Lang::Rust.grammar()).ok();
        assert!(
            p.parse(src, None)
                .is_some_and(|t| t.root_node().has_error())
        );
        // `unsafe fn`, a variable named `safe`, and prose stay as they are.
        for src in [
            "unsafe fn f() {}",
            "let safe = 1;",
            "// safe to call\nfn f() {}",
        ] {
            assert_eq!(crate::repomap::lang::rust::mask_rust_gaps(src), src);
        }
    }

    #[test]
    fn java_25_module_imports() {
        let src =
            "import module java.base;\nimport java.util.List;\nclass A { List<String> module; }\n";
        assert_eq!(
            crate::repomap::lang::java::mask_java_gaps(src),
            src.replacen("import module", "import       ", 1)
        );
        assert!(!has_error(Lang::Java, src));
        let plain = "import module;\nclass A {}\n";
        assert_eq!(crate::repomap::lang::java::mask_java_gaps(plain), plain);
    }

    #[test]
    fn c_and_cpp_export_macros_before_a_class_name() {
        use crate::repomap::lang::c::mask_c_gaps;
        let src = "class FMT_API format_error : public std::runtime_error {};\n\
                   struct LLVM_ABI X final {};\nunion U_API u {};\n";
        assert_eq!(
            mask_c_gaps(src),
            src.replace("FMT_API", "       ")
                .replace("LLVM_ABI", "        ")
                .replace("U_API", "     ")
        );
        assert!(!has_error(Lang::Cpp, src));
        // Nothing else: variables of an elaborated type, bit-fields, qualified names, lower case
        // names, a class named alone, prose.
        for src in [
            "struct stat st;",
            "struct FOO bar = {0};",
            "struct S { struct FOO bar : 3; };",
            "class A B::c() {}",
            "class exported_t name {};",
            // Brace initialisers, a range-for's variable, an explicit instantiation.
            "struct FOO bar{};",
            "class FOO_T obj{1, 2};",
            "void f() { for (const struct FOO x : xs) { use(x); } }",
            "template class V8_EXPORT_PRIVATE MemoryController<V8HeapTrait>;",
            "class A {};",
            "// the class Foo bar\n",
            "class FMT_API",
        ] {
            assert_eq!(mask_c_gaps(src), src);
        }
    }

    #[test]
    fn c_and_cpp_macros_in_declarations() {
        use crate::repomap::lang::c::mask_c_gaps;
        let cases = [
            // Between the type and the name, before both, after the parameters.
            (
                "inline void FORCE_INLINE Debug(int a);",
                "inline void              Debug(int a);",
            ),
            (
                "NAPI_EXTERN napi_status NAPI_CDECL\nnapi_create(int a);",
                "            napi_status           \nnapi_create(int a);",
            ),
            (
                "static V8_INLINE uint64_t Add(int a);",
                "static           uint64_t Add(int a);",
            ),
            (
                "V8_EXPORT_PRIVATE std::ostream& operator<<(std::ostream& os, A a);",
                "                  std::ostream& operator<<(std::ostream& os, A a);",
            ),
            (
                "extern NODE_EXTERN_PRIVATE EnabledDebugList list;",
                "extern                     EnabledDebugList list;",
            ),
            (
                "class Scope {\n  V8_EXPORT_PRIVATE ~Scope();\n};",
                "class Scope {\n                    ~Scope();\n};",
            ),
            (
                "class A {\n  V8_INLINE explicit A(int a);\n};",
                "class A {\n            explicit A(int a);\n};",
            ),
            (
                "int (*Alloc)(size_t bytes) REDISMODULE_ATTR;",
                "int (*Alloc)(size_t bytes)                 ;",
            ),
            (
                "void f(const char *fmt, ...) PRINTF_FORMAT(1, 2);",
                "void f(const char *fmt, ...)                    ;",
            ),
            (
                "class B final : public NON_EXPORTED_BASE(Base) {};",
                "class B final : public                   Base  {};",
            ),
            // Without another type, the capitalised word after a qualifier, or the first, is.
            (
                "DWORD WINAPI ThreadProc(LPVOID p);",
                "DWORD        ThreadProc(LPVOID p);",
            ),
            (
                "CURL_EXTERN CURL *curl_easy_init(void);",
                "            CURL *curl_easy_init(void);",
            ),
            // A line without `\\` ends a `#define`'s continuation.
            (
                "#define X (1 + \\\n  2)\nAPI_M int f(int a);",
                "#define X (1 + \\\n  2)\n      int f(int a);",
            ),
            (
                "ALIGN64 static const BN_ULONG one[40] = {1};",
                "        static const BN_ULONG one[40] = {1};",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(mask_c_gaps(src), want, "{src}");
            assert!(!has_error(Lang::Cpp, src), "{src}");
        }
        for src in [
            "BOOL ok(int a);",
            "FILE *f;",
            "struct FOO *bar(int a);",
            "  return FOO bar(x);",
            "  x = (char *)NULL;\n  (void)URL;\n  return (int) TEST_ERR;",
            "typedef LHASH_OF(PROPERTY_STRING) PROP_TABLE;",
            "double\ntrio_make_double\nTRIO_ARGS1((values), double x)",
            "#define X \\\n  SOME_MACRO int f(int a);",
            "MY_TYPE\n\nint f(int a);",
            "class ECDH final : public BaseObject {};",
            // A `)` in a comment or a directive, or on the line before, ends no parameters.
            "// decodeURI (encodedURI)\nBUILTIN(GlobalDecodeURI) {\n  return 0;\n}\n",
            "#if defined(GTEST_OS_LINUX)\nTEST(FooTest, Bar) {\n}\n#endif\n",
            "Py_LOCAL_INLINE(void *)\nCHECK_CALL(Parser *p, void *result)\n{\n    return result;\n}\n",
            // Calling conventions and qualifiers are no types.
            "DWORD __stdcall ThreadProc(LPVOID p) { return 0; }",
            "_Atomic UINT32 refcnt;",
            "static __thread UINT32 counter;",
            "UINT8 *__restrict dst;",
        ] {
            assert_eq!(mask_c_gaps(src), src);
        }
    }

    #[test]
    fn blanks_keep_newlines_and_other_bytes() {
        assert_eq!(blank_out("ab\ncd é", &[(1, 6)]), "a \n   é");
        assert_eq!(word_before("x type * y", "type", &["y"]), []);
        assert_eq!(
            word_before("safe  fn; unsafe fn", "safe", &["fn"]),
            [(0, 4)]
        );
    }
}
