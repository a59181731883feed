//! Go: exact symbols, resolved imports, edges and externals of the `go` fixture (a module with a
//! multi-file package and its `_test.go`, a sub-package, two `package main` commands, grouped
//! and ungrouped types and constants, generic types, methods on value and pointer receivers, an
//! aliased import, a nested module in a directory not named after its path, and a go.mod
//! requiring gin).

use serde_json::{Value, json};

use crate::util::{Test, map_edges as edges, map_file as file};

/// `vibe map --json` of a fresh copy of the go fixture.
fn go_map() -> Value {
    Test::fixture("go").run(&["map", "--json"]).json()
}

#[test]
fn symbols_are_exact() {
    let map = go_map();
    // A method's parent is its receiver's type (pointer and type parameters stripped). An
    // ungrouped declaration's signature starts with `type` / `const`; inside a group it starts
    // at the name.
    assert_eq!(
        file(&map, "internal/model/model.go")["symbols"],
        json!([
            {"name": "ID", "kind": "type", "parent": null, "signature": "type ID = string", "line": 10, "end_line": 10, "doc": "ID identifies an item."},
            {"name": "Status", "kind": "type", "parent": null, "signature": "type Status int", "line": 13, "end_line": 13, "doc": "Status of an item."},
            {"name": "StatusActive", "kind": "constant", "parent": null, "signature": "StatusActive Status = iota", "line": 17, "end_line": 17, "doc": "StatusActive items are for sale."},
            {"name": "StatusArchived", "kind": "constant", "parent": null, "signature": "StatusArchived", "line": 18, "end_line": 18},
            {"name": "MaxItems", "kind": "constant", "parent": null, "signature": "const MaxItems = 1000", "line": 22, "end_line": 22, "doc": "MaxItems caps a store's size."},
            {"name": "Item", "kind": "struct", "parent": null, "signature": "type Item struct", "line": 25, "end_line": 29, "doc": "Item is one thing for sale."},
            {"name": "Priced", "kind": "interface", "parent": null, "signature": "type Priced interface", "line": 32, "end_line": 34, "doc": "Priced is anything with a price."},
            {"name": "Tags", "kind": "type", "parent": null, "signature": "Tags []string", "line": 38, "end_line": 38, "doc": "Tags label an item."},
            {"name": "Pair", "kind": "struct", "parent": null, "signature": "Pair[K comparable, V any] struct", "line": 39, "end_line": 42},
            {"name": "Named", "kind": "interface", "parent": null, "signature": "Named interface", "line": 43, "end_line": 43},
            {"name": "Price", "kind": "method", "parent": "Item", "signature": "func (i *Item) Price() int", "line": 47, "end_line": 47, "doc": "Price of the item in cents."},
            {"name": "String", "kind": "method", "parent": "Pair", "signature": "func (p Pair[K, V]) String() string", "line": 49, "end_line": 49},
            {"name": "NewItem", "kind": "function", "parent": null, "signature": "func NewItem(name string) *Item", "line": 52, "end_line": 54, "doc": "NewItem makes an item."},
        ])
    );
    assert_eq!(
        file(&map, "internal/store/memory.go")["symbols"],
        json!([
            {"name": "Memory", "kind": "struct", "parent": null, "signature": "type Memory struct", "line": 10, "end_line": 13, "doc": "Memory is an in-memory Store."},
            {"name": "NewMemory", "kind": "function", "parent": null, "signature": "func NewMemory() *Memory", "line": 16, "end_line": 16, "doc": "NewMemory returns an empty store."},
            {"name": "Add", "kind": "method", "parent": "Memory", "signature": "func (m *Memory) Add(item *model.Item) error", "line": 18, "end_line": 23},
            {"name": "All", "kind": "method", "parent": "Memory", "signature": "func (m *Memory) All() []*model.Item", "line": 25, "end_line": 25},
        ])
    );
    assert_eq!(
        file(&map, "internal/store/store.go")["symbols"],
        json!([
            {"name": "Store", "kind": "interface", "parent": null, "signature": "type Store interface", "line": 6, "end_line": 9, "doc": "Store keeps items."},
        ])
    );
    assert_eq!(
        file(&map, "devtools/gen/gen.go")["symbols"],
        json!([
            {"name": "Banner", "kind": "function", "parent": null, "signature": "func Banner() string", "line": 5, "end_line": 5, "doc": "Banner is printed at startup."},
        ])
    );
}

