//! TypeScript: exact symbols, resolved imports, edges and externals of the `typescript` fixture
//! (interfaces, type aliases, enums, abstract classes, namespaces, overloads, `declare module`,
//! TSX, `index.ts` files, `./x.js` → `x.ts`, `.d.ts`, tsconfig `baseUrl` from an extended config
//! and `paths` with a fallback substitution, a nested package with its own tsconfig, `import x =
//! require()`, and an extension-less `#!/usr/bin/env -S deno run` script).

use serde_json::{Value, json};

use crate::util::{Test, map_edges as edges, map_file as file};

/// `vibe map --json` of a fresh copy of the typescript fixture.
fn ts_map() -> Value {
    Test::fixture("typescript").run(&["map", "--json"]).json()
}

#[test]
fn symbols_are_exact() {
    let map = ts_map();
    // Interface members and abstract methods are methods of their owner; overload signatures are
    // definitions of their own (one per line); `declare const` and `export declare const` are constants; a function in a
    // namespace (or a constant in a `declare module`) has it as parent.
    assert_eq!(
        file(&map, "src/models/user.ts")["symbols"],
        json!([
            {"name": "UserId", "kind": "type", "parent": null, "signature": "type UserId = string;", "line": 2, "end_line": 2, "doc": "A unique user id."},
            {"name": "User", "kind": "interface", "parent": null, "signature": "interface User", "line": 7, "end_line": 11, "doc": "A registered user."},
            {"name": "greet", "kind": "method", "parent": "User", "signature": "greet(other: User): string", "line": 10, "end_line": 10},
            {"name": "Status", "kind": "enum", "parent": null, "signature": "enum Status", "line": 13, "end_line": 16},
            {"name": "Entity", "kind": "class", "parent": null, "signature": "abstract class Entity", "line": 19, "end_line": 25, "doc": "Base of every persisted model."},
            {"name": "validate", "kind": "method", "parent": "Entity", "signature": "abstract validate(): boolean", "line": 20, "end_line": 20},
            {"name": "save", "kind": "method", "parent": "Entity", "signature": "save(): void", "line": 22, "end_line": 24},
            {"name": "Users", "kind": "namespace", "parent": null, "signature": "namespace Users", "line": 27, "end_line": 31},
            {"name": "find", "kind": "function", "parent": "Users", "signature": "function find(id: UserId): User | undefined", "line": 28, "end_line": 30},
        ])
    );
    assert_eq!(
        file(&map, "src/models/role.ts")["symbols"],
        json!([
            {"name": "Role", "kind": "enum", "parent": null, "signature": "enum Role", "line": 1, "end_line": 4},
            {"name": "Permission", "kind": "type", "parent": null, "signature": "type Permission = \"read\" | \"write\";", "line": 6, "end_line": 6},
        ])
    );
    assert_eq!(
        file(&map, "src/store.ts")["symbols"],
        json!([
            {"name": "Store", "kind": "class", "parent": null, "signature": "class Store<T extends User = User>", "line": 5, "end_line": 19, "doc": "Keeps users in memory."},
            {"name": "constructor", "kind": "method", "parent": "Store", "signature": "constructor(private readonly config: Config)", "line": 8, "end_line": 8},
            {"name": "get", "kind": "method", "parent": "Store", "signature": "get(id: string): T | undefined", "line": 10, "end_line": 10},
            {"name": "get", "kind": "method", "parent": "Store", "signature": "get(ids: string[]): T[]", "line": 11, "end_line": 11},
            {"name": "get", "kind": "method", "parent": "Store", "signature": "get(arg: string | string[]): T | T[] | undefined", "line": 12, "end_line": 14},
            {"name": "add", "kind": "method", "parent": "Store", "signature": "add = (item: T): void =>", "line": 16, "end_line": 18},
        ])
    );
    assert_eq!(
        file(&map, "src/config.ts")["symbols"],
        json!([
            {"name": "Config", "kind": "interface", "parent": null, "signature": "interface Config", "line": 1, "end_line": 3},
            {"name": "__DEV__", "kind": "constant", "parent": null, "signature": "const __DEV__: boolean;", "line": 5, "end_line": 5},
            {"name": "DEFAULTS", "kind": "constant", "parent": null, "signature": "const DEFAULTS: Config = { debug: __DEV__ };", "line": 8, "end_line": 8, "doc": "Defaults for every run."},
            {"name": "load", "kind": "function", "parent": null, "signature": "function load(path: string): Config;", "line": 10, "end_line": 10},
            {"name": "load", "kind": "function", "parent": null, "signature": "function load(path: string, fallback: Config): Config;", "line": 11, "end_line": 11},
            {"name": "load", "kind": "function", "parent": null, "signature": "function load(path: string, fallback = DEFAULTS): Config", "line": 12, "end_line": 14},
        ])
    );
    assert_eq!(
        file(&map, "src/env.d.ts")["symbols"],
        json!([
            {"name": "Env", "kind": "interface", "parent": null, "signature": "interface Env", "line": 2, "end_line": 4, "doc": "Build-time environment."},
            {"name": "virtual:env", "kind": "module", "parent": null, "signature": "module \"virtual:env\"", "line": 6, "end_line": 8},
            {"name": "env", "kind": "constant", "parent": "virtual:env", "signature": "const env: Env;", "line": 7, "end_line": 7},
            {"name": "BUILD_ID", "kind": "constant", "parent": null, "signature": "const BUILD_ID: string;", "line": 10, "end_line": 10},
        ])
    );
    assert_eq!(
        file(&map, "src/components/UserCard.tsx")["symbols"],
        json!([
            {"name": "Props", "kind": "type", "parent": null, "signature": "type Props = { user: User; compact?: boolean };", "line": 4, "end_line": 4},
            {"name": "UserCard", "kind": "function", "parent": null, "signature": "const UserCard = ({ user, compact }: Props) =>", "line": 7, "end_line": 9, "doc": "Shows one user."},
            {"name": "UserList", "kind": "function", "parent": null, "signature": "function UserList({ users }: { users: User[] })", "line": 11, "end_line": 13},
        ])
    );
    assert_eq!(
        file(&map, "src/index.ts")["symbols"],
        json!([
            {"name": "VERSION", "kind": "constant", "parent": null, "signature": "const VERSION = \"2.1.0\";", "line": 10, "end_line": 10},
            {"name": "banner", "kind": "function", "parent": null, "signature": "function banner(env: Env): string", "line": 12, "end_line": 14},
        ])
    );
    assert_eq!(
        file(&map, "scripts/seed")["symbols"],
        json!([
            {"name": "store", "kind": "constant", "parent": null, "signature": "const store = new Store({ debug: true });", "line": 4, "end_line": 4},
        ])
    );
}

