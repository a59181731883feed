//! C and C++: exact symbols, resolved includes, edges and externals of the `c` fixture (a C
//! library with its public header under include/, a private header next to its source, a C
//! main, and C++ sources whose `.h` header is detected as C++: namespaces, classes with
//! virtual and out-of-class members, a template, `enum class`, `using` aliases, `constexpr`
//! constants).

use serde_json::{Value, json};

use crate::util::{Test, made_by_schema, map_edges as edges, map_file as file, map_symbols, rows};

/// `vibe map --json` of a fresh copy of the c fixture.
fn c_map() -> Value {
    Test::fixture("c").run(&["map", "--json"]).json()
}

#[test]
fn symbols_are_exact() {
    let map = c_map();
    // Declarations inside the include guard count; `typedef struct Vec2 {…} Vec2` is one struct;
    // a function-like macro's signature stops before its body; `const` / `constexpr` variables
    // at file or namespace level and `static constexpr` members are constants; out-of-class
    // definitions (`Circle::area`) have their class as parent.
    assert_eq!(
        file(&map, "include/geom/vec.h")["symbols"],
        json!([
            {"name": "VEC_MAX_DIM", "kind": "macro", "parent": null, "signature": "#define VEC_MAX_DIM 4", "line": 7, "end_line": 7, "doc": "Largest supported dimension."},
            {"name": "VEC_SQ", "kind": "macro", "parent": null, "signature": "#define VEC_SQ(x)", "line": 8, "end_line": 8},
            {"name": "Vec2", "kind": "struct", "parent": null, "signature": "typedef struct Vec2", "line": 11, "end_line": 13, "doc": "A 2D vector."},
            {"name": "Axis", "kind": "enum", "parent": null, "signature": "enum Axis", "line": 15, "end_line": 15},
            {"name": "Bits", "kind": "union", "parent": null, "signature": "union Bits", "line": 17, "end_line": 20},
            {"name": "Metric", "kind": "type", "parent": null, "signature": "typedef double (*Metric)(const Vec2 *a, const Vec2 *b);", "line": 22, "end_line": 22},
            {"name": "vec_add", "kind": "function", "parent": null, "signature": "Vec2 vec_add(Vec2 a, Vec2 b);", "line": 25, "end_line": 25, "doc": "Adds two vectors."},
            {"name": "vec_len", "kind": "function", "parent": null, "signature": "double vec_len(const Vec2 *v);", "line": 26, "end_line": 26},
            {"name": "vec_dim", "kind": "function", "parent": null, "signature": "size_t vec_dim(void);", "line": 27, "end_line": 27},
        ])
    );
    assert_eq!(
        file(&map, "src/vec.c")["symbols"],
        json!([
            {"name": "EPSILON", "kind": "constant", "parent": null, "signature": "static const double EPSILON = 1e-9;", "line": 6, "end_line": 6},
            {"name": "vec_add", "kind": "function", "parent": null, "signature": "Vec2 vec_add(Vec2 a, Vec2 b)", "line": 8, "end_line": 11},
            {"name": "vec_len", "kind": "function", "parent": null, "signature": "double vec_len(const Vec2 *v)", "line": 14, "end_line": 16, "doc": "Euclidean length."},
            {"name": "vec_dim", "kind": "function", "parent": null, "signature": "size_t vec_dim(void)", "line": 18, "end_line": 18},
        ])
    );
    assert_eq!(
        file(&map, "src/internal.h")["symbols"],
        json!([
            {"name": "clamp01", "kind": "function", "parent": null, "signature": "static inline double clamp01(double v)", "line": 4, "end_line": 6},
        ])
    );
    assert_eq!(
        file(&map, "src/main.c")["symbols"],
        json!([
            {"name": "main", "kind": "function", "parent": null, "signature": "int main(int argc, char **argv)", "line": 5, "end_line": 10},
        ])
    );
    assert_eq!(
        file(&map, "cpp/shape.h")["symbols"],
        json!([
            {"name": "geom", "kind": "namespace", "parent": null, "signature": "namespace geom", "line": 6, "end_line": 19},
            {"name": "Shape", "kind": "class", "parent": "geom", "signature": "class Shape", "line": 9, "end_line": 17, "doc": "Anything with an area."},
            {"name": "~Shape", "kind": "method", "parent": "Shape", "signature": "virtual ~Shape() = default;", "line": 11, "end_line": 11},
            {"name": "area", "kind": "method", "parent": "Shape", "signature": "virtual double area() const = 0;", "line": 12, "end_line": 12},
            {"name": "name", "kind": "method", "parent": "Shape", "signature": "std::string name() const;", "line": 13, "end_line": 13},
        ])
    );
    assert_eq!(
        file(&map, "cpp/circle.hpp")["symbols"],
        json!([
            {"name": "geom", "kind": "namespace", "parent": null, "signature": "namespace geom", "line": 5, "end_line": 29},
            {"name": "Radius", "kind": "type", "parent": "geom", "signature": "using Radius = double;", "line": 7, "end_line": 7},
            {"name": "Fill", "kind": "enum", "parent": "geom", "signature": "enum class Fill", "line": 9, "end_line": 9},
            {"name": "Circle", "kind": "class", "parent": "geom", "signature": "class Circle : public Shape", "line": 12, "end_line": 21, "doc": "A circle around the origin."},
            {"name": "kSegments", "kind": "constant", "parent": "Circle", "signature": "static constexpr int kSegments = 64;", "line": 14, "end_line": 14},
            {"name": "Circle", "kind": "method", "parent": "Circle", "signature": "explicit Circle(Radius r);", "line": 16, "end_line": 16},
            {"name": "area", "kind": "method", "parent": "Circle", "signature": "double area() const override;", "line": 17, "end_line": 17},
            {"name": "Box", "kind": "struct", "parent": "geom", "signature": "struct Box", "line": 24, "end_line": 27},
            {"name": "get", "kind": "method", "parent": "Box", "signature": "T get() const", "line": 26, "end_line": 26},
        ])
    );
    assert_eq!(
        file(&map, "cpp/circle.cpp")["symbols"],
        json!([
            {"name": "geom", "kind": "namespace", "parent": null, "signature": "namespace geom", "line": 6, "end_line": 17},
            {"name": "PI", "kind": "constant", "parent": "geom", "signature": "constexpr double PI = 3.14159265358979;", "line": 8, "end_line": 8},
            {"name": "Circle", "kind": "method", "parent": "Circle", "signature": "Circle::Circle(Radius r) : r_(r)", "line": 10, "end_line": 10},
            {"name": "area", "kind": "method", "parent": "Circle", "signature": "double Circle::area() const", "line": 13, "end_line": 13, "doc": "Pi r squared."},
            {"name": "name", "kind": "method", "parent": "Shape", "signature": "std::string Shape::name() const", "line": 15, "end_line": 15},
        ])
    );
    assert_eq!(
        file(&map, "cpp/app.cpp")["symbols"],
        json!([
            {"name": "main", "kind": "function", "parent": null, "signature": "int main()", "line": 7, "end_line": 12},
        ])
    );
}