#[test]
fn imports_resolve_to_every_file_of_the_package() {
    let map = go_map();
    // An import under the module path is every non-test .go file of that directory (not of its
    // sub-directories); `example.com/shop/tools/…` belongs to the nested module in devtools/,
    // whose longer module path wins. Others are external, cut to the module
    // (`github.com/stretchr/testify/assert` → `github.com/stretchr/testify`).
    assert_eq!(
        file(&map, "main.go")["imports"],
        json!([
            {"line": 5, "raw": "import \"fmt\"", "module": "fmt", "resolved": [], "external": "fmt"},
            {"line": 6, "raw": "import \"net/http\"", "module": "net/http", "resolved": [], "external": "net/http"},
            {"line": 8, "raw": "import \"example.com/shop/internal/model\"", "module": "example.com/shop/internal/model", "resolved": ["internal/model/model.go"]},
            {"line": 9, "raw": "import \"example.com/shop/internal/store\"", "module": "example.com/shop/internal/store", "resolved": ["internal/store/memory.go", "internal/store/store.go"]},
            {"line": 10, "raw": "import \"example.com/shop/tools/gen\"", "module": "example.com/shop/tools/gen", "resolved": ["devtools/gen/gen.go"]},
            {"line": 11, "raw": "import \"github.com/gin-gonic/gin\"", "module": "github.com/gin-gonic/gin", "resolved": [], "external": "github.com/gin-gonic/gin"},
        ])
    );
    assert_eq!(
        file(&map, "cmd/shopctl/main.go")["imports"],
        json!([
            {"line": 4, "raw": "import \"os\"", "module": "os", "resolved": [], "external": "os"},
            {"line": 6, "raw": "import st \"example.com/shop/internal/store\"", "module": "example.com/shop/internal/store", "resolved": ["internal/store/memory.go", "internal/store/store.go"]},
            {"line": 7, "raw": "import \"golang.org/x/term\"", "module": "golang.org/x/term", "resolved": [], "external": "golang.org/x/term"},
        ])
    );
    assert_eq!(
        file(&map, "internal/model/model.go")["imports"],
        json!([
            {"line": 5, "raw": "import \"fmt\"", "module": "fmt", "resolved": [], "external": "fmt"},
            {"line": 6, "raw": "import \"time\"", "module": "time", "resolved": [], "external": "time"},
        ])
    );
    assert_eq!(
        file(&map, "internal/store/store.go")["imports"],
        json!([
            {"line": 3, "raw": "import \"example.com/shop/internal/model\"", "module": "example.com/shop/internal/model", "resolved": ["internal/model/model.go"]},
        ])
    );
    assert_eq!(
        file(&map, "internal/store/memory.go")["imports"],
        json!([
            {"line": 4, "raw": "import \"sync\"", "module": "sync", "resolved": [], "external": "sync"},
            {"line": 6, "raw": "import \"example.com/shop/internal/model\"", "module": "example.com/shop/internal/model", "resolved": ["internal/model/model.go"]},
        ])
    );
    assert_eq!(
        file(&map, "internal/store/memory_test.go")["imports"],
        json!([
            {"line": 4, "raw": "import \"testing\"", "module": "testing", "resolved": [], "external": "testing"},
            {"line": 6, "raw": "import \"example.com/shop/internal/model\"", "module": "example.com/shop/internal/model", "resolved": ["internal/model/model.go"]},
            {"line": 7, "raw": "import \"github.com/stretchr/testify/assert\"", "module": "github.com/stretchr/testify/assert", "resolved": [], "external": "github.com/stretchr/testify"},
        ])
    );
    assert_eq!(
        file(&map, "internal/store/sqlstore/sql.go")["imports"],
        json!([
            {"line": 4, "raw": "import \"database/sql\"", "module": "database/sql", "resolved": [], "external": "database/sql"},
            {"line": 6, "raw": "import \"example.com/shop/internal/model\"", "module": "example.com/shop/internal/model", "resolved": ["internal/model/model.go"]},
        ])
    );
}