#[test]
fn imports_resolve_through_index_files_and_tsconfig() {
    let map = ts_map();
    // tsconfig.json extends tsconfig.base.json, whose `baseUrl` (./src) is relative to the base:
    // `utils/strings` resolves through baseUrl, `@/config` and `@models` through `paths`, and
    // `#generated/schema` through the second substitution of its pattern (src/generated does
    // not exist). packages/server has its own tsconfig, whose `@/*` wins there.
    assert_eq!(
        file(&map, "src/index.ts")["imports"],
        json!([
            {"line": 1, "raw": "export * from \"./models\";", "module": "./models", "resolved": ["src/models/index.ts"]},
            {"line": 2, "raw": "export { Store } from \"./store.js\";", "module": "./store.js", "resolved": ["src/store.ts"]},
            {"line": 3, "raw": "export type { Config } from \"@/config\";", "module": "@/config", "resolved": ["src/config.ts"]},
            {"line": 4, "raw": "import { capitalize } from \"utils/strings\";", "module": "utils/strings", "resolved": ["src/utils/strings.ts"]},
            {"line": 5, "raw": "import { UserCard } from \"./components/UserCard\";", "module": "./components/UserCard", "resolved": ["src/components/UserCard.tsx"]},
            {"line": 6, "raw": "import { z } from \"zod\";", "module": "zod", "resolved": [], "external": "zod"},
            {"line": 7, "raw": "import type { Env } from \"./env\";", "module": "./env", "resolved": ["src/env.d.ts"]},
            {"line": 8, "raw": "import { schema } from \"#generated/schema\";", "module": "#generated/schema", "resolved": ["src/fallback/schema.ts"]},
        ])
    );
    assert_eq!(
        file(&map, "src/models/index.ts")["imports"],
        json!([
            {"line": 1, "raw": "export * from \"./user\";", "module": "./user", "resolved": ["src/models/user.ts"]},
            {"line": 2, "raw": "export { Role, type Permission } from \"./role\";", "module": "./role", "resolved": ["src/models/role.ts"]},
        ])
    );
    assert_eq!(
        file(&map, "src/store.ts")["imports"],
        json!([
            {"line": 1, "raw": "import type { Config } from \"@/config\";", "module": "@/config", "resolved": ["src/config.ts"]},
            {"line": 2, "raw": "import type { User } from \"@models\";", "module": "@models", "resolved": ["src/models/index.ts"]},
        ])
    );
    assert_eq!(
        file(&map, "src/components/UserCard.tsx")["imports"],
        json!([
            {"line": 1, "raw": "import React from \"react\";", "module": "react", "resolved": [], "external": "react"},
            {"line": 2, "raw": "import { User } from \"@/models\";", "module": "@/models", "resolved": ["src/models/index.ts"]},
        ])
    );
    assert_eq!(
        file(&map, "src/utils/strings.ts")["imports"],
        json!([
            {"line": 1, "raw": "import fp = require(\"lodash/fp\");", "module": "lodash/fp", "resolved": [], "external": "lodash"},
        ])
    );
    assert_eq!(
        file(&map, "src/store.spec.ts")["imports"],
        json!([
            {"line": 1, "raw": "import { describe, it, expect } from \"vitest\";", "module": "vitest", "resolved": [], "external": "vitest"},
            {"line": 2, "raw": "import { Store } from \"./store\";", "module": "./store", "resolved": ["src/store.ts"]},
        ])
    );
    assert_eq!(
        file(&map, "scripts/seed")["imports"],
        json!([
            {"line": 2, "raw": "import { Store } from \"../src/store.ts\";", "module": "../src/store.ts", "resolved": ["src/store.ts"]},
        ])
    );
    assert_eq!(
        file(&map, "packages/server/src/main.ts")["imports"],
        json!([
            {"line": 1, "raw": "import { Controller } from \"@nestjs/common\";", "module": "@nestjs/common", "resolved": [], "external": "@nestjs/common"},
            {"line": 2, "raw": "import { connect } from \"@/db\";", "module": "@/db", "resolved": ["packages/server/lib/db.ts"]},
            {"line": 3, "raw": "import { Store } from \"../../../src/store\";", "module": "../../../src/store", "resolved": ["src/store.ts"]},
        ])
    );
}