#[test]
fn includes_resolve_relative_then_through_include_dirs() {
    let map = c_map();
    // `"internal.h"` is next to its file; `"geom/vec.h"` is found in include/; `"../include/…"`
    // is relative; `<geom/vec.h>` goes through include dirs only; `"vec.h"` matches no
    // directory and resolves as the one repository file ending in /vec.h. System headers are
    // externals by name, `<boost/asio.hpp>` by its first directory.
    assert_eq!(
        file(&map, "include/geom/vec.h")["imports"],
        json!([
            {"line": 4, "raw": "#include <stddef.h>", "module": "stddef.h", "resolved": [], "external": "stddef.h"},
        ])
    );
    assert_eq!(
        file(&map, "src/vec.c")["imports"],
        json!([
            {"line": 1, "raw": "#include <math.h>", "module": "math.h", "resolved": [], "external": "math.h"},
            {"line": 3, "raw": "#include \"geom/vec.h\"", "module": "geom/vec.h", "resolved": ["include/geom/vec.h"]},
            {"line": 4, "raw": "#include \"internal.h\"", "module": "internal.h", "resolved": ["src/internal.h"]},
        ])
    );
    assert_eq!(
        file(&map, "src/main.c")["imports"],
        json!([
            {"line": 1, "raw": "#include <stdio.h>", "module": "stdio.h", "resolved": [], "external": "stdio.h"},
            {"line": 3, "raw": "#include \"../include/geom/vec.h\"", "module": "../include/geom/vec.h", "resolved": ["include/geom/vec.h"]},
        ])
    );
    assert_eq!(
        file(&map, "cpp/shape.h")["imports"],
        json!([
            {"line": 3, "raw": "#include <geom/vec.h>", "module": "geom/vec.h", "resolved": ["include/geom/vec.h"]},
            {"line": 4, "raw": "#include <string>", "module": "string", "resolved": [], "external": "string"},
        ])
    );
    assert_eq!(
        file(&map, "cpp/circle.hpp")["imports"],
        json!([
            {"line": 3, "raw": "#include \"shape.h\"", "module": "shape.h", "resolved": ["cpp/shape.h"]},
        ])
    );
    assert_eq!(
        file(&map, "cpp/circle.cpp")["imports"],
        json!([
            {"line": 1, "raw": "#include \"circle.hpp\"", "module": "circle.hpp", "resolved": ["cpp/circle.hpp"]},
            {"line": 3, "raw": "#include <boost/asio.hpp>", "module": "boost/asio.hpp", "resolved": [], "external": "boost"},
            {"line": 4, "raw": "#include <vector>", "module": "vector", "resolved": [], "external": "vector"},
        ])
    );
    assert_eq!(
        file(&map, "cpp/app.cpp")["imports"],
        json!([
            {"line": 1, "raw": "#include <iostream>", "module": "iostream", "resolved": [], "external": "iostream"},
            {"line": 2, "raw": "#include <memory>", "module": "memory", "resolved": [], "external": "memory"},
            {"line": 4, "raw": "#include \"circle.hpp\"", "module": "circle.hpp", "resolved": ["cpp/circle.hpp"]},
            {"line": 5, "raw": "#include \"vec.h\"", "module": "vec.h", "resolved": ["include/geom/vec.h"]},
        ])
    );
}