#[test]
fn edges_externals_and_project_are_exact() {
    let map = go_map();
    assert_eq!(
        edges(&map),
        [
            "cmd/shopctl/main.go -> internal/store/memory.go",
            "cmd/shopctl/main.go -> internal/store/store.go",
            "internal/store/memory.go -> internal/model/model.go",
            "internal/store/memory_test.go -> internal/model/model.go",
            "internal/store/sqlstore/sql.go -> internal/model/model.go",
            "internal/store/store.go -> internal/model/model.go",
            "main.go -> devtools/gen/gen.go",
            "main.go -> internal/model/model.go",
            "main.go -> internal/store/memory.go",
            "main.go -> internal/store/store.go",
        ]
    );
    assert_eq!(
        map["externals"],
        json!([
            {"name": "fmt", "files": 2},
            {"name": "database/sql", "files": 1},
            {"name": "github.com/gin-gonic/gin", "files": 1},
            {"name": "github.com/stretchr/testify", "files": 1},
            {"name": "golang.org/x/term", "files": 1},
            {"name": "net/http", "files": 1},
            {"name": "os", "files": 1},
            {"name": "sync", "files": 1},
            {"name": "testing", "files": 1},
            {"name": "time", "files": 1},
        ])
    );
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "cmd/shopctl/main.go", "reason": "package main"},
                {"path": "main.go", "reason": "package main"},
            ],
            "test_files": 1,
            "frameworks": ["gin"],
            "externals": [
                {"name": "fmt", "files": 2},
                {"name": "database/sql", "files": 1},
                {"name": "github.com/gin-gonic/gin", "files": 1},
                {"name": "github.com/stretchr/testify", "files": 1},
                {"name": "golang.org/x/term", "files": 1},
                {"name": "net/http", "files": 1},
                {"name": "os", "files": 1},
                {"name": "sync", "files": 1},
                {"name": "testing", "files": 1},
                {"name": "time", "files": 1},
            ],
        })
    );
}

#[test]
fn detection_and_stats() {
    let map = go_map();
    for (path, language, lines) in [
        ("cmd/shopctl/main.go", "go", 13),
        ("devtools/gen/gen.go", "go", 5),
        ("internal/model/model.go", "go", 54),
        ("internal/store/memory.go", "go", 25),
        ("internal/store/memory_test.go", "go", 13),
        ("internal/store/sqlstore/sql.go", "go", 12),
        ("internal/store/store.go", "go", 9),
        ("main.go", "go", 22),
    ] {
        let f = file(&map, path);
        assert_eq!(f["language"], language, "{path}");
        assert_eq!(f["lines"], lines, "{path}");
        assert_eq!(f["parse_errors"], false, "{path}");
    }
    let s = &map["stats"];
    assert_eq!(s["files"], json!(10));
    assert_eq!(s["source_files"], json!(8));
    assert_eq!(
        s["languages"],
        json!({"go": {"files": 8, "lines": 153, "bytes": 2601}})
    );
    assert_eq!(s["other_text"], json!({"mod": 2}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], json!(0));
    assert_eq!(s["symbols"], json!(24));
    assert_eq!(s["imports"], json!(19));
    assert_eq!(s["edges"], json!(10));
    assert_eq!(s["externals"], json!(10));
}