#[test]
fn edges_externals_and_project_are_exact() {
    let map = ts_map();
    assert_eq!(
        edges(&map),
        [
            "packages/server/src/main.ts -> packages/server/lib/db.ts",
            "packages/server/src/main.ts -> src/store.ts",
            "scripts/seed -> src/store.ts",
            "src/components/UserCard.tsx -> src/models/index.ts",
            "src/index.ts -> src/components/UserCard.tsx",
            "src/index.ts -> src/config.ts",
            "src/index.ts -> src/env.d.ts",
            "src/index.ts -> src/fallback/schema.ts",
            "src/index.ts -> src/models/index.ts",
            "src/index.ts -> src/store.ts",
            "src/index.ts -> src/utils/strings.ts",
            "src/models/index.ts -> src/models/role.ts",
            "src/models/index.ts -> src/models/user.ts",
            "src/store.spec.ts -> src/store.ts",
            "src/store.ts -> src/config.ts",
            "src/store.ts -> src/models/index.ts",
        ]
    );
    assert_eq!(
        map["externals"],
        json!([
            {"name": "@nestjs/common", "files": 1},
            {"name": "lodash", "files": 1},
            {"name": "react", "files": 1},
            {"name": "vitest", "files": 1},
            {"name": "zod", "files": 1},
        ])
    );
    assert_eq!(
        map["project"],
        json!({
            "entry_points": [
                {"path": "packages/server/src/main.ts", "reason": "main()"},
            ],
            "test_files": 1,
            "frameworks": ["react", "typescript", "vitest"],
            "externals": [
                {"name": "@nestjs/common", "files": 1},
                {"name": "lodash", "files": 1},
                {"name": "react", "files": 1},
                {"name": "vitest", "files": 1},
                {"name": "zod", "files": 1},
            ],
        })
    );
}

