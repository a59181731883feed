//! Java: exact symbols, resolved imports, edges and externals of the `java` fixture (a Maven
//! layout with classes, a record, an interface with a constant and a default method, nested and
//! package-private top-level types, an annotation type, single-type, wildcard, static and
//! nested-type imports, a static main and a JUnit test; pom.xml declares junit).

use serde_json::{Value, json};

use crate::util::{Test, made_by_schema, map_edges as edges, map_file as file, map_symbols, rows};

/// `vibe map --json` of a fresh copy of the java fixture.
fn java_map() -> Value {
    Test::fixture("java").run(&["map", "--json"]).json()
}

#[test]
fn symbols_are_exact() {
    let map = java_map();
    // Signatures keep modifiers and annotations; constructors are methods; `static final` fields
    // and interface fields are constants; a package-private record and an annotation type next
    // to a public class are definitions too.
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/App.java")["symbols"],
        json!([
            {"name": "App", "kind": "class", "parent": null, "signature": "public class App", "line": 12, "end_line": 18, "doc": "The shop's command-line entry point."},
            {"name": "main", "kind": "method", "parent": "App", "signature": "public static void main(String[] args)", "line": 13, "end_line": 17},
        ])
    );
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/model/Order.java")["symbols"],
        json!([
            {"name": "Order", "kind": "class", "parent": null, "signature": "public class Order implements Priced", "line": 8, "end_line": 26, "doc": "An order of one or more lines."},
            {"name": "LIMIT", "kind": "constant", "parent": "Order", "signature": "public static final long LIMIT = 100_000L;", "line": 10, "end_line": 10, "doc": "Orders above this need approval."},
            {"name": "Order", "kind": "method", "parent": "Order", "signature": "public Order(String customer, List<OrderLine> lines)", "line": 14, "end_line": 17},
            {"name": "total", "kind": "method", "parent": "Order", "signature": "@Override public long total()", "line": 20, "end_line": 23, "doc": "Sum of the lines."},
            {"name": "State", "kind": "enum", "parent": "Order", "signature": "public enum State", "line": 25, "end_line": 25},
            {"name": "OrderLine", "kind": "class", "parent": null, "signature": "record OrderLine(String sku, int qty)", "line": 29, "end_line": 33, "doc": "A line of an order."},
            {"name": "total", "kind": "method", "parent": "OrderLine", "signature": "long total()", "line": 30, "end_line": 32},
        ])
    );
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/model/Priced.java")["symbols"],
        json!([
            {"name": "Priced", "kind": "interface", "parent": null, "signature": "public interface Priced", "line": 4, "end_line": 12, "doc": "Something with a price in cents."},
            {"name": "CURRENCY_DIGITS", "kind": "constant", "parent": "Priced", "signature": "int CURRENCY_DIGITS = 2;", "line": 5, "end_line": 5},
            {"name": "total", "kind": "method", "parent": "Priced", "signature": "long total();", "line": 7, "end_line": 7},
            {"name": "isFree", "kind": "method", "parent": "Priced", "signature": "default boolean isFree()", "line": 9, "end_line": 11},
        ])
    );
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/util/Money.java")["symbols"],
        json!([
            {"name": "Money", "kind": "class", "parent": null, "signature": "public class Money", "line": 6, "end_line": 12, "doc": "Formats amounts."},
            {"name": "SYMBOL", "kind": "constant", "parent": "Money", "signature": "static final String SYMBOL = \"$\";", "line": 7, "end_line": 7},
            {"name": "format", "kind": "method", "parent": "Money", "signature": "public static String format(long cents)", "line": 9, "end_line": 11},
            {"name": "Audited", "kind": "interface", "parent": null, "signature": "@interface Audited", "line": 14, "end_line": 16},
            {"name": "by", "kind": "method", "parent": "Audited", "signature": "String by() default \"\";", "line": 15, "end_line": 15},
        ])
    );
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/util/Strings.java")["symbols"],
        json!([
            {"name": "Strings", "kind": "class", "parent": null, "signature": "public final class Strings", "line": 3, "end_line": 10},
            {"name": "Strings", "kind": "method", "parent": "Strings", "signature": "private Strings()", "line": 4, "end_line": 4},
            {"name": "capitalize", "kind": "method", "parent": "Strings", "signature": "public static String capitalize(String s)", "line": 7, "end_line": 9, "doc": "Upper-cases the first letter."},
        ])
    );
    assert_eq!(
        file(&map, "src/test/java/com/acme/shop/AppTest.java")["symbols"],
        json!([
            {"name": "AppTest", "kind": "class", "parent": null, "signature": "class AppTest", "line": 8, "end_line": 13},
            {"name": "totalIsZeroWithoutLines", "kind": "method", "parent": "AppTest", "signature": "@Test void totalIsZeroWithoutLines()", "line": 9, "end_line": 12},
        ])
    );
}