#[test]
fn edges_externals_and_project_are_exact() {
    let map = c_map();
    assert_eq!(
        edges(&map),
        [
            "cpp/app.cpp -> cpp/circle.hpp",
            "cpp/app.cpp -> include/geom/vec.h",
            "cpp/circle.cpp -> cpp/circle.hpp",
            "cpp/circle.hpp -> cpp/shape.h",
            "cpp/shape.h -> include/geom/vec.h",
            "src/main.c -> include/geom/vec.h",
            "src/vec.c -> include/geom/vec.h",
            "src/vec.c -> src/internal.h",
        ]
    );
    assert_eq!(
        map["externals"],
        json!([
            {"name": "boost", "files": 1},
            {"name": "iostream", "files": 1},
            {"name": "math.h", "files": 1},
            {"name": "memory", "files": 1},
            {"name": "stddef.h", "files": 1},
            {"name": "stdio.h", "files": 1},
            {"name": "string", "files": 1},
            {"name": "vector", "files": 1},
        ])
    );
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "cpp/app.cpp", "reason": "main()"},
                {"path": "src/main.c", "reason": "main()"},
            ],
            "test_files": 0,
            "frameworks": [],
            "externals": [
                {"name": "boost", "files": 1},
                {"name": "iostream", "files": 1},
                {"name": "math.h", "files": 1},
                {"name": "memory", "files": 1},
                {"name": "stddef.h", "files": 1},
                {"name": "stdio.h", "files": 1},
                {"name": "string", "files": 1},
                {"name": "vector", "files": 1},
            ],
        })
    );
}

#[test]
fn detection_and_stats() {
    let map = c_map();
    // cpp/shape.h uses a namespace and a class: C++; the other headers are C.
    for (path, language, lines) in [
        ("cpp/app.cpp", "cpp", 12),
        ("cpp/circle.cpp", "cpp", 17),
        ("cpp/circle.hpp", "cpp", 29),
        ("cpp/shape.h", "cpp", 19),
        ("include/geom/vec.h", "c", 29),
        ("src/internal.h", "c", 8),
        ("src/main.c", "c", 10),
        ("src/vec.c", "c", 18),
    ] {
        let f = file(&map, path);
        assert_eq!(f["language"], language, "{path}");
        assert_eq!(f["lines"], lines, "{path}");
        assert_eq!(f["parse_errors"], false, "{path}");
    }
    let s = &map["stats"];
    assert_eq!(s["files"], json!(9));
    assert_eq!(s["source_files"], json!(8));
    assert_eq!(
        s["languages"],
        json!({"c": {"files": 4, "lines": 65, "bytes": 1168}, "cpp": {"files": 4, "lines": 77, "bytes": 1269}})
    );
    assert_eq!(s["other_text"], json!({"cmake": 1}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], json!(0));
    assert_eq!(s["symbols"], json!(35));
    assert_eq!(s["imports"], json!(16));
    assert_eq!(s["edges"], json!(8));
    assert_eq!(s["externals"], json!(8));
}

