//! JavaScript: exact symbols, resolved imports, edges and externals of the `javascript` fixture
//! (ES modules and CommonJS, JSX in `.js` and `.jsx`, a `.mjs` module, extension and `index`
//! resolution, `./x.js` written with its extension, a `jsconfig.json` path alias, `require()` and
//! `import()`, an extension-less `#!/usr/bin/env node` script, and a package.json with `bin`,
//! `main`, react and jest).

use serde_json::{Value, json};

use crate::util::{Test, map_edges as edges, map_file as file};

/// `vibe map --json` of a fresh copy of the javascript fixture.
fn js_map() -> Value {
    Test::fixture("javascript").run(&["map", "--json"]).json()
}

#[test]
fn symbols_are_exact() {
    let map = js_map();
    // Doc comments (`/** … */` and `//`) give their first line; an exported `async function`,
    // a class field holding an arrow function (a method of its class), a generator, a class
    // expression and a CommonJS `module.exports.x = function` are all definitions; a
    // `require()` bound to a const is an import, not a constant.
    assert_eq!(
        file(&map, "src/cli.js")["symbols"],
        json!([
            {"name": "DEFAULT_STEP", "kind": "constant", "parent": null, "signature": "const DEFAULT_STEP = 1;", "line": 6, "end_line": 6, "doc": "Default step when none is given."},
            {"name": "run", "kind": "function", "parent": null, "signature": "async function run(args)", "line": 12, "end_line": 18, "doc": "Runs the counter from the command line."},
            {"name": "start", "kind": "function", "parent": null, "signature": "module.exports.start = function ()", "line": 20, "end_line": 22},
        ])
    );
    assert_eq!(
        file(&map, "src/components/Counter.js")["symbols"],
        json!([
            {"name": "Counter", "kind": "class", "parent": null, "signature": "class Counter extends React.Component", "line": 7, "end_line": 18, "doc": "A click counter."},
            {"name": "increment", "kind": "method", "parent": "Counter", "signature": "increment = () =>", "line": 11, "end_line": 13, "doc": "Bumps the count."},
            {"name": "render", "kind": "method", "parent": "Counter", "signature": "render()", "line": 15, "end_line": 17},
            {"name": "Badge", "kind": "function", "parent": null, "signature": "const Badge = ({ value }) =>", "line": 20, "end_line": 20},
            {"name": "useToggle", "kind": "function", "parent": null, "signature": "function useToggle(initial = false)", "line": 22, "end_line": 25},
        ])
    );
    assert_eq!(
        file(&map, "src/components/App.jsx")["symbols"],
        json!([
            {"name": "App", "kind": "function", "parent": null, "signature": "function App({ title })", "line": 7, "end_line": 15, "doc": "The root component."},
        ])
    );
    assert_eq!(
        file(&map, "src/utils/debounce.js")["symbols"],
        json!([
            {"name": "WAIT_MS", "kind": "constant", "parent": null, "signature": "const WAIT_MS = 100;", "line": 2, "end_line": 2, "doc": "Milliseconds to wait by default."},
            {"name": "debounce", "kind": "function", "parent": null, "signature": "function debounce(fn, wait = WAIT_MS)", "line": 7, "end_line": 13, "doc": "Delays calls to fn until wait ms have passed without one."},
            {"name": "ids", "kind": "function", "parent": null, "signature": "function* ids(start)", "line": 15, "end_line": 18},
            {"name": "Timer", "kind": "class", "parent": null, "signature": "const Timer = class", "line": 20, "end_line": 24},
            {"name": "start", "kind": "method", "parent": "Timer", "signature": "start()", "line": 21, "end_line": 23},
        ])
    );
    assert_eq!(
        file(&map, "src/utils/math.mjs")["symbols"],
        json!([
            {"name": "clamp", "kind": "function", "parent": null, "signature": "function clamp(n, lo, hi)", "line": 2, "end_line": 4, "doc": "Keeps n within [lo, hi]."},
            {"name": "TAU", "kind": "constant", "parent": null, "signature": "const TAU = 2 * Math.PI;", "line": 6, "end_line": 6},
        ])
    );
    assert_eq!(
        file(&map, "src/utils/index.js")["symbols"],
        json!([
            {"name": "format", "kind": "function", "parent": null, "signature": "const format = (n) =>", "line": 6, "end_line": 6},
        ])
    );
}