#[test]
fn imports_resolve_by_package_and_class() {
    let map = java_map();
    // `model.OrderLine` is a top-level type of Order.java; `model.Order.State` is nested in
    // Order; `util.*` is every file of the package; a static import names its class's file.
    // Externals are cut before the first type name and to three segments at most.
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/App.java")["imports"],
        json!([
            {"line": 3, "raw": "import java.util.List;", "module": "java.util.List", "resolved": [], "external": "java.util"},
            {"line": 4, "raw": "import com.acme.shop.model.Order;", "module": "com.acme.shop.model.Order", "resolved": ["src/main/java/com/acme/shop/model/Order.java"]},
            {"line": 5, "raw": "import com.acme.shop.model.OrderLine;", "module": "com.acme.shop.model.OrderLine", "resolved": ["src/main/java/com/acme/shop/model/Order.java"]},
            {"line": 6, "raw": "import com.acme.shop.model.Order.State;", "module": "com.acme.shop.model.Order.State", "resolved": ["src/main/java/com/acme/shop/model/Order.java"]},
            {"line": 7, "raw": "import com.acme.shop.util.*;", "module": "com.acme.shop.util.*", "resolved": ["src/main/java/com/acme/shop/util/Money.java", "src/main/java/com/acme/shop/util/Strings.java"]},
            {"line": 8, "raw": "import static com.acme.shop.util.Strings.capitalize;", "module": "com.acme.shop.util.Strings.capitalize", "resolved": ["src/main/java/com/acme/shop/util/Strings.java"]},
            {"line": 9, "raw": "import com.google.common.collect.ImmutableList;", "module": "com.google.common.collect.ImmutableList", "resolved": [], "external": "com.google.common"},
        ])
    );
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/model/Order.java")["imports"],
        json!([
            {"line": 3, "raw": "import java.util.List;", "module": "java.util.List", "resolved": [], "external": "java.util"},
        ])
    );
    assert_eq!(
        file(&map, "src/main/java/com/acme/shop/util/Money.java")["imports"],
        json!([
            {"line": 3, "raw": "import java.text.NumberFormat;", "module": "java.text.NumberFormat", "resolved": [], "external": "java.text"},
        ])
    );
    assert_eq!(
        file(&map, "src/test/java/com/acme/shop/AppTest.java")["imports"],
        json!([
            {"line": 3, "raw": "import static org.junit.jupiter.api.Assertions.assertEquals;", "module": "org.junit.jupiter.api.Assertions.assertEquals", "resolved": [], "external": "org.junit.jupiter"},
            {"line": 5, "raw": "import com.acme.shop.model.Order;", "module": "com.acme.shop.model.Order", "resolved": ["src/main/java/com/acme/shop/model/Order.java"]},
            {"line": 6, "raw": "import org.junit.jupiter.api.Test;", "module": "org.junit.jupiter.api.Test", "resolved": [], "external": "org.junit.jupiter"},
        ])
    );
}