#[test]
fn detection_and_stats() {
    let map = ts_map();
    // `.tsx` is its own language; the deno shebang script is TypeScript.
    for (path, language, lines) in [
        ("packages/server/lib/db.ts", "typescript", 3),
        ("packages/server/src/main.ts", "typescript", 14),
        ("scripts/seed", "typescript", 5),
        ("src/components/UserCard.tsx", "tsx", 13),
        ("src/config.ts", "typescript", 14),
        ("src/env.d.ts", "typescript", 10),
        ("src/fallback/schema.ts", "typescript", 3),
        ("src/index.ts", "typescript", 14),
        ("src/models/index.ts", "typescript", 2),
        ("src/models/role.ts", "typescript", 6),
        ("src/models/user.ts", "typescript", 31),
        ("src/store.spec.ts", "typescript", 8),
        ("src/store.ts", "typescript", 19),
        ("src/utils/strings.ts", "typescript", 4),
    ] {
        let f = file(&map, path);
        assert_eq!(f["language"], language, "{path}");
        assert_eq!(f["lines"], lines, "{path}");
        assert_eq!(f["parse_errors"], false, "{path}");
    }
    let s = &map["stats"];
    assert_eq!(s["files"], json!(18));
    assert_eq!(s["source_files"], json!(14));
    assert_eq!(
        s["languages"],
        json!({"tsx": {"files": 1, "lines": 13, "bytes": 393}, "typescript": {"files": 13, "lines": 133, "bytes": 3110}})
    );
    assert_eq!(s["other_text"], json!({"json": 4}));
    assert_eq!(s["skipped"], json!({}));
    assert_eq!(s["files_with_parse_errors"], json!(0));
    assert_eq!(s["symbols"], json!(38));
    assert_eq!(s["imports"], json!(21));
    assert_eq!(s["edges"], json!(16));
    assert_eq!(s["externals"], json!(5));
}

#[test]
fn paths_inherited_through_extends_are_relative_to_their_config() {
    let t = Test::new();
    // No baseUrl anywhere: `paths` are relative to the config that declares them.
    t.write(
        "configs/tsconfig.base.json",
        r#"{"compilerOptions": {"paths": {"@lib/*": ["../lib/*"]}}}"#,
    );
    t.write(
        "tsconfig.json",
        r#"{"extends": "./configs/tsconfig.base.json"}"#,
    );
    t.write("lib/a.ts", "export const a = 1;\n");
    t.write(
        "src/main.ts",
        "import { a } from \"@lib/a\";\nconsole.log(a);\n",
    );
    let map = t.run(&["map", "--json"]).json();
    assert_eq!(
        file(&map, "src/main.ts")["imports"],
        json!([
            {"line": 1, "raw": "import { a } from \"@lib/a\";", "module": "@lib/a",
             "resolved": ["lib/a.ts"]},
        ])
    );
}

#[test]
fn extends_follows_chains_arrays_and_packages() {
    let t = Test::new();
    // tsconfig.json extends [a package's config, a local chain]; the package sets `@pkg/*`,
    // the local chain (base → paths.json) sets `@lib/*` two levels down, and a later entry of the
    // array overrides an earlier one (`@shared/*`). A cycle back to tsconfig.json is harmless.
    t.write(
        "node_modules/@acme/tsconfig/tsconfig.json",
        r#"{"compilerOptions": {"baseUrl": "../../..", "paths": {"@shared/*": ["wrong/*"]}}}"#,
    );
    t.write(
        "configs/base.json",
        r#"{"extends": "./paths", "compilerOptions": {"strict": true}}"#,
    );
    t.write(
        "configs/paths.json",
        r#"{"extends": "../tsconfig.json",
            "compilerOptions": {"paths": {"@lib/*": ["lib/*"], "@shared/*": ["shared/*"]}}}"#,
    );
    t.write(
        "tsconfig.json",
        r#"{"extends": ["@acme/tsconfig", "./configs/base.json"]}"#,
    );
    t.write("lib/a.ts", "export const a = 1;\n");
    t.write("shared/s.ts", "export const s = 2;\n");
    t.write(
        "src/main.ts",
        "import { a } from \"@lib/a\";\nimport { s } from \"@shared/s\";\nconsole.log(a, s);\n",
    );
    let map = t.run(&["map", "--json"]).json();
    // `paths` (replaced whole by the later entry) are relative to the package's `baseUrl`, which
    // is relative to the package's config: the repository root.
    assert_eq!(
        file(&map, "src/main.ts")["imports"],
        json!([
            {"line": 1, "raw": "import { a } from \"@lib/a\";", "module": "@lib/a",
             "resolved": ["lib/a.ts"]},
            {"line": 2, "raw": "import { s } from \"@shared/s\";", "module": "@shared/s",
             "resolved": ["shared/s.ts"]},
        ])
    );
}