#[test]
fn imports_resolve_with_extensions_index_files_and_aliases() {
    let map = js_map();
    // `./utils` → utils/index.js, `./components/App` → App.jsx, `./Counter.js` as written,
    // `~/…` through jsconfig `paths`, `node:fs` → fs, `lodash/fp` → lodash, `@acme/ui/button`
    // → @acme/ui; `./missing` names no file, so it has neither a target nor an external.
    assert_eq!(
        file(&map, "bin/counter")["imports"],
        json!([
            {"line": 2, "raw": "require(\"../src/cli\")", "module": "../src/cli", "resolved": ["src/cli.js"]},
        ])
    );
    assert_eq!(
        file(&map, "src/index.js")["imports"],
        json!([
            {"line": 1, "raw": "export { default as App } from \"./components/App\";", "module": "./components/App", "resolved": ["src/components/App.jsx"]},
            {"line": 2, "raw": "export * from \"./utils\";", "module": "./utils", "resolved": ["src/utils/index.js"]},
            {"line": 3, "raw": "export { Counter } from \"./components/Counter.js\";", "module": "./components/Counter.js", "resolved": ["src/components/Counter.js"]},
        ])
    );
    assert_eq!(
        file(&map, "src/cli.js")["imports"],
        json!([
            {"line": 1, "raw": "import fs from \"node:fs\";", "module": "node:fs", "resolved": [], "external": "fs"},
            {"line": 2, "raw": "import { clamp } from \"./utils/math.mjs\";", "module": "./utils/math.mjs", "resolved": ["src/utils/math.mjs"]},
            {"line": 3, "raw": "import settings from \"./settings.json\";", "module": "./settings.json", "resolved": ["src/settings.json"]},
            {"line": 13, "raw": "import(\"./utils/index.js\")", "module": "./utils/index.js", "resolved": ["src/utils/index.js"]},
            {"line": 14, "raw": "require(\"./missing\")", "module": "./missing", "resolved": []},
        ])
    );
    assert_eq!(
        file(&map, "src/components/App.jsx")["imports"],
        json!([
            {"line": 1, "raw": "import React from \"react\";", "module": "react", "resolved": [], "external": "react"},
            {"line": 2, "raw": "import { Button } from \"@acme/ui/button\";", "module": "@acme/ui/button", "resolved": [], "external": "@acme/ui"},
            {"line": 3, "raw": "import { Counter } from \"./Counter\";", "module": "./Counter", "resolved": ["src/components/Counter.js"]},
            {"line": 4, "raw": "import { TAU } from \"~/utils/math.mjs\";", "module": "~/utils/math.mjs", "resolved": ["src/utils/math.mjs"]},
        ])
    );
    assert_eq!(
        file(&map, "src/components/Counter.js")["imports"],
        json!([
            {"line": 1, "raw": "import React, { useState } from \"react\";", "module": "react", "resolved": [], "external": "react"},
            {"line": 2, "raw": "import { debounce } from \"../utils\";", "module": "../utils", "resolved": ["src/utils/index.js"]},
        ])
    );
    assert_eq!(
        file(&map, "src/utils/index.js")["imports"],
        json!([
            {"line": 1, "raw": "require(\"lodash/fp\")", "module": "lodash/fp", "resolved": [], "external": "lodash"},
            {"line": 3, "raw": "export { debounce } from \"./debounce\";", "module": "./debounce", "resolved": ["src/utils/debounce.js"]},
            {"line": 4, "raw": "export * from \"./math.mjs\";", "module": "./math.mjs", "resolved": ["src/utils/math.mjs"]},
        ])
    );
    assert_eq!(
        file(&map, "test/counter.test.js")["imports"],
        json!([
            {"line": 1, "raw": "require(\"@testing-library/react\")", "module": "@testing-library/react", "resolved": [], "external": "@testing-library/react"},
            {"line": 2, "raw": "require(\"../src/components/Counter\")", "module": "../src/components/Counter", "resolved": ["src/components/Counter.js"]},
        ])
    );
}