#[test]
fn configured_include_dirs_and_system_includes() {
    let t = Test::new();
    t.write(
        ".vibe/config.toml",
        "[map]\ninclude_dirs = [\"vendor/inc\"]\n",
    );
    t.write("vendor/inc/lib/api.h", "int api(void);\n");
    t.write("compat/sys/types.h", "typedef int pid_t;\n");
    t.write(
        "app/main.c",
        "#include <lib/api.h>\n#include <sys/types.h>\n#include \"sys/types.h\"\n#include \"Python.h\"\n#include \"../../outside.h\"\n#include PLATFORM_H\n\nint main(void) { return api(); }\n",
    );
    let map = t.run(&["map", "--json"]).json();
    // `<…>` goes through include dirs (here a configured one) and never by path suffix, so the
    // vendored compat/sys/types.h is only found for the quoted include. A quoted header found
    // nowhere is external by name, unless it is a relative path (then it names no package); a
    // computed `#include PLATFORM_H` is no import at all.
    assert_eq!(
        file(&map, "app/main.c")["imports"],
        json!([
            {"line": 1, "raw": "#include <lib/api.h>", "module": "lib/api.h",
             "resolved": ["vendor/inc/lib/api.h"]},
            {"line": 2, "raw": "#include <sys/types.h>", "module": "sys/types.h", "resolved": [],
             "external": "sys"},
            {"line": 3, "raw": "#include \"sys/types.h\"", "module": "sys/types.h",
             "resolved": ["compat/sys/types.h"]},
            {"line": 4, "raw": "#include \"Python.h\"", "module": "Python.h", "resolved": [],
             "external": "Python.h"},
            {"line": 5, "raw": "#include \"../../outside.h\"", "module": "../../outside.h",
             "resolved": []},
        ])
    );
}

/// Export and visibility macros between `class` / `struct` and the name (`class FMT_API
/// format_error : public std::runtime_error {`) are no part of the name: the class, its members
/// and what followed it were lost to a parse error (helper 97 on fmt). Also in an index made
/// before that was so.
#[test]
fn export_macros_between_class_and_name_are_skipped() {
    let t = Test::new();
    t.write(
        "include/api.hpp",
        "#define FMT_API __attribute__((visibility(\"default\")))\n\
         namespace fmt {\n\
         class FMT_API format_error : public std::runtime_error {\n public:\n  int code() const;\n};\n\
         struct FMT_API FMT_DEPRECATED old final : public base {\n  void run();\n};\n\
         template <> struct FMT_API formatter<int> {\n  void parse();\n};\n\
         struct stat st;\n\
         struct BITS { int a : 3; } bits;\n\
         class Q_CORE_EXPORT QObject {\n public:\n  void deleteLater();\n};\n\
         }\n",
    );
    let fields = ["name", "kind", "parent"];
    let names = |t: &Test| {
        map_symbols(
            &t.run(&["map", "--json"]).json(),
            "include/api.hpp",
            &fields,
        )
    };
    let want = rows(&[
        ["FMT_API", "macro", ""],
        ["fmt", "namespace", ""],
        ["format_error", "class", "fmt"],
        ["code", "method", "format_error"],
        ["old", "struct", "fmt"],
        ["run", "method", "old"],
        ["formatter", "struct", "fmt"],
        ["parse", "method", "formatter"],
        ["BITS", "struct", "fmt"],
        ["QObject", "class", "fmt"],
        ["deleteLater", "method", "QObject"],
    ]);
    assert_eq!(names(&t), want);
    let map = t.run(&["map", "--json"]).json();
    let symbols = &file(&map, "include/api.hpp")["symbols"];
    assert_eq!(
        symbols[2]["signature"],
        "class FMT_API format_error : public std::runtime_error"
    );
    assert_eq!(
        file(&map, "include/api.hpp")["parse_errors"],
        false,
        "{map}"
    );
    // An index made before: the classes lost.
    made_by_schema(
        &t,
        20,
        "DELETE FROM symbols WHERE name NOT IN ('FMT_API', 'fmt')",
    );
    assert_eq!(names(&t), want);
}

/// The export macros that begin a head are in its signature and its line range, on its line
/// and on a line of their own above it (helper 100); an index made before has them again.
#[test]
fn leading_export_macros_are_in_signatures_and_ranges() {
    let t = Test::new();
    t.write(
        "src/api.h",
        "#include <stdio.h>\n\
         GTEST_API_ size_t GetFileSize(FILE* file);\n\
         V8_EXPORT_PRIVATE\n\
         void Run(int n);\n",
    );
    let fields = ["name", "line", "signature"];
    let symbols = |t: &Test| map_symbols(&t.run(&["map", "--json"]).json(), "src/api.h", &fields);
    let want = rows(&[
        [
            "GetFileSize",
            "2",
            "GTEST_API_ size_t GetFileSize(FILE* file);",
        ],
        ["Run", "3", "V8_EXPORT_PRIVATE void Run(int n);"],
    ]);
    assert_eq!(symbols(&t), want);
    // An index made before: the heads without their macros.
    made_by_schema(
        &t,
        22,
        "UPDATE symbols SET line = line + 1, signature = 'void Run(int n);' WHERE name = 'Run'",
    );
    assert_eq!(symbols(&t), want);
}