#[test]
fn workspace_packages_resolve_to_their_sources() {
    let t = Test::new();
    t.write(
        "package.json",
        r#"{"name": "acme", "private": true, "workspaces": ["packages/*"]}"#,
    );
    // `exports` with conditions and a subpath pattern; the built `dist` is not in the tree.
    t.write(
        "packages/utils/package.json",
        r#"{"name": "@acme/utils", "main": "dist/index.js",
            "exports": {".": {"types": "./dist/index.d.ts", "import": "./dist/index.js"},
                        "./fmt/*": "./src/fmt/*.ts"}}"#,
    );
    t.write("packages/utils/src/index.ts", "export const u = 1;\n");
    t.write("packages/utils/src/fmt/date.ts", "export const d = 2;\n");
    // No `exports`: `main` pointing into `lib/` stands for `src/`; a deep import by path.
    t.write(
        "packages/core/package.json",
        r#"{"name": "core-lib", "main": "lib/main.js"}"#,
    );
    t.write("packages/core/src/main.ts", "export const c = 3;\n");
    t.write("packages/core/src/deep/x.ts", "export const x = 4;\n");
    t.write(
        "apps/web/src/app.ts",
        "import { u } from \"@acme/utils\";\n\
         import { d } from \"@acme/utils/fmt/date\";\n\
         import { c } from \"core-lib\";\n\
         import { x } from \"core-lib/deep/x\";\n\
         import React from \"react\";\n\
         console.log(u, d, c, x, React);\n",
    );
    let map = t.run(&["map", "--json"]).json();
    let resolved: Vec<serde_json::Value> = file(&map, "apps/web/src/app.ts")["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| json!([i["module"], i["resolved"]]))
        .collect();
    assert_eq!(
        resolved,
        vec![
            json!(["@acme/utils", ["packages/utils/src/index.ts"]]),
            json!(["@acme/utils/fmt/date", ["packages/utils/src/fmt/date.ts"]]),
            json!(["core-lib", ["packages/core/src/main.ts"]]),
            json!(["core-lib/deep/x", ["packages/core/src/deep/x.ts"]]),
            json!(["react", []]),
        ]
    );
    let externals: Vec<&serde_json::Value> = map["externals"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["name"])
        .collect();
    assert_eq!(externals, vec![&json!("react")]);
}

#[test]
fn newer_syntax_the_grammar_lacks_parses_with_its_symbols_and_imports() {
    // TypeScript 4.7–5.0 syntax that tree-sitter-typescript 0.23 does not parse: `export type *`,
    // type arguments of an import type, variance annotations. vibe masks it before parsing.
    let t = Test::new();
    t.write("src/types.ts", "export interface Point { x: number }\n");
    t.write(
        "src/index.ts",
        "export type * from \"./types\";\n\
         export type * as shapes from \"./types\";\n\
         type Boxed = import(\"./types\").Box<Map<string, number>>;\n\
         interface Producer<out T> { make(): T }\n\
         interface Channel<in out T, U extends string = \"x\"> { send(t: T): U }\n\
         export function area(p: Boxed): number {\n    return 0;\n}\n",
    );
    let map = t.run(&["map", "--json"]).json();
    let index = file(&map, "src/index.ts");
    assert_eq!(index["parse_errors"], false, "{index:#}");
    let names: Vec<&str> = index["symbols"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["Boxed", "Producer", "make", "Channel", "send", "area"]
    );
    // Signatures are the file's own text, modifiers and all.
    assert_eq!(
        index["symbols"][3]["signature"],
        "interface Channel<in out T, U extends string = \"x\">"
    );
    assert_eq!(edges(&map), ["src/index.ts -> src/types.ts"]);
    // And `vibe heal --check` passes its syntax stage.
    let run = t.run(&[
        "heal",
        "src/index.ts",
        "--check",
        "--json",
        "-c",
        "heal.stages=[\"syntax\"]",
    ]);
    let report = run.json();
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["stages"][0]["stage"], "syntax", "{report:#}");
}