#[test]
fn edges_externals_and_project_are_exact() {
    let map = js_map();
    assert_eq!(
        edges(&map),
        [
            "bin/counter -> src/cli.js",
            "src/cli.js -> src/settings.json",
            "src/cli.js -> src/utils/index.js",
            "src/cli.js -> src/utils/math.mjs",
            "src/components/App.jsx -> src/components/Counter.js",
            "src/components/App.jsx -> src/utils/math.mjs",
            "src/components/Counter.js -> src/utils/index.js",
            "src/index.js -> src/components/App.jsx",
            "src/index.js -> src/components/Counter.js",
            "src/index.js -> src/utils/index.js",
            "src/utils/index.js -> src/utils/debounce.js",
            "src/utils/index.js -> src/utils/math.mjs",
            "test/counter.test.js -> src/components/Counter.js",
        ]
    );
    assert_eq!(
        map["externals"],
        json!([
            {"name": "react", "files": 2},
            {"name": "@acme/ui", "files": 1},
            {"name": "@testing-library/react", "files": 1},
            {"name": "fs", "files": 1},
            {"name": "lodash", "files": 1},
        ])
    );
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "bin/counter", "reason": "package.json bin"},
                {"path": "src/index.js", "reason": "package.json main"},
            ],
            "test_files": 1,
            "frameworks": ["jest", "react"],
            "externals": [
                {"name": "react", "files": 2},
                {"name": "@acme/ui", "files": 1},
                {"name": "@testing-library/react", "files": 1},
                {"name": "fs", "files": 1},
                {"name": "lodash", "files": 1},
            ],
        })
    );
}

#[test]
fn detection_and_stats() {
    let map = js_map();
    // The shebang script and the JSX in `.js` / `.jsx` files are JavaScript; JSON files are
    // other text (but `./settings.json` is still an import target).
    for (path, language, lines) in [
        ("bin/counter", "javascript", 4),
        ("src/cli.js", "javascript", 22),
        ("src/components/App.jsx", "javascript", 15),
        ("src/components/Counter.js", "javascript", 25),
        ("src/index.js", "javascript", 3),
        ("src/utils/debounce.js", "javascript", 24),
        ("src/utils/index.js", "javascript", 6),
        ("src/utils/math.mjs", "javascript", 6),
        ("test/counter.test.js", "javascript", 6),
    ] {
        let f = file(&map, path);
        assert_eq!(f["language"], language, "{path}");
        assert_eq!(f["lines"], lines, "{path}");
        assert_eq!(f["parse_errors"], false, "{path}");
    }
    let s = &map["stats"];
    assert_eq!(s["files"], json!(12));
    assert_eq!(s["source_files"], json!(9));
    assert_eq!(
        s["languages"],
        json!({"javascript": {"files": 9, "lines": 111, "bytes": 2635}})
    );
    assert_eq!(s["other_text"], json!({"json": 3}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], json!(0));
    assert_eq!(s["symbols"], json!(17));
    assert_eq!(s["imports"], json!(20));
    assert_eq!(s["edges"], json!(13));
    assert_eq!(s["externals"], json!(5));
}

#[test]
fn queries_subpath_imports_and_registry_prefixes() {
    let t = Test::new();
    t.write("logo.svg", "<svg/>\n");
    t.write(
        "main.js",
        "import svg from \"./logo.svg?raw\";\n\
         import { x } from \"#internal/util\";\n\
         import root from \"/static/app.js\";\n\
         import React from \"npm:react@18.2.0\";\n\
         import { join } from \"jsr:@std/path@1/join\";\n",
    );
    let map = t.run(&["map", "--json"]).json();
    // A query is not part of the path; `#…` (package.json subpath imports) and root-relative
    // paths name no other package; Deno's `npm:` / `jsr:` specifiers carry a version.
    assert_eq!(
        file(&map, "main.js")["imports"],
        json!([
            {"line": 1, "raw": "import svg from \"./logo.svg?raw\";", "module": "./logo.svg?raw",
             "resolved": ["logo.svg"]},
            {"line": 2, "raw": "import { x } from \"#internal/util\";", "module": "#internal/util",
             "resolved": []},
            {"line": 3, "raw": "import root from \"/static/app.js\";", "module": "/static/app.js",
             "resolved": []},
            {"line": 4, "raw": "import React from \"npm:react@18.2.0\";",
             "module": "npm:react@18.2.0", "resolved": [], "external": "react"},
            {"line": 5, "raw": "import { join } from \"jsr:@std/path@1/join\";",
             "module": "jsr:@std/path@1/join", "resolved": [], "external": "@std/path"},
        ])
    );
}