#[test]
fn edges_externals_and_project_are_exact() {
    let map = java_map();
    assert_eq!(
        edges(&map),
        [
            "src/main/java/com/acme/shop/App.java -> src/main/java/com/acme/shop/model/Order.java",
            "src/main/java/com/acme/shop/App.java -> src/main/java/com/acme/shop/util/Money.java",
            "src/main/java/com/acme/shop/App.java -> src/main/java/com/acme/shop/util/Strings.java",
            "src/test/java/com/acme/shop/AppTest.java -> src/main/java/com/acme/shop/model/Order.java",
        ]
    );
    assert_eq!(
        map["externals"],
        json!([
            {"name": "java.util", "files": 2},
            {"name": "com.google.common", "files": 1},
            {"name": "java.text", "files": 1},
            {"name": "org.junit.jupiter", "files": 1},
        ])
    );
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "src/main/java/com/acme/shop/App.java", "reason": "static main"},
            ],
            "test_files": 1,
            "frameworks": ["junit"],
            "externals": [
                {"name": "java.util", "files": 2},
                {"name": "com.google.common", "files": 1},
                {"name": "java.text", "files": 1},
                {"name": "org.junit.jupiter", "files": 1},
            ],
        })
    );
}

#[test]
fn detection_and_stats() {
    let map = java_map();
    for (path, language, lines) in [
        ("src/main/java/com/acme/shop/App.java", "java", 18),
        ("src/main/java/com/acme/shop/model/Order.java", "java", 33),
        ("src/main/java/com/acme/shop/model/Priced.java", "java", 12),
        ("src/main/java/com/acme/shop/util/Money.java", "java", 16),
        ("src/main/java/com/acme/shop/util/Strings.java", "java", 10),
        ("src/test/java/com/acme/shop/AppTest.java", "java", 13),
    ] {
        let f = file(&map, path);
        assert_eq!(f["language"], language, "{path}");
        assert_eq!(f["lines"], lines, "{path}");
        assert_eq!(f["parse_errors"], false, "{path}");
    }
    let s = &map["stats"];
    assert_eq!(s["files"], json!(7));
    assert_eq!(s["source_files"], json!(6));
    assert_eq!(
        s["languages"],
        json!({"java": {"files": 6, "lines": 102, "bytes": 2444}})
    );
    assert_eq!(s["other_text"], json!({"xml": 1}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], json!(0));
    assert_eq!(s["symbols"], json!(23));
    assert_eq!(s["imports"], json!(12));
    assert_eq!(s["edges"], json!(4));
    assert_eq!(s["externals"], json!(4));
}

/// An enum constant with a body of its own is a definition, and the methods in it are its
/// (helper 97 on jsoup's TokeniserState: ~40 `read` methods, each the enum's). Also in an index
/// made before that was so.
#[test]
fn enum_constants_with_bodies_own_their_methods() {
    let t = Test::new();
    t.write(
        "src/State.java",
        "enum State {\n    Data {\n        void read(Reader r) {\n            r.advance();\n        }\n    },\n    \
         Tag(\"<\") {\n        void read(Reader r) {\n            r.consume();\n        }\n    },\n    \
         Plain;\n\n    State() {}\n    State(String s) {}\n\n    abstract void read(Reader r);\n}\n",
    );
    let fields = ["name", "kind", "parent", "signature"];
    let symbols =
        |t: &Test| map_symbols(&t.run(&["map", "--json"]).json(), "src/State.java", &fields);
    let want = rows(&[
        ["State", "enum", "", "enum State"],
        ["Data", "constant", "State", "Data"],
        ["read", "method", "Data", "void read(Reader r)"],
        ["Tag", "constant", "State", "Tag(\"<\")"],
        ["read", "method", "Tag", "void read(Reader r)"],
        ["State", "method", "State", "State()"],
        ["State", "method", "State", "State(String s)"],
        ["read", "method", "State", "abstract void read(Reader r);"],
    ]);
    assert_eq!(symbols(&t), want);
    // An index made before: the constants were no definitions.
    made_by_schema(&t, 21, "DELETE FROM symbols WHERE kind = 'constant'");
    assert_eq!(symbols(&t), want);
}
