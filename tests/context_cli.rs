//! `vibe context` and `vibe tokens` on the command line: ranking, exact budgets, blocks, JSON,
//! and bad input.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use serde_json::Value;
use vibe::context::tokens::Encoding;

use util::{Test, git, git_with_env, made_by_schema};

fn paths(j: &Value) -> Vec<String> {
    j["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["path"].as_str().unwrap_or("").to_string())
        .collect()
}

fn file<'a>(j: &'a Value, path: &str) -> &'a Value {
    j["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not ranked in {j}"))
}

/// The budget holds exactly: the JSON's `used_tokens` is the count of the context text.
fn assert_exact(j: &Value, encoding: Encoding) {
    let context = j["context"].as_str().unwrap_or_default();
    let used = j["used_tokens"].as_u64().unwrap_or(u64::MAX) as usize;
    assert_eq!(encoding.count(context), used, "{context}");
    assert!(used <= j["budget"].as_u64().unwrap_or(0) as usize);
}

/// `head`, then `n` helpers as `helper` writes the i-th, then `tail`: a file large enough that
/// only part of it fits.
fn padded(head: &str, n: usize, helper: impl Fn(usize) -> String, tail: &str) -> String {
    let mut s = String::from(head);
    s.extend((0..n).map(helper));
    s.push_str(tail);
    s
}

/// The i-th of a Python module's helpers, which no task here names.
fn py_helper(i: usize) -> String {
    format!(
        "def helper_{i:02}(value):\n    \"\"\"Helper {i}.\"\"\"\n    total = value\n    for step in range({i}):\n        total += step * {i}\n    return total\n\n\n"
    )
}

/// A module big enough that only its matching definition fits in full.
fn big_module(helpers: usize) -> String {
    padded(
        "\"\"\"Many helpers.\"\"\"\n\n",
        helpers,
        py_helper,
        "def checksum_frame(frame):\n    \"\"\"CRC of a frame.\"\"\"\n    crc = 0\n    for b in frame:\n        crc = (crc << 1) ^ b\n    return crc & 0xFFFF\n",
    )
}

#[test]
fn ranks_matching_files_first_and_packs_exactly() {
    let t = Test::fixture("python");
    let j = t
        .run(&[
            "context",
            "Engine.run should cap the items at MAX_ITEMS",
            "--json",
        ])
        .json();
    assert_eq!(j["schema"], "vibe.context/1");
    assert_eq!(j["encoding"], "o200k_base");
    assert_eq!(j["budget"], 8000);
    let p = paths(&j);
    assert_eq!(
        p.first().map(String::as_str),
        Some("src/mypkg/core.py"),
        "{p:?}"
    );
    let core = file(&j, "src/mypkg/core.py");
    assert_eq!(core["rank"], 1);
    assert_eq!(core["included"], "full");
    assert!(core["tokens"].as_u64().unwrap_or(0) > 0);
    let reasons = core["reasons"].to_string();
    assert!(reasons.contains("matches"), "{reasons}");
    // Every ranked file says how it was included and why.
    for f in j["files"].as_array().into_iter().flatten() {
        assert!(
            ["full", "partial", "skeleton", "map", "none"]
                .contains(&f["included"].as_str().unwrap_or("")),
            "{f}"
        );
        assert!(
            !f["reasons"].as_array().map(Vec::is_empty).unwrap_or(true),
            "{f}"
        );
    }
    let context = j["context"].as_str().unwrap_or_default();
    assert!(
        context.starts_with("src/mypkg/core.py\n```python\n\"\"\"The engine"),
        "{context}"
    );
    assert_exact(&j, Encoding::O200kBase);
    // The same task gives the same bytes.
    let again = t
        .run(&[
            "context",
            "Engine.run should cap the items at MAX_ITEMS",
            "--json",
        ])
        .json();
    assert_eq!(j, again);
}

#[test]
fn text_output_snapshot_and_explain() {
    let t = Test::fixture("python");
    let run = t.run(&[
        "context",
        "--budget",
        "400",
        "--explain",
        "make_engine default name",
    ]);
    let text = run.ok();
    snapshot!("python_context_400", text);
    let why = run.stderr();
    assert!(why.contains("1. src/mypkg/core.py"), "{why}");
    assert!(why.contains("matches"), "{why}");
    assert!(Encoding::O200kBase.count(&text) <= 400);
}

#[test]
fn every_budget_holds_exactly() {
    let t = Test::fixture("python");
    t.write("src/mypkg/frames.py", big_module(60));
    for budget in ["30", "60", "150", "400", "1000", "3000"] {
        for enc in ["o200k_base", "cl100k_base"] {
            let j = t
                .run(&[
                    "context",
                    "checksum_frame returns a wrong CRC for the Engine frames",
                    "--budget",
                    budget,
                    "--encoding",
                    enc,
                    "--json",
                ])
                .json();
            assert_eq!(j["encoding"], enc);
            let e = Encoding::from_name(enc).unwrap_or(Encoding::O200kBase);
            assert_exact(&j, e);
        }
    }
}

/// The context of "checksum_frame returns a wrong CRC" at budget 1200 with frames.py of
/// `helpers` other definitions, where frames.py ranks first and comes partial.
fn checksum_context(helpers: usize) -> String {
    let t = Test::fixture("python");
    t.write("src/mypkg/frames.py", big_module(helpers));
    let j = t
        .run(&[
            "context",
            "checksum_frame returns a wrong CRC",
            "--budget",
            "1200",
            "--json",
        ])
        .json();
    let frames = file(&j, "src/mypkg/frames.py");
    assert_eq!(frames["rank"], 1, "{j}");
    assert_eq!(frames["included"], "partial", "{j}");
    assert_exact(&j, Encoding::O200kBase);
    let context = j["context"].as_str().unwrap_or_default().to_string();
    assert!(context.contains("    return crc & 0xFFFF\n"), "{context}");
    context
}

#[test]
fn a_large_file_comes_as_its_matching_definition() {
    let context = checksum_context(60);
    assert!(
        context.starts_with("src/mypkg/frames.py (lines 483-488 of 488 in full, other definitions as signatures)\n```python\n"),
        "{context}"
    );
    assert!(context.contains("def helper_07(value):\n⋮\n"), "{context}");
    assert!(!context.contains("total += step * 7"), "{context}");
}

/// Each file a stack trace names gets the definition around its line: the first of them,
/// matching many of the task's words, does not take the whole budget (helper 97: jsoup's
/// TokeniserState.java took 3,944 of 4,000 tokens and the frame that threw came as a map line).
#[test]
fn every_frame_of_a_stack_trace_gets_its_definition() {
    let t = Test::new();
    let handlers: String = (0..60)
        .map(|k| {
            let body: String = (0..12)
                .map(|j| format!("    item = parse_item(item, {j})  # handle item {k}\n"))
                .collect();
            format!("def handle_item_{k}(item):\n{body}    return item\n\n")
        })
        .collect();
    t.write(
        "app/handlers.py",
        format!("from app.parse import parse_item\n\n{handlers}"),
    );
    let body: String = (0..10)
        .map(|j| format!("    step_{j} = compute({j})\n"))
        .collect();
    let filler = |name: &str| -> String {
        (0..20)
            .map(|k| format!("def {name}_{k}(x):\n{body}    return x\n\n"))
            .collect()
    };
    let head = "def compute(j):\n    return j\n\n";
    t.write(
        "app/parse.py",
        format!(
            "{head}{}def parse_item(item, k):\n    if not item:\n        raise ValueError('bad item')\n    return item\n",
            filler("other")
        ),
    );
    t.write(
        "app/main.py",
        format!(
            "{head}{}def run(items):\n    from app.handlers import handle_item_7\n    for i in items:\n        handle_item_7(i)\n",
            filler("unrelated")
        ),
    );
    let task = "Traceback (most recent call last):\n  File \"app/main.py\", line 267, in run\n  \
                File \"app/handlers.py\", line 112, in handle_item_7\n  \
                File \"app/parse.py\", line 266, in parse_item\nValueError: bad item handle";
    let v = t
        .run(&["context", task, "--budget", "1100", "--json"])
        .json();
    for path in ["app/main.py", "app/handlers.py", "app/parse.py"] {
        assert_eq!(file(&v, path)["included"], "partial", "{path}: {v}");
    }
    let context = v["context"].as_str().unwrap_or_default();
    assert!(
        context.contains("def run(items):\n    from app.handlers import handle_item_7\n")
            && context.contains("def handle_item_7(item):\n")
            && context.contains("        raise ValueError('bad item')\n"),
        "{context}"
    );
    assert!(v.get("warnings").is_none(), "{v}");
    assert_exact(&v, Encoding::O200kBase);
    // Many frames, more than the budget can hold for, in files whose every definition matches
    // the trace's words: each frame in rank order gets its function, the first one included
    // (review of helper 99: the first named file came as its signatures, or took the room of
    // those below it with every matching definition).
    let t = Test::new();
    let mut task = String::from("Traceback (most recent call last):\n");
    for i in 0..5 {
        let module: String = (0..10)
            .map(|k| {
                let body: String = (0..14)
                    .map(|j| {
                        format!(
                            "    step_{j} = request.get('field_{j}_{k}', {j})  # read field {j}\n"
                        )
                    })
                    .collect();
                format!("def handler_{i}_{k}(request):\n{body}    return step_0\n\n")
            })
            .collect();
        t.write(&format!("app/mod{i}.py"), format!("import os\n\n{module}"));
        task.push_str(&format!(
            "  File \"/srv/proj/app/mod{i}.py\", line 90, in handler_{i}_5\n    step = request.get(x)\n"
        ));
    }
    task.push_str("KeyError: 'field'");
    let v = t
        .run(&["context", &task, "--budget", "1800", "--json"])
        .json();
    let context = v["context"].as_str().unwrap_or_default();
    for i in 0..4 {
        assert_eq!(
            file(&v, &format!("app/mod{i}.py"))["included"],
            "partial",
            "{v}"
        );
        assert!(
            context.contains(&format!(
                "def handler_{i}_5(request):\n    step_0 = request.get('field_0_5', 0)"
            )),
            "{i}: {context}"
        );
    }
    assert_exact(&v, Encoding::O200kBase);
}

/// A named line that no definition holds (a test framework's `test("…", () => {…})` call at
/// the top of a file) comes with the lines around it (helper 97: a Vitest failure's
/// `string.test.ts:412:35` gave the file's signatures, nothing near line 412).
#[test]
fn a_named_line_outside_every_definition_comes_with_its_lines() {
    let t = Test::new();
    let cases: String = (0..40)
        .map(|k| {
            let body: String = (0..8)
                .map(|j| format!("  expect(parse(\"v{k}_{j}\")).toBe({j});\n"))
                .collect();
            format!("test(\"case {k}\", () => {{\n{body}}});\n\n")
        })
        .collect();
    let src = format!(
        "import {{ parse }} from \"./parse\";\n\nfunction makeInput(k: number) {{\n  return String(k);\n}}\n\n{cases}"
    );
    t.write("tests/parse.test.ts", &src);
    t.write(
        "parse.ts",
        "export function parse(s: string): number {\n  return s.length;\n}\n",
    );
    // Line 7 + 11 * 20 + 4: inside `case 20`.
    let line = src
        .lines()
        .position(|l| l.contains("\"v20_3\""))
        .map(|i| i + 1)
        .unwrap_or_default();
    let task = format!(
        "FAIL tests/parse.test.ts > case 20\nAssertionError: expected 2 to be 3\n ❯ tests/parse.test.ts:{line}:35"
    );
    let v = t
        .run(&["context", &task, "--budget", "600", "--json"])
        .json();
    assert_eq!(
        file(&v, "tests/parse.test.ts")["included"],
        "partial",
        "{v}"
    );
    let context = v["context"].as_str().unwrap_or_default();
    let (a, b) = (line - 10, line + 10);
    assert!(
        context.contains(&format!("tests/parse.test.ts (lines {a}-{b} of ")),
        "{context}"
    );
    assert!(
        context.contains("test(\"case 20\", () => {\n  expect(parse(\"v20_0\")).toBe(0);")
            && context.contains("  expect(parse(\"v20_7\")).toBe(7);\n});"),
        "{context}"
    );
    assert_exact(&v, Encoding::O200kBase);
    // With a definition kept too, the header says where the lines around the named one are
    // (review of helper 99: it listed the definition's lines alone).
    let task = format!("{task}\nmakeInput returns the wrong string");
    let v = t
        .run(&["context", &task, "--budget", "600", "--json"])
        .json();
    let context = v["context"].as_str().unwrap_or_default();
    assert!(
        context.contains(&format!(
            "tests/parse.test.ts (lines 3-5 of {} in full, {a}-{b} around lines the task names, \
             the rest elided)",
            src.lines().count()
        )),
        "{context}"
    );
    // A line the file does not have is no line to show (review of helper 99: an empty block).
    let v = t
        .run(&[
            "context",
            "tests/parse.test.ts:5000 case 20 fails",
            "--budget",
            "600",
            "--json",
        ])
        .json();
    let context = v["context"].as_str().unwrap_or_default();
    assert!(!context.contains("(lines  of"), "{context}");
    assert_ne!(file(&v, "tests/parse.test.ts")["included"], "none", "{v}");
    assert_exact(&v, Encoding::O200kBase);
}

/// A line named with the file (`frames.py:61`, a traceback's `File "…/frames.py", line 61`)
/// brings the definition around it in full, though it shares no word with the task.
#[test]
fn a_named_line_brings_its_definition() {
    let t = Test::fixture("python");
    t.write("src/mypkg/frames.py", big_module(60));
    for task in [
        "crash at src/mypkg/frames.py:61:9 on empty input",
        "Traceback (most recent call last):\n  File \"/home/me/work/proj/src/mypkg/frames.py\", line 61, in <module>\nTypeError: bad operand",
    ] {
        let j = t
            .run(&["context", task, "--budget", "1200", "--json"])
            .json();
        let frames = &j["files"][0];
        assert_eq!(frames["path"], "src/mypkg/frames.py", "{task}: {j}");
        assert_eq!(frames["included"], "partial", "{task}: {j}");
        let reasons = frames["reasons"].to_string();
        assert!(reasons.contains(", line 61)"), "{task}: {reasons}");
        assert!(
            !reasons.contains("not an indexed file"),
            "{task}: {reasons}"
        );
        let context = j["context"].as_str().unwrap_or_default();
        // helper_07 spans lines 59-64.
        assert!(
            context.starts_with("src/mypkg/frames.py (lines 59-64"),
            "{task}: {context}"
        );
        assert!(
            context.contains("        total += step * 7\n"),
            "{task}: {context}"
        );
        assert_exact(&j, Encoding::O200kBase);
        assert!(j.get("warnings").is_none(), "{task}: {j}");
    }
    // A line the file does not have: the task was written against another version of it.
    let lines = big_module(60).lines().count();
    for (at, line) in [(":99999", 99999), (":0", 0)] {
        let j = t
            .run(&[
                "context",
                &format!("crash at src/mypkg/frames.py{at}"),
                "--json",
            ])
            .json();
        assert_eq!(j["files"][0]["path"], "src/mypkg/frames.py", "{j}");
        let warning = format!(
            "the task names line {line} of src/mypkg/frames.py, which has {lines} lines (was it \
             written against another version of the file?)"
        );
        assert_eq!(j["warnings"], serde_json::json!([warning]), "{j}");
        // The reason does not name the line as if the file had it.
        let reasons = j["files"][0]["reasons"].to_string();
        assert!(
            reasons.contains("named in the task (src/mypkg/frames.py)"),
            "{reasons}"
        );
    }
    // Many such lines: one warning for the file.
    let log: String = (1000..1300)
        .map(|l| format!("src/mypkg/frames.py:{l}: error\n"))
        .collect();
    let j = t.run(&["context", &log, "--json"]).json();
    assert_eq!(
        j["warnings"],
        serde_json::json!([format!(
            "the task names lines 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, … (300 lines) \
             of src/mypkg/frames.py, which has {lines} lines (was it written against another \
             version of the file?)"
        )]),
        "{j}"
    );
    // A log that names many lines: the reason lists the first few, and how many.
    let log: String = (1..=20)
        .map(|l| format!("src/mypkg/frames.py:{l}: warning\n"))
        .collect();
    let j = t.run(&["context", &log, "--json"]).json();
    let reasons = j["files"][0]["reasons"].to_string();
    assert!(
        reasons.contains("(src/mypkg/frames.py, lines 1, 2, 3, 4, 5, 6, 7, 8, … (20 lines))"),
        "{reasons}"
    );
}

/// A file with so many definitions that their signatures alone overflow the budget still comes
/// as its matching definition, with the rest elided (not as one map line).
#[test]
fn a_file_of_many_definitions_comes_as_its_matching_definition_alone() {
    let context = checksum_context(600);
    assert!(
        context.starts_with("src/mypkg/frames.py (lines 4803-4808 of 4808 in full, the rest elided)\n```python\n⋮\ndef checksum_frame(frame):\n"),
        "{context}"
    );
    assert!(!context.contains("def helper_07(value):"), "{context}");
}

/// The best file's test comes up to 5th in a language vibe does not parse too (a Ruby file's
/// spec), and only a test of the file's own kind: a C file's Tcl test stays where it ranks.
#[test]
fn the_spec_of_the_best_ruby_file_comes_up() {
    let t = Test::new();
    t.write(
        "lib/billing.rb",
        "class Billing\n  def refund_invoice(invoice)\n    invoice.refund!\n    notify_customer(invoice.customer)\n  end\nend\n",
    )
    .write(
        "spec/billing_spec.rb",
        "describe Billing do\n  it 'refunds the money' do\n    expect(subject).to be_ok\n  end\nend\n",
    )
    .write("src/cluster.c", "int cluster_reset(int slot) { return slot; }\n")
    .write("tests/cluster.tcl", "test \"reset\" { reset }\n");
    for k in 1..=6 {
        t.write(
            &format!("src/slots{k}.c"),
            format!("/* cluster slot {k} */\nint slots{k}_cluster_reset(int slot) {{ return slot + {k}; }}\n"),
        );
        t.write(
            &format!("lib/ledger{k}.rb"),
            format!("class Ledger{k}\n  def post(invoice, customer)\n    invoice.total + customer.credit\n  end\nend\n"),
        );
    }
    let j = t
        .run(&["context", "refund the invoice to the customer", "--json"])
        .json();
    let p = paths(&j);
    assert_eq!(p[0], "lib/billing.rb", "{p:?}");
    assert_eq!(
        p.get(4).map(String::as_str),
        Some("spec/billing_spec.rb"),
        "{p:?}"
    );
    let spec = file(&j, "spec/billing_spec.rb")["reasons"].to_string();
    assert!(
        spec.contains("the test named after lib/billing.rb"),
        "{spec}"
    );

    let j = t
        .run(&["context", "cluster_reset returns the slot", "--json"])
        .json();
    let p = paths(&j);
    assert_eq!(p[0], "src/cluster.c", "{p:?}");
    let at = p.iter().position(|x| x == "tests/cluster.tcl");
    assert!(at.is_some_and(|at| at > 4), "{p:?}");
}

/// A file none of whose definitions the task names comes as the definition where the task's
/// words meet in its body (the best passage's lines), not as bare signatures.
#[test]
fn a_definition_whose_body_matches_the_task_comes_in_full() {
    let t = Test::new();
    let text = padded(
        "\"\"\"Helpers.\"\"\"\n\n",
        80,
        py_helper,
        "def verify(frame, expected):\n    crc = 0\n    for b in frame:\n        crc = (crc << 1) ^ b\n    if crc != expected:\n        raise ValueError(\"frame checksum mismatch\")\n    return crc\n",
    );
    t.write("frames.py", &text);
    for (budget, header) in [
        (
            "1500",
            "frames.py (lines 643-649 of 649 in full, other definitions as signatures)\n",
        ),
        (
            "500",
            "frames.py (lines 643-649 of 649 in full, the rest elided)\n",
        ),
    ] {
        let j = t
            .run(&[
                "context",
                "frame checksum mismatch error",
                "--budget",
                budget,
                "--json",
            ])
            .json();
        let context = j["context"].as_str().unwrap_or_default();
        assert!(context.starts_with(header), "{budget}: {context}");
        assert!(
            context.contains("        raise ValueError(\"frame checksum mismatch\")\n"),
            "{context}"
        );
        assert_exact(&j, Encoding::O200kBase);
    }
}

/// When not every matching definition fits, those matching the fewest task words go first:
/// for "fix calc_charlie" every `calc_*` matches `calc`, and `calc_charlie` is the one kept.
#[test]
fn the_definition_matching_the_most_task_words_is_kept_last() {
    let t = Test::new();
    let body: String = (0..20).map(|k| format!("    v += {k}\n")).collect();
    let text: String = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ]
    .iter()
    .map(|w| format!("def calc_{w}(v):\n{body}    return v\n\n"))
    .collect();
    t.write("calc.py", &text);
    for budget in ["400", "800"] {
        let v = t
            .run(&["context", "fix calc_charlie", "--budget", budget, "--json"])
            .json();
        let context = v["context"].as_str().expect("context");
        let header = context.lines().next().unwrap_or_default();
        assert!(
            header.starts_with("calc.py (lines 47-68") && header.contains("in full"),
            "{budget}: {context}"
        );
        assert!(context.contains("    v += 19\n    return v\n"), "{context}");
    }
}

/// A class named with one of its methods, too large to show whole: the method comes in full
/// under the class's first line (helper 93 found the class kept and the method dropped, which
/// saved nothing, and then only signatures), as when the class is not named.
/// A file with classic Mac OS line endings (a carriage return alone ends each line) is as many
/// lines as it shows (helper 93: it was one line to the parser, which found its first
/// definition alone, and to the packer), also in an index made before that was so.
#[test]
fn lines_ended_by_a_carriage_return_alone_are_lines() {
    let t = Test::new();
    let body: String = (0..30).map(|k| format!("    x{k} = step({k})\r")).collect();
    let src: String = ["alpha", "beta", "gamma", "delta"]
        .iter()
        .map(|n| format!("def func_{n}(a):\r{body}    return a\r\r"))
        .collect();
    t.write("mac.py", &src);
    t.write("util.py", "def step(k):\n    return k\n");
    let names = |t: &Test| -> Vec<(String, u64)> {
        let v = t.run(&["map", "--json"]).json();
        let f = v["files"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["path"] == "mac.py"))
            .cloned()
            .unwrap_or_default();
        f["symbols"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| {
                        let name = s["name"].as_str().unwrap_or_default().to_string();
                        (name, s["line"].as_u64().unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let want: Vec<(String, u64)> = [
        ("func_alpha", 1),
        ("func_beta", 34),
        ("func_gamma", 67),
        ("func_delta", 100),
    ]
    .iter()
    .map(|(n, l)| (n.to_string(), *l))
    .collect();
    assert_eq!(names(&t), want);
    let v = t
        .run(&[
            "context",
            "func_gamma returns the wrong value",
            "--budget",
            "600",
            "--json",
        ])
        .json();
    assert_eq!(file(&v, "mac.py")["included"], "partial", "{v}");
    let context = v["context"].as_str().unwrap_or_default();
    assert!(
        context.contains("def func_gamma(a):\n    x0 = step(0)\n")
            && context.contains("    x29 = step(29)\n    return a\n")
            && !context.contains("x0 = step(0)\r"),
        "{context}"
    );
    // An index made before: mac.py one line with its first definition alone.
    made_by_schema(
        &t,
        19,
        "DELETE FROM symbols WHERE file_id = (SELECT id FROM files WHERE path = 'mac.py') \
           AND name <> 'func_alpha'; \
         UPDATE files SET lines = 1 WHERE path = 'mac.py'",
    );
    // The migration reads it again: every definition is back.
    assert_eq!(names(&t), want);
}

#[test]
fn a_method_named_with_its_class_comes_in_full() {
    let t = Test::new();
    let body: String = (0..40)
        .map(|k| format!("        value_{k} = compute_step({k}, item)\n"))
        .collect();
    let methods: String = ["acquire", "release", "close", "resize", "drain", "stats"]
        .iter()
        .map(|m| format!("    def {m}(self, item=None):\n{body}        return item\n\n"))
        .collect();
    t.write(
        "pool.py",
        format!(
            "class HttpConnectionPool:\n    \"\"\"Sockets, pooled.\"\"\"\n    MAX_SOCKETS_PER_HOST = 10\n\n{methods}"
        ),
    );
    t.write("util.py", "def compute_step(k, item):\n    return k\n");
    for task in [
        "HttpConnectionPool close leaks sockets",
        "close leaks sockets in the pool",
    ] {
        let v = t
            .run(&["context", task, "--budget", "1500", "--json"])
            .json();
        assert_eq!(file(&v, "pool.py")["included"], "partial", "{task}: {v}");
        let context = v["context"].as_str().unwrap_or_default();
        assert!(
            context.contains("class HttpConnectionPool:")
                && context.contains("    def close(self, item=None):\n        value_0")
                && context
                    .contains("        value_39 = compute_step(39, item)\n        return item"),
            "{task}: {context}"
        );
    }
    // A line the task names in the class's own body: the lines around it too (review of
    // helper 95: the class line and close() came, the named line did not).
    let v = t
        .run(&[
            "context",
            "pool.py:3 close leaks sockets",
            "--budget",
            "1500",
            "--json",
        ])
        .json();
    let context = v["context"].as_str().unwrap_or_default();
    assert!(
        context.contains("    MAX_SOCKETS_PER_HOST = 10\n")
            && context.contains("    def close(self, item=None):\n        value_0"),
        "{context}"
    );
}

/// A definition shown in full or as a signature comes with the decorators and attributes that
/// say what it is (the parsers leave Python's and Rust's outside it), and a signature is the
/// line that names the definition: past a C return type on a line of its own, past annotations
/// over several lines or naming it themselves (helper 93).
#[test]
fn definitions_come_with_their_decorators_and_the_line_that_names_them() {
    let t = Test::new();
    let filler = |n: usize| -> String {
        (0..n)
            .map(|k| format!("    step_{k} = check_value({k}, request)\n"))
            .collect()
    };
    let mut views = String::from("from app import app, login_required\n\n");
    for name in ["login_view", "logout_view", "profile_view", "settings_view"] {
        views.push_str(&format!(
            "@app.route(\n    \"/{name}\",\n    methods=[\"POST\"],\n)\n@login_required\ndef {name}(request):\n{}    return step_0\n\n",
            filler(30)
        ));
    }
    t.write("views.py", &views);
    let mut crc = String::new();
    for name in ["crc_init", "crc_update", "crc_final", "crc_combine"] {
        crc.push_str(&format!(
            "static unsigned int\n{name} (const unsigned char *buf, size_t len)\n{{\n{}  return 0;\n}}\n\n",
            (0..30).map(|k| format!("  len += {k};\n")).collect::<String>()
        ));
    }
    t.write("crc.c", &crc);
    t.write(
        "Widget.java",
        format!(
            "class Widget {{\n    @JsonProperty(\"size\")\n    public int size() {{\n{}        return 1;\n    }}\n\n    public int other() {{\n{}        return 2;\n    }}\n}}\n",
            (0..40).map(|k| format!("        int v{k} = {k};\n")).collect::<String>(),
            (0..40).map(|k| format!("        int w{k} = {k};\n")).collect::<String>()
        ),
    );
    t.write(
        "widget.rs",
        format!(
            "#[derive(Debug, Clone)]\npub struct Widget {{\n    size: usize,\n}}\n\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn widget_size() {{\n{}    }}\n}}\n",
            (0..40).map(|k| format!("        let v{k} = {k};\n")).collect::<String>()
        ),
    );
    let context = |task: &str, budget: &str| -> String {
        let v = t
            .run(&["context", task, "--budget", budget, "--json"])
            .json();
        v["context"].as_str().unwrap_or_default().to_string()
    };
    // In full with its decorators, the others as their decorators and names.
    let c = context("views.py logout_view returns 500", "900");
    assert!(
        c.contains("@app.route(\n    \"/logout_view\",\n    methods=[\"POST\"],\n)\n@login_required\ndef logout_view(request):\n    step_0"),
        "{c}"
    );
    assert!(
        c.contains("@login_required\ndef login_view(request):\n⋮"),
        "{c}"
    );
    // Signatures of C functions whose return type has a line of its own.
    let c = context("crc.c checksum mismatch", "300");
    assert!(
        c.contains("static unsigned int\ncrc_combine (const unsigned char *buf, size_t len)\n"),
        "{c}"
    );
    // An annotation naming the method is not its signature.
    let c = context("Widget.java other", "300");
    assert!(
        c.contains("    @JsonProperty(\"size\")\n    public int size() {\n"),
        "{c}"
    );
    // Rust attributes, on a definition shown in full.
    let c = context("widget.rs widget_size test", "400");
    assert!(
        c.contains("#[derive(Debug, Clone)]\npub struct Widget {")
            && c.contains("    #[test]\n    fn widget_size() {\n        let v0"),
        "{c}"
    );
}

/// Nor do they choose the definitions of a named file shown in full: "py/widget.py fetch" is
/// about `fetch`, not `widget_py_factory` (helper 93), unless they are all the task matches.
#[test]
fn a_named_files_own_name_does_not_choose_its_definitions() {
    let t = Test::new();
    let body: String = (0..40).map(|k| format!("    v{k} = {k}\n")).collect();
    t.write(
        "py/widget.py",
        format!(
            "def widget_py_factory(a):\n{body}    return a\n\n\ndef fetch(url):\n{body}    return url\n\n\ndef other(x):\n{body}    return x\n"
        ),
    );
    let shown = |task: &str| -> String {
        let v = t
            .run(&["context", task, "--budget", "500", "--json"])
            .json();
        assert_eq!(
            file(&v, "py/widget.py")["included"],
            "partial",
            "{task}: {v}"
        );
        v["context"].as_str().unwrap_or_default().to_string()
    };
    let c = shown("py/widget.py fetch");
    assert!(c.contains("def fetch(url):\n    v0 = 0"), "{c}");
    assert!(!c.contains("def widget_py_factory(a):\n    v0"), "{c}");
    let c = shown("py/widget.py");
    assert!(c.contains("def widget_py_factory(a):\n    v0 = 0"), "{c}");
}

/// The words of a file's own path do not choose its window: "frob" is all through
/// docs/frob.md, the timeout once, further on.
#[test]
fn a_named_files_own_name_does_not_choose_its_window() {
    let t = Test::new();
    let mut doc = String::new();
    for i in 0..40 {
        doc.push_str(&format!(
            "The frob tool, frob line {i}: frob frobs the frob.\n"
        ));
    }
    for i in 0..100 {
        doc.push_str(&format!("Filler line {i} about nothing in particular.\n"));
    }
    doc.push_str("Set the timeout with --wait; the timeout is in seconds.\n");
    for i in 0..60 {
        doc.push_str(&format!("More filler {i}.\n"));
    }
    t.write("docs/frob.md", &doc);
    t.write("src/frob.py", "def frob():\n    return 1\n");
    let v = t
        .run(&[
            "context",
            "docs/frob.md: explain the timeout",
            "--budget",
            "900",
            "--json",
        ])
        .json();
    assert_eq!(file(&v, "docs/frob.md")["included"], "partial", "{v}");
    let context = v["context"].as_str().unwrap_or_default();
    assert!(context.contains("Set the timeout with --wait"), "{context}");
}

/// Source in a language the map does not parse (Ruby here) is ranked by its words as source
/// code, not discounted as text; a file without definitions too large to fit comes as the
/// passage that matches the task, and the lines around one the task names.
#[test]
fn code_vibe_does_not_parse_is_ranked_and_shown_in_part() {
    let t = Test::new();
    let billing = padded(
        "class Billing\n",
        120,
        |i| format!("  def helper_{i}(x)\n    y = x * {i}\n    y + 1\n  end\n\n"),
        "  def refund_invoice(invoice)\n    invoice.refund!\n    notify_customer(invoice)\n  end\nend\n",
    );
    t.write("lib/billing.rb", &billing)
        .write(
            "lib/user_mailer.rb",
            "class UserMailer\n  def welcome(user)\n    mail(to: user.email)\n  end\nend\n",
        )
        .write(
            "docs/mail.md",
            "# Mail\n\nThe user mailer sends a welcome mail to the user's email.\n",
        )
        .write("main.py", "print('hello')\n");

    let j = t
        .run(&[
            "context",
            "welcome mail not sent to the user email",
            "--json",
        ])
        .json();
    assert_eq!(
        paths(&j)[..2],
        ["lib/user_mailer.rb", "docs/mail.md"],
        "{j}"
    );
    let mailer = file(&j, "lib/user_mailer.rb");
    assert_eq!(mailer["included"], "full");
    assert!(
        !mailer["reasons"].to_string().contains("not source code"),
        "{mailer}"
    );
    let doc = file(&j, "docs/mail.md")["reasons"].to_string();
    assert!(doc.contains("not source code"), "{doc}");
    let context = j["context"].as_str().unwrap_or_default();
    assert!(
        context.starts_with("lib/user_mailer.rb\n```ruby\nclass UserMailer"),
        "{context}"
    );
    assert_exact(&j, Encoding::O200kBase);

    let task = "refund invoice does not notify the customer";
    let j = t
        .run(&["context", task, "--budget", "600", "--json"])
        .json();
    let context = j["context"].as_str().unwrap_or_default();
    assert_eq!(file(&j, "lib/billing.rb")["included"], "partial", "{j}");
    assert!(
        context.starts_with(
            "lib/billing.rb (lines 601-606 of 606, the rest elided)\n```ruby\n⋮\n\n  def refund_invoice(invoice)\n"
        ),
        "{context}"
    );
    assert!(!context.contains("helper_7("), "{context}");
    assert_exact(&j, Encoding::O200kBase);

    // A line the task names comes with the lines around it, though no word matches there.
    let j = t
        .run(&[
            "context",
            "refund fails at lib/billing.rb:300",
            "--budget",
            "900",
            "--json",
        ])
        .json();
    let context = j["context"].as_str().unwrap_or_default();
    assert!(
        context.starts_with("lib/billing.rb (lines 290-310, 601-606 of 606, the rest elided)\n"),
        "{context}"
    );
    assert!(context.contains("    y = x * 59\n"), "{context}");
    assert_exact(&j, Encoding::O200kBase);

    // Build files are ranked too.
    t.write(
        "CMakeLists.txt",
        "project(shop C)\noption(ENABLE_TLS \"Build with TLS\" ON)\n",
    );
    let j = t
        .run(&["context", "cmake: the ENABLE_TLS option", "--json"])
        .json();
    assert_eq!(paths(&j), ["CMakeLists.txt"], "{j}");
    t.write("net/BUILD", "cc_library(name = \"zlibwrap\")\n")
        .write("BUILD.bazel", "cc_binary(name = \"shopd\")\n");
    let j = t
        .run(&["context", "bazel: zlibwrap and shopd targets", "--json"])
        .json();
    assert_eq!(paths(&j), ["BUILD.bazel", "net/BUILD"], "{j}");
}

/// `/dev/full`, where every write fails with "No space left on device".
fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

/// A warning or `--explain` that cannot be written (stderr on a full disk, a closed pipe) is
/// dropped: the context still comes, and the exit code is the command's own.
#[test]
fn an_unwritable_stderr_does_not_cost_the_context() {
    let t = Test::fixture("python");
    for extra in [&[][..], &["--explain"][..]] {
        let out = t
            .cmd()
            .args(["context", "make helper triple; see also src/mypkg/nope.py"])
            .args(extra)
            .stderr(dev_full())
            .output()
            .expect("vibe runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {stdout}");
        assert!(stdout.contains("def helper"), "{extra:?}: {stdout}");
    }
}

#[test]
fn named_files_come_first_and_missing_ones_are_warnings() {
    let t = Test::fixture("python");
    let j = t
        .run(&[
            "context",
            "in util.py, make helper triple; see also src/mypkg/nope.py",
            "--json",
        ])
        .json();
    let first = &j["files"][0];
    assert_eq!(first["path"], "src/mypkg/util.py", "{j}");
    let reasons = first["reasons"].to_string();
    assert!(reasons.contains("named in the task (util.py)"), "{reasons}");
    assert!(
        reasons.contains("the task names src/mypkg/nope.py, which is not an indexed file"),
        "{reasons}"
    );
    // Product names and URLs are not taken for missing files.
    assert_eq!(
        reasons.matches("not an indexed file").count(),
        1,
        "{reasons}"
    );
    // Nor are abbreviations and times; a missing file of a language vibe ranks unparsed is.
    let j = t
        .run(&[
            "context",
            "in util.py, call Billing.kt and user.rb at 5.pm, a.m. and i.e.",
            "--json",
        ])
        .json();
    let reasons = j["files"][0]["reasons"].to_string();
    for missing in ["Billing.kt", "user.rb"] {
        assert!(
            reasons.contains(&format!(
                "the task names {missing}, which is not an indexed file"
            )),
            "{reasons}"
        );
    }
    assert_eq!(
        reasons.matches("not an indexed file").count(),
        2,
        "{reasons}"
    );
    assert!(
        j["context"]
            .as_str()
            .unwrap_or("")
            .starts_with("src/mypkg/util.py\n")
    );
    // Dotted modules name files too.
    let j = t
        .run(&["context", "mypkg.sub.mod: rename Widget", "--json"])
        .json();
    assert_eq!(j["files"][0]["path"], "src/mypkg/sub/mod.py", "{j}");
    // And so do items in them, when the module mentions the item.
    let j = t
        .run(&[
            "context",
            "Widget.render in mypkg.sub.mod.Widget is slow",
            "--json",
        ])
        .json();
    let reasons = j["files"][0]["reasons"].to_string();
    assert_eq!(j["files"][0]["path"], "src/mypkg/sub/mod.py", "{j}");
    assert!(
        reasons.contains("named in the task (mypkg.sub.mod.Widget)"),
        "{reasons}"
    );
    // A brace list names each file it stands for.
    let j = t
        .run(&[
            "context",
            "move the helpers out of src/mypkg/{util,core}.py",
            "--json",
        ])
        .json();
    let mut firsts = paths(&j)[..2].to_vec();
    firsts.sort();
    assert_eq!(firsts, ["src/mypkg/core.py", "src/mypkg/util.py"], "{j}");
    let reasons = file(&j, "src/mypkg/core.py")["reasons"].to_string();
    assert!(
        reasons.contains("named in the task (src/mypkg/core.py)"),
        "{reasons}"
    );
    // A commit subject's component, and a Conventional Commits scope, favour their file;
    // prefixes that narrow it name a directory of the tree, and a kind of change before the
    // component is passed over.
    for (task, path, comp) in [
        ("core: rename Widget", "src/mypkg/core.py", "core"),
        ("fix(core): rename Widget", "src/mypkg/core.py", "core"),
        ("doc: core: rename Widget", "src/mypkg/core.py", "core"),
        (
            "mypkg: sub: rename Widget",
            "src/mypkg/sub/mod.py",
            "mypkg/sub",
        ),
    ] {
        let j = t.run(&["context", task, "--json"]).json();
        let reasons = file(&j, path)["reasons"].to_string();
        assert!(
            reasons.contains(&format!("the task names its component ({comp})")),
            "{task}: {reasons}"
        );
        if comp == "mypkg/sub" {
            let reasons = file(&j, "src/mypkg/core.py")["reasons"].to_string();
            assert!(!reasons.contains("names its component"), "{reasons}");
        }
    }
    let j = t.run(&["context", "fix: rename Widget", "--json"]).json();
    assert!(!j.to_string().contains("component prefix"), "{j}");
    // A named file that exists but is not read says why.
    t.write(
        "src/mypkg/huge_table.py",
        format!("TABLE = [{}]\n", "1, ".repeat(400)),
    );
    let j = t
        .run(&[
            "-c",
            "map.max_file_size=1000",
            "context",
            "regenerate huge_table.py for util.py",
            "--json",
        ])
        .json();
    let reasons = j["files"][0]["reasons"].to_string();
    assert!(
        reasons.contains(
            "the task names huge_table.py, but vibe does not read src/mypkg/huge_table.py: it is larger than map.max_file_size"
        ),
        "{reasons}"
    );
}

/// Text files of types vibe does not rank (JSON, XML, a file without an extension) are read when
/// the task names them, and come first as any named file; a name too many of them have is a
/// warning that says so.
#[test]
fn named_files_of_other_text_types_are_read() {
    let t = Test::fixture("python");
    // A lock file larger than the budget: shown where the task's word is, not where its own
    // name's words are (`packages` on its 2nd line).
    let mut lock = String::from("{\n  \"packages\": {\n");
    for i in 0..400 {
        lock.push_str(&format!(
            "    \"node_modules/p{i}\": {{\"version\": \"1.{i}.0\"}},\n"
        ));
    }
    lock.push_str("    \"node_modules/lodash\": {\"version\": \"4.17.20\"}\n  }\n}\n");
    t.write("package-lock.json", &lock);
    t.write(
        "pom.xml",
        "<project>\n  <version>1.0</version>\n</project>\n",
    );
    t.write("debian/rules", "#!/usr/bin/make -f\n%:\n\tdh $@\n");
    t.write("logo.dat", "GIF89a\0\0\0");
    let j = t
        .run(&[
            "context",
            "bump lodash in package-lock.json, the version in pom.xml:2, tweak debian/rules and logo.dat",
            "--budget",
            "1500",
            "--json",
        ])
        .json();
    let mut firsts = paths(&j)[..3].to_vec();
    firsts.sort();
    assert_eq!(
        firsts,
        ["debian/rules", "package-lock.json", "pom.xml"],
        "{j}"
    );
    let reasons = file(&j, "pom.xml")["reasons"].to_string();
    assert!(
        reasons.contains("named in the task (pom.xml, line 2)"),
        "{reasons}"
    );
    assert_eq!(file(&j, "pom.xml")["included"], "full", "{j}");
    assert_eq!(file(&j, "debian/rules")["included"], "full", "{j}");
    assert_eq!(file(&j, "package-lock.json")["included"], "partial", "{j}");
    let context = j["context"].as_str().unwrap_or_default();
    assert!(context.contains("node_modules/lodash"), "{context}");
    assert!(context.contains("```xml\n<project>"), "{context}");
    // A binary file is still not read, and says so.
    assert!(
        j.to_string()
            .contains("the task names logo.dat, but vibe does not read logo.dat: it is binary"),
        "{j}"
    );
    // A name that many files have names none of them.
    for dir in ["a", "b", "c", "d", "e"] {
        t.write(&format!("{dir}/package.json"), "{\"name\": \"x\"}\n");
    }
    let j = t
        .run(&["context", "bump lodash in package.json", "--json"])
        .json();
    assert!(
        !paths(&j).iter().any(|p| p.ends_with("package.json")),
        "{j}"
    );
    assert!(
        j.to_string().contains(
            "the task names package.json, which 5 files have (a/package.json, …); write more of \
             its path to name one"
        ),
        "{j}"
    );
    let j = t
        .run(&["context", "bump lodash in c/package.json", "--json"])
        .json();
    assert_eq!(paths(&j)[0], "c/package.json", "{j}");
    // A named file that does not fit and has none of the task's words comes as its head.
    let rows: String = (0..400).map(|i| format!("<row n=\"{i}\"/>\n")).collect();
    t.write("fixtures/table.xml", &rows);
    let j = t
        .run(&[
            "context",
            "see fixtures/table.xml",
            "--budget",
            "500",
            "--json",
        ])
        .json();
    assert_eq!(file(&j, "fixtures/table.xml")["included"], "partial", "{j}");
    let context = j["context"].as_str().unwrap_or_default();
    assert!(
        context.starts_with("fixtures/table.xml (lines 1-40 of 400, the rest elided)"),
        "{context}"
    );
    // One that not even in part fits says so.
    let long: String = (0..20_000).map(|i| format!("{i},")).collect();
    t.write("fixtures/min.json", format!("[{long}0]\n"));
    let tight = |task: &str| {
        t.run(&["context", task, "--budget", "500", "--json"])
            .json()
    };
    let j = tight("see fixtures/min.json");
    assert_eq!(file(&j, "fixtures/min.json")["included"], "map", "{j}");
    assert!(
        j.to_string().contains(
            "the task names fixtures/min.json, but no part of it fits in the budget; give a \
             larger --budget"
        ),
        "{j}"
    );
    // With its line named, the lines around it are what does not fit.
    let j = tight("see fixtures/min.json:1");
    assert!(
        j.to_string().contains(
            "the task names fixtures/min.json, but no part of it fits in the budget, not even \
             the lines around its line 1; give a larger --budget"
        ),
        "{j}"
    );
    // Several such files, in one warning.
    t.write("fixtures/min2.json", format!("[{long}1]\n"));
    let j = tight("see fixtures/min.json and fixtures/min2.json");
    assert!(
        j.to_string().contains(
            "the task names 2 files of which no part fits in the budget (fixtures/min.json, …)"
        ),
        "{j}"
    );
    // A path suffix a source file and a text file both end with names both, weakly.
    t.write("a/bin/config", "#!/usr/bin/env python3\nprint('config')\n");
    t.write("b/bin/config", "key = value\n");
    let j = t.run(&["context", "fix bin/config", "--json"]).json();
    for path in ["a/bin/config", "b/bin/config"] {
        let reasons = file(&j, path)["reasons"].to_string();
        assert!(
            reasons.contains("named in the task (bin/config, a name 2 files share)"),
            "{path}: {reasons}"
        );
    }
}

#[test]
fn tests_are_discounted_unless_the_task_is_about_them() {
    let t = Test::fixture("python");
    let plain = t.run(&["context", "Engine size property", "--json"]).json();
    let reasons = file(&plain, "tests/test_core.py")["reasons"].to_string();
    assert!(reasons.contains("test file"), "{reasons}");
    let about = t
        .run(&[
            "context",
            "add a test for the Engine size property",
            "--json",
        ])
        .json();
    let reasons = file(&about, "tests/test_core.py")["reasons"].to_string();
    assert!(!reasons.contains("test file"), "{reasons}");
}

/// `vibe -v context TASK --json` on `dir` instead of the test's root.
fn vibe_in(t: &Test, dir: &std::path::Path, task: &str) -> std::process::Output {
    t.cmd_on(dir)
        .args(["-v", "context", task, "--json"])
        .output()
        .expect("vibe")
}

/// `git init` and a first commit of everything written so far.
fn commit_all(t: &Test) {
    git(t.root(), &["init", "-q"]);
    git(t.root(), &["add", "-A"]);
    git(t.root(), &["commit", "-qm", "Import"]);
}

/// A commit of `msg` that adds a line end to each of `paths`: a change that adds no words, so
/// that the message alone says what it was about.
fn change(t: &Test, paths: &[&str], msg: &str) {
    for path in paths {
        let text = std::fs::read_to_string(t.root().join(path)).expect("written above");
        t.write(path, format!("{text}\n"));
    }
    git(t.root(), &["commit", "-qam", msg]);
}

/// `vibe context TASK --json` with `VIBE_RANK_TUNE=tune`.
fn context_tuned(t: &Test, tune: &str, task: &str) -> Value {
    let out = t
        .cmd()
        .env("VIBE_RANK_TUNE", tune)
        .args(["context", task, "--json"])
        .output()
        .expect("vibe runs");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The moved-file tests' fixture: lib/notes.py matches the task's words better than
/// lib/layout.py, until layout.py's two past `widgets:` commits count.
const LAYOUT: &str = "\"\"\"Widgets: how a panel lays out its rows.\"\"\"\n\n\ndef fit_rows(pane, rows):\n    \"\"\"Clip the rows to the pane, keeping the first ones.\"\"\"\n    shown = rows[: pane.height]\n    return shown\n";
const NOTES: &str =
    "# The panel is drawn when it is not empty.\ndef describe():\n    return 'panel'\n";
const PANEL_TASK: &str = "widgets: crash when the panel is empty";
const PANEL_COMMITS: [&str; 2] = [
    "widgets: the panel flickers on resize",
    "widgets: an empty panel shows stale rows",
];

/// `vibe -v context PANEL_TASK --json` in `dir` reads `read` (`"3 commits, 1 read"`) from git
/// and ranks src/layout.py first, lent by the two past `widgets:` commits.
fn assert_moved_file_lent(t: &Test, dir: &std::path::Path, read: &str) {
    let out = vibe_in(t, dir, PANEL_TASK);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("({read} from git)")), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_lent_first(&v, "src/layout.py");
}

/// The fixture in lib/ of a repository at the test's root, layout.py changed by the two past
/// `widgets:` commits.
fn panel_repo(t: &Test) {
    t.write("lib/layout.py", LAYOUT)
        .write("lib/notes.py", NOTES);
    commit_all(t);
    for msg in PANEL_COMMITS {
        change(t, &["lib/layout.py"], msg);
    }
}

/// `path` ranks first, lent by the two past `widgets:` commits.
fn assert_lent_first(v: &Value, path: &str) {
    assert_eq!(paths(v)[0], path, "{v}");
    let reasons = file(v, path)["reasons"].to_string();
    assert!(
        reasons.contains("changed by 2 of the past commits most like the task")
            && reasons.contains("an empty panel shows stale rows"),
        "{reasons}"
    );
}

/// A tree without git's history (a release tarball) reads its ChangeLogs instead, each entry a
/// commit of the files its `* path` lines name (relative to the ChangeLog's directory); so does
/// a work tree whose only commit imported it, until it has commits of its own.
#[test]
fn a_tree_without_git_history_reads_its_changelogs() {
    let t = Test::new();
    let changelog = "\
2022-04-15  A Hacker  <hacker@example.org>

\twidgets: the panel flickers on resize
\t* layout.py (fit_rows): Clip.

\twidgets: an empty panel shows stale rows
\t* ./layout.py (fit_rows),
\tgone.py: Keep the first rows.
\t* ../outside.py, /etc/passwd: Not files of the tree.
";
    t.write("lib/layout.py", LAYOUT)
        .write("lib/notes.py", NOTES)
        .write("lib/ChangeLog", changelog);
    let run = |read: &str| {
        let out = vibe_in(&t, t.root(), PANEL_TASK);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!("(2 commits, {read} read from ChangeLog)")),
            "{stderr}"
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_lent_first(&v, "lib/layout.py");
        assert!(
            file(&v, "lib/layout.py")["reasons"]
                .to_string()
                .contains("such as lib/ChangeLog:"),
            "{v}"
        );
    };
    run("2");
    // Kept in the index: read again only once a ChangeLog changes.
    run("0");
    t.write("lib/ChangeLog", format!("{changelog}\n"));
    run("2");
    // Without the entries, the task's words alone put notes.py first; and so they do with the
    // entries of a ChangeLog less than half of whose newest entries name a file of the tree
    // (one left as it was when the project moved on, its files renamed since).
    t.write(
        "lib/ChangeLog",
        "2022-04-15  A Hacker  <hacker@example.org>\n",
    );
    let v = t.run(&["context", PANEL_TASK, "--json"]).json();
    assert_eq!(paths(&v)[0], "lib/notes.py", "{v}");
    t.write(
        "lib/ChangeLog",
        changelog.replace("* layout.py", "* renamed.py")
            + "\n2021-04-15  A Hacker  <hacker@example.org>\n\n\t* moved.py: Gone.\n",
    );
    let v = t.run(&["context", PANEL_TASK, "--json"]).json();
    assert_eq!(paths(&v)[0], "lib/notes.py", "{v}");
    // A tarball imported into git, its one commit a root commit: still the ChangeLog's.
    t.write("lib/ChangeLog", changelog);
    commit_all(&t);
    run("2");
    // Kept under that HEAD: git is asked nothing more, the ChangeLog not read again.
    run("0");
    // Once git has commits of its own, the history is git's.
    change(&t, &["lib/notes.py"], "notes: say more");
    let out = vibe_in(&t, t.root(), PANEL_TASK);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(1 commits, 1 read from git)"), "{stderr}");
}

/// A file name two files share names both, after a file named alone and before the files the
/// task's words match better; neither is packed first.
#[test]
fn a_file_name_two_files_share_lifts_both() {
    let t = Test::new();
    t.write("src/include/tpm.h", "#define TPM_VERSION 2\n")
        .write("src/include/tss/tpm.h", "typedef int TPM_HANDLE;\n")
        .write(
            "src/comment.c",
            "/* A comment on every comment, a file of comments. */\nint comment_count(void) { return 0; }\n",
        )
        .write("src/main.c", "int main(void) { return 0; }\n");
    let v = t
        .run(&["context", "Added a comment to tpm.h, see main.c", "--json"])
        .json();
    let order = paths(&v);
    assert_eq!(
        order[..3],
        ["src/main.c", "src/include/tpm.h", "src/include/tss/tpm.h"],
        "{v}"
    );
    let reasons = file(&v, "src/include/tss/tpm.h")["reasons"].to_string();
    assert!(
        reasons.contains("named in the task (tpm.h, a name 2 files share)"),
        "{reasons}"
    );
    assert!(
        v["context"]
            .as_str()
            .unwrap_or("")
            .starts_with("src/main.c\n"),
        "{v}"
    );
}

/// A commit message pasted whole: its trailers and mail addresses name people, not code, so
/// neither the task's `Signed-off-by:` line nor the past commits' ones match anything (a
/// `key@…` address would otherwise match the file about keys, and every commit Kent signed
/// would be like the task).
#[test]
fn a_pasted_commit_messages_trailers_match_nothing() {
    let t = Test::new();
    t.write(
        "lib/keys.py",
        "def load_key(store):\n    \"\"\"The key, read once.\"\"\"\n    return store.key\n",
    )
    .write(
        "lib/parse.py",
        "def parse_header(data):\n    \"\"\"The header of a record.\"\"\"\n    return data[:4]\n",
    );
    commit_all(&t);
    let signed = "\n\nSigned-off-by: Kent Yoder <key@linux.example.org>";
    change(
        &t,
        &["lib/keys.py"],
        &format!("keys: cache the loaded one{signed}"),
    );
    change(&t, &["lib/parse.py"], "parse: reject a short header");
    let task = format!("parse: check the length of a record{signed}\nCc: Ann <ann@example.org>");
    let v = t.run(&["context", &task, "--json"]).json();
    assert_eq!(paths(&v), ["lib/parse.py"], "{v}");
    let reasons = v["files"].to_string().to_lowercase();
    for word in ["key", "kent", "linux", "signed"] {
        assert!(!reasons.contains(word), "{word}: {reasons}");
    }
}

/// A commit pasted as `git show` prints it: its headers (hash, author, date) and its trailers,
/// before the diff, match nothing; its subject's component still counts.
#[test]
fn a_pasted_git_show_is_read_as_its_message() {
    let t = Test::new();
    t.write(
        "lib/decimal.py",
        "def to_dec(value):\n    \"\"\"Decimal digits, Thursday rounding.\"\"\"\n    return str(value)\n",
    )
    .write(
        "lib/parse.py",
        "def parse_header(data):\n    \"\"\"The header of a record.\"\"\"\n    return data[:4]\n",
    );
    let task = "commit 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b (HEAD -> main)\n\
                Author: Dec Thursday <dec@example.org>\n\
                Date:   Thu Dec 4 18:43:22 2026 +0000\n\n    \
                parse: check the length of a record\n\n    \
                Signed-off-by: Dec Thursday <dec@example.org>\n\n\
                diff --git a/lib/parse.py b/lib/parse.py\n\
                --- a/lib/parse.py\n+++ b/lib/parse.py\n";
    let v = t.run(&["context", task, "--json"]).json();
    assert_eq!(paths(&v)[0], "lib/parse.py", "{v}");
    // The diff's paths are task text (`lib`, `py`); the headers and trailers are not.
    let reasons = v["files"].to_string().to_lowercase();
    for word in ["dec,", "dec ", "thursday", "signed", "author"] {
        assert!(!reasons.contains(word), "{word}: {reasons}");
    }
}

/// A file's past commits count for it after it moves: a rename git finds (`git mv`, with or
/// without an edit) keeps the old path's commits for the new one, whether the move is read
/// in the same run as the commits before it or in a later one.
#[test]
fn a_moved_files_past_commits_still_lift_it() {
    let t = Test::new();
    t.write("lib/layout.py", LAYOUT)
        .write("lib/notes.py", NOTES)
        .write("README.md", "# Widgets\n");
    commit_all(&t);
    for msg in PANEL_COMMITS {
        change(&t, &["lib/layout.py"], msg);
    }
    assert_lent_first(
        &t.run(&["context", PANEL_TASK, "--json"]).json(),
        "lib/layout.py",
    );
    // The move, with an edit to one of the files, read on the next run alone.
    git(t.root(), &["mv", "lib", "src"]);
    t.write("src/layout.py", LAYOUT.replace("shown", "visible"));
    git(t.root(), &["commit", "-qam", "Move the sources to src/"]);
    assert_moved_file_lent(&t, t.root(), "3 commits, 1 read");
    let without = t
        .run(&["-c", "context.history=0", "context", PANEL_TASK, "--json"])
        .json();
    assert_ne!(paths(&without)[0], "src/layout.py", "{without}");
    // Read all at once into a fresh index: the same.
    std::fs::remove_dir_all(t.root().join(".vibe")).expect("remove the index");
    assert_moved_file_lent(&t, t.root(), "3 commits, 3 read");
}

/// A repository to clone from, `origin` under the test's root (serving partial clones): see
/// [`panel_repo_in`].
fn panel_origin(t: &Test) -> std::path::PathBuf {
    panel_repo_in(t, "origin")
}

/// A repository in `dir` under the test's root (serving partial clones): the fixture imported
/// in lib/, then layout.py changed by the two past `widgets:` commits.
fn panel_repo_in(t: &Test, dir: &str) -> std::path::PathBuf {
    let repo = t.root().join(dir);
    t.write(&format!("{dir}/lib/layout.py"), LAYOUT)
        .write(&format!("{dir}/lib/notes.py"), NOTES);
    git(&repo, &["init", "-q"]);
    git(&repo, &["config", "uploadpack.allowFilter", "true"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "Import"]);
    for msg in PANEL_COMMITS {
        let text = std::fs::read_to_string(repo.join("lib/layout.py")).expect("written");
        t.write(&format!("{dir}/lib/layout.py"), format!("{text}\n"));
        git(&repo, &["commit", "-qam", msg]);
    }
    repo
}

/// A blobless clone (`git clone --filter=blob:none`) has no old file contents, and vibe does
/// not let git fetch them: a move with edits cannot be compared there, and the history is read
/// with exact renames instead of not at all.
#[test]
fn a_blobless_clone_keeps_its_history() {
    let t = Test::new();
    let origin = panel_origin(&t);
    // layout.py moves as it is (an exact rename), notes.py with an edit.
    git(&origin, &["mv", "lib", "src"]);
    t.write(
        "origin/src/notes.py",
        NOTES.replace("'panel'", "'the panel'"),
    );
    git(&origin, &["commit", "-qam", "Move the sources to src/"]);
    let url = format!("file://{}", origin.display());
    git(
        t.root(),
        &["clone", "-q", "--filter=blob:none", &url, "clone"],
    );
    assert_moved_file_lent(&t, &t.root().join("clone"), "3 commits, 3 read");
}

/// A shallow clone deepened (`git fetch --unshallow`) has more history under the same HEAD:
/// the next run reads it, as a run on a new index does, instead of the stored shallow one.
#[test]
fn a_deepened_shallow_clone_reads_the_history_it_gained() {
    let t = Test::new();
    let origin = panel_origin(&t);
    let text = std::fs::read_to_string(origin.join("lib/notes.py")).expect("written");
    t.write("origin/lib/notes.py", format!("{text}\n"));
    git(&origin, &["commit", "-qam", "Tidy"]);
    let url = format!("file://{}", origin.display());
    git(t.root(), &["clone", "-q", "--depth", "2", &url, "clone"]);
    let clone = t.root().join("clone");
    let shallow = vibe_in(&t, &clone, PANEL_TASK);
    let stderr = String::from_utf8_lossy(&shallow.stderr);
    assert!(stderr.contains("(1 commits, 1 read from git)"), "{stderr}");
    git(&clone, &["fetch", "-q", "--unshallow"]);
    let deep = vibe_in(&t, &clone, PANEL_TASK);
    let stderr = String::from_utf8_lossy(&deep.stderr);
    assert!(stderr.contains("(3 commits, 2 read from git)"), "{stderr}");
    let v: Value = serde_json::from_slice(&deep.stdout).expect("JSON");
    assert_lent_first(&v, "lib/layout.py");
    // The same as on a new index.
    std::fs::remove_dir_all(clone.join(".vibe")).expect("rm .vibe");
    let cold = vibe_in(&t, &clone, PANEL_TASK);
    let stderr = String::from_utf8_lossy(&cold.stderr);
    assert!(stderr.contains("(3 commits, 3 read from git)"), "{stderr}");
    let cold: Value = serde_json::from_slice(&cold.stdout).expect("JSON");
    assert_eq!(cold["files"], v["files"]);
}

/// The history is read as committed: a `git replace` that rewrites a past commit's message
/// (which would change the history under the same HEAD, the stored history's key) is not
/// applied, warm or cold.
#[test]
fn replaced_commits_are_read_as_committed() {
    let t = Test::new();
    panel_repo(&t);
    let v = context_tuned(&t, "", PANEL_TASK);
    assert_lent_first(&v, "lib/layout.py");
    // HEAD's parent, its message replaced by one about notes.
    let replacement = git(
        t.root(),
        &[
            "commit-tree",
            "HEAD~1^{tree}",
            "-p",
            "HEAD~2",
            "-m",
            "notes: describe",
        ],
    );
    git(t.root(), &["replace", "HEAD~1", &replacement]);
    std::fs::remove_dir_all(t.root().join(".vibe")).expect("rm .vibe");
    let cold = context_tuned(&t, "", PANEL_TASK);
    assert_eq!(cold["files"], v["files"]);
}

/// HEAD is read after the shallow file's path, which may hold a newline (a worktree of a
/// repository under such a directory gets an absolute path).
#[test]
fn a_worktree_of_a_repository_under_an_odd_name_has_its_history() {
    let t = Test::new();
    let main = panel_repo_in(&t, "x\ny");
    let wt = t.root().join("wt");
    git(
        &main,
        &["worktree", "add", "-q", wt.to_str().expect("UTF-8"), "HEAD"],
    );
    let out = vibe_in(&t, &wt, PANEL_TASK);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(2 commits, 2 read from git)"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_lent_first(&v, "lib/layout.py");
}

/// Inside a git hook (or a shell that exported them) GIT_DIR, GIT_COMMON_DIR, GIT_WORK_TREE
/// and GIT_INDEX_FILE name another repository: the history read is still the root's own.
#[test]
fn the_history_is_the_roots_whatever_git_variables_say() {
    let t = Test::new();
    panel_repo(&t);
    let other = tempfile::tempdir().expect("other repository");
    git(other.path(), &["init", "-q"]);
    std::fs::write(other.path().join("x.py"), "x = 1\n").expect("write");
    git(other.path(), &["add", "-A"]);
    git(other.path(), &["commit", "-qm", "Other"]);
    let dot_git = other.path().join(".git");
    let out = t
        .cmd()
        .env("GIT_DIR", &dot_git)
        .env("GIT_COMMON_DIR", &dot_git)
        .env("GIT_WORK_TREE", other.path())
        .env("GIT_INDEX_FILE", dot_git.join("index"))
        .args(["context", PANEL_TASK, "--json"])
        .output()
        .expect("vibe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_lent_first(&v, "lib/layout.py");
}

/// Reasons quote commit subjects: `--explain` prints them escaped, as it does paths (a subject
/// cannot retitle or clear the terminal), and cut after 100 characters (a subject line of many kilobytes is
/// not printed in every reason that names its commit).
#[test]
fn reasons_quote_commit_subjects_escaped_and_cut() {
    let t = Test::new();
    t.write("lib/layout.py", LAYOUT)
        .write("lib/notes.py", NOTES);
    commit_all(&t);
    change(
        &t,
        &["lib/layout.py"],
        "widgets: \u{1b}]0;PWNED\u{7} an empty panel \u{202e}rows",
    );
    let long = format!("widgets: the panel {}", "flickers ".repeat(2_000));
    change(&t, &["lib/layout.py"], &long);
    let out = t.run(&["context", PANEL_TASK, "--explain"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let err = out.stderr();
    assert!(
        err.contains("widgets: \\u{1b}]0;PWNED\\u{7} an empty panel \\u{202e}rows"),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err}"
    );
    assert!(err.len() < 20_000, "{} bytes", err.len());
    assert!(
        err.contains("widgets: the panel flickers flickers"),
        "{err}"
    );
    assert!(err.contains("flickers … (recent 1.00)"), "{err}");
}

/// A repository git refuses (another user's: a mounted volume, a container's checkout) is a
/// warning that says how to trust it, not a silent ranking without history.
#[test]
fn a_repository_git_refuses_is_a_warning() {
    let t = Test::new();
    t.write("lib/layout.py", LAYOUT)
        .write("lib/notes.py", NOTES);
    commit_all(&t);
    change(&t, &["lib/layout.py"], PANEL_COMMITS[0]);
    let run = |env: &[(&str, &str)]| {
        let out = t
            .cmd()
            .envs(env.iter().copied())
            .args(["context", PANEL_TASK, "--json"])
            .output()
            .expect("vibe runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        (v, stderr)
    };
    // Git's own switch for its test suite: the repository seems to be another user's.
    let (v, stderr) = run(&[("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")]);
    assert!(
        stderr.contains("git does not read the repository: it belongs to another user")
            && stderr.contains("git config --global --add safe.directory")
            && stderr.contains("the ranking goes on without the repository's history"),
        "{stderr}"
    );
    assert!(v["warnings"].to_string().contains("another user"), "{v}");
    let (v, stderr) = run(&[]);
    assert!(!stderr.contains("another user"), "{stderr}");
    assert!(
        file(&v, "lib/layout.py")["reasons"]
            .to_string()
            .contains("past commits most like the task"),
        "{v}"
    );
}

/// A branch merged after a move on the other side: by date its commits come before the move,
/// and the path they name (the file's old one) still stands for the moved file.
#[test]
fn a_branch_merged_after_a_move_lends_to_the_moved_file() {
    let t = Test::new();
    t.write("lib/layout.py", LAYOUT)
        .write("lib/notes.py", NOTES);
    commit_all(&t);
    let dated = |date: &str, args: &[&str]| {
        git_with_env(
            t.root(),
            &[("GIT_COMMITTER_DATE", date), ("GIT_AUTHOR_DATE", date)],
            args,
        );
    };
    git(t.root(), &["checkout", "-q", "-b", "topic"]);
    git(t.root(), &["checkout", "-q", "-"]);
    git(t.root(), &["mv", "lib", "src"]);
    dated(
        "2030-01-01T00:00:00",
        &["commit", "-qm", "Move the sources to src/"],
    );
    git(t.root(), &["checkout", "-q", "topic"]);
    for (day, msg) in ["02", "03"].into_iter().zip(PANEL_COMMITS) {
        let text = std::fs::read_to_string(t.root().join("lib/layout.py")).expect("on topic");
        t.write("lib/layout.py", format!("{text}\n"));
        dated(&format!("2030-01-{day}T00:00:00"), &["commit", "-qam", msg]);
    }
    git(t.root(), &["checkout", "-q", "-"]);
    dated(
        "2030-01-04T00:00:00",
        &["merge", "-q", "--no-edit", "topic"],
    );
    assert!(t.root().join("src/layout.py").exists() && !t.root().join("lib").exists());
    assert_moved_file_lent(&t, t.root(), "3 commits, 3 read");
}

/// A path used again after its file moved away names another file: the commits of a scratch
/// file that took lib/layout.py's name after the move (and was deleted) lend src/layout.py
/// nothing.
#[test]
fn a_name_used_again_after_a_move_is_another_file() {
    let t = Test::new();
    t.write("lib/layout.py", LAYOUT)
        .write("src/notes.py", NOTES);
    commit_all(&t);
    git(t.root(), &["mv", "lib/layout.py", "src/layout.py"]);
    git(t.root(), &["commit", "-qm", "Move layout to src/"]);
    t.write("lib/layout.py", "print('panel demo')\n");
    git(t.root(), &["add", "-A"]);
    git(t.root(), &["commit", "-qm", PANEL_COMMITS[0]]);
    change(&t, &["lib/layout.py"], PANEL_COMMITS[1]);
    git(t.root(), &["rm", "-q", "lib/layout.py"]);
    git(t.root(), &["commit", "-qm", "Remove the scratch demo"]);
    let run = t.run(&["-v", "context", PANEL_TASK, "--json"]);
    assert!(
        run.stderr().contains("(4 commits, 4 read from git)"),
        "{}",
        run.stderr()
    );
    let reasons = file(&run.json(), "src/layout.py")["reasons"].to_string();
    assert!(!reasons.contains("past commits"), "{reasons}");
}

/// A task about the commit before it ("fixing problem with previous commit"), about a commit it
/// names by its hash or reverts, or about an issue past commits name, is about the files those
/// commits changed, whatever its words match.
#[test]
fn a_task_about_a_past_commit_is_about_its_files() {
    let t = Test::new();
    t.write("src/widget.py", "def draw(pane):\n    return pane.rows\n")
        .write(
            "src/notes.py",
            "# Known problem: the pane flickers.\ndef describe():\n    return 'pane'\n",
        )
        .write(
            "src/borders.py",
            "def frame(width):\n    return '+' * width\n",
        );
    commit_all(&t);
    change(
        &t,
        &["src/borders.py"],
        "borders: wider frames\n\nCloses: #13",
    );
    change(&t, &["src/widget.py"], "widget: draw the rows");
    let task = "Fixing a problem with the previous commit";
    let with = t.run(&["context", task, "--json"]).json();
    // Level with the best match of the task's words (notes.py's "problem").
    assert_eq!(paths(&with), ["src/notes.py", "src/widget.py"], "{with}");
    let reasons = file(&with, "src/widget.py")["reasons"].to_string();
    assert!(
        reasons.contains("changed by the last commit, which the task refers to: ")
            && reasons.contains(" widget: draw the rows"),
        "{reasons}"
    );
    // A commit the task names by its hash (in a line `git revert` writes too): its files.
    let borders = git(t.root(), &["rev-parse", "HEAD~1"]);
    // A hash is read when it mixes letters and digits (an abbreviation of digits alone is a
    // number): the shortest such abbreviation of nine or more.
    let short = (9..=borders.len())
        .map(|n| &borders[..n])
        .find(|h| {
            h.bytes().any(|b| b.is_ascii_digit()) && h.bytes().any(|b| b.is_ascii_alphabetic())
        })
        .unwrap_or(&borders);
    // And earlier work on an issue the task names: the commits that name it too; and the commit
    // a revert or reland quotes the subject of.
    let named = "which the task names";
    let issue = "which names #13 as the task does";
    for (task, why) in [
        (format!("widget: a regression since {short}"), named),
        (
            format!("Revert \"wider\"\n\nThis reverts commit {borders}."),
            named,
        ),
        ("Finish the frames for issue #13".into(), issue),
        ("gh-13: frames".into(), issue),
        // A revert or reland by the subject it quotes.
        (
            "Revert \"borders: wider frames\"".into(),
            "which the task reverts",
        ),
        (
            "Reland \"borders: wider frames\" (#15)".into(),
            "which the task applies again",
        ),
    ] {
        let v = t.run(&["context", &task, "--json"]).json();
        let reasons = file(&v, "src/borders.py")["reasons"].to_string();
        let want = format!("changed by {} borders: wider frames, {why}", &borders[..7]);
        assert!(reasons.contains(&want), "{task}: {reasons}");
    }
    // Only the last commit's files, only when the task refers to it, only with a history; a
    // hash of no commit here is nothing, nor is an issue no commit names.
    for (args, task) in [
        (&[][..], "Fixing a problem with the widget"),
        (&[][..], "Fixing a problem since 5f11478"),
        (&[][..], "Fixing the frames for issue #14"),
        (&[][..], "Revert \"borders: wider\""),
        (&["-c", "context.history=0"][..], task),
    ] {
        let v = t.run(&[args, &["context", task, "--json"]].concat()).json();
        let v = v.to_string();
        assert!(
            !v.contains("which the task ") && !v.contains("as the task does"),
            "{task}: {v}"
        );
    }
    // A subject with typographic quotes is quoted as written (the task is read with ASCII
    // quotes, and so is the subject it is compared with).
    change(
        &t,
        &["src/notes.py"],
        "notes: don’t flicker on “wide” panes",
    );
    let task = "Revert \"notes: don’t flicker on “wide” panes\"";
    let v = t.run(&["context", task, "--json"]).json();
    let reasons = file(&v, "src/notes.py")["reasons"].to_string();
    assert!(reasons.contains("which the task reverts"), "{reasons}");
}

/// In a git work tree, the files that past commits worded like the task changed rank higher;
/// a new commit is read on the next run, and an older commit checked out forgets the later ones.
#[test]
fn past_commits_like_the_task_lift_the_files_they_changed() {
    let t = Test::new();
    t.write(
        "src/layout.py",
        "\"\"\"Widgets: how a panel lays out its rows.\"\"\"\n\n\ndef fit_rows(pane, rows):\n    return rows[: pane.height]\n",
    )
    .write(
        "src/notes.py",
        "# The panel is drawn when it is not empty.\ndef describe():\n    return 'panel'\n",
    )
    .write("src/borders.py", "def frame(width):\n    return '+' * width\n")
    .write("README.md", "# Widgets\n");
    git(t.root(), &["init", "-q"]);
    // No commits yet: no history, no error.
    let run = t.run(&["-v", "context", "panel", "--json"]);
    assert!(
        run.stderr().contains("(0 commits, 0 read from git)"),
        "{}",
        run.stderr()
    );
    git(t.root(), &["add", "-A"]);
    git(t.root(), &["commit", "-qm", "Import the widgets"]);
    let change = |path: &str, msg: &str| change(&t, &[path], msg);
    change("src/layout.py", "widgets: the panel flickers on resize");
    change(
        "src/layout.py",
        "widgets: an empty panel shows stale rows\n\nThe pane kept the rows of the last draw.",
    );
    change("README.md", "docs: typo");
    let task = "widgets: crash when the panel is empty";
    let before = t
        .run(&["-c", "context.history=0", "context", task, "--json"])
        .json();
    assert_ne!(
        paths(&before).first().map(String::as_str),
        Some("src/layout.py")
    );
    let run = t.run(&["-v", "context", task, "--json"]);
    assert!(
        run.stderr().contains("(3 commits, 3 read from git)"),
        "{}",
        run.stderr()
    );
    let with = run.json();
    assert_eq!(paths(&with)[0], "src/layout.py", "{with}");
    let reasons = file(&with, "src/layout.py")["reasons"].to_string();
    assert!(
        reasons.contains("changed by 2 of the past commits most like the task, such as")
            && reasons.contains("widgets: an empty panel shows stale rows"),
        "{reasons}"
    );
    // The reason names the commit by its short hash.
    let hash = git(t.root(), &["rev-parse", "--short=7", "HEAD~1"]);
    assert!(reasons.contains(&hash), "{hash} in {reasons}");

    // Indexed from a subdirectory: paths relative to it (the README's commit lends nothing).
    let sub = vibe_in(&t, &t.root().join("src"), task);
    let stderr = String::from_utf8_lossy(&sub.stderr);
    assert!(stderr.contains("(3 commits, 3 read from git)"), "{stderr}");
    let sub: Value = serde_json::from_slice(&sub.stdout).expect("JSON");
    let reasons = file(&sub, "layout.py")["reasons"].to_string();
    assert!(
        reasons.contains("an empty panel shows stale rows"),
        "{reasons}"
    );

    // A commit made since: read on the next run, alone.
    change("src/borders.py", "widgets: draw the panel borders thicker");
    let task = "panel borders look thin";
    let run = t.run(&["-v", "context", task, "--json"]);
    assert!(
        run.stderr().contains("(4 commits, 1 read from git)"),
        "{}",
        run.stderr()
    );
    let reasons = file(&run.json(), "src/borders.py")["reasons"].to_string();
    assert!(
        reasons.contains("draw the panel borders thicker"),
        "{reasons}"
    );
    // An older commit checked out: its history has no later commits, and nothing to read.
    git(t.root(), &["checkout", "-q", "HEAD~1"]);
    let run = t.run(&["-v", "context", task, "--json"]);
    assert!(
        run.stderr().contains("(3 commits, 0 read from git)"),
        "{}",
        run.stderr()
    );
    let reasons = file(&run.json(), "src/borders.py")["reasons"].to_string();
    assert!(!reasons.contains("past commits"), "{reasons}");
    // A shallow clone: its one commit looks as if it added every file, and lends nothing.
    let shallow = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", t.root().display());
    git(shallow.path(), &["clone", "-q", "--depth", "1", &url, "s"]);
    let run = vibe_in(&t, &shallow.path().join("s"), task);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("(0 commits, 0 read from git)"), "{stderr}");
    // A history stored by a build that read messages another way (its key without this
    // build's `readingN`) is read again, every commit of it.
    git(t.root(), &["checkout", "-q", "-"]);
    t.run(&["context", task, "--json"]);
    let run = t.run(&["-v", "context", task, "--json"]);
    assert!(
        run.stderr().contains("(4 commits, 0 read from git)"),
        "{}",
        run.stderr()
    );
    {
        let conn = rusqlite::Connection::open(t.root().join(".vibe/index.db")).expect("index");
        let changed = conn
            .execute(
                "UPDATE meta SET value = replace(value, ' reading', ' readingX') \
                 WHERE key = 'history_head'",
                [],
            )
            .expect("update");
        assert_eq!(changed, 1);
    }
    let run = t.run(&["-v", "context", task, "--json"]);
    assert!(
        run.stderr().contains("(4 commits, 4 read from git)"),
        "{}",
        run.stderr()
    );
    // Off: no history at all, and no work in progress asked for.
    let run = t.run(&["-v", "-c", "context.history=0", "context", task, "--json"]);
    assert!(
        run.stderr().contains("(0 commits, 0 read from git), rank "),
        "{}",
        run.stderr()
    );
}

/// Files that past commits changed together with the best-ranked file come up with it.
#[test]
fn files_changed_together_with_the_best_one_come_up() {
    let t = Test::new();
    t.write(
        "src/parser.py",
        "def parse_header(line):\n    return line.split(':')\n",
    )
    .write("src/tables.py", "WIDTHS = [1, 2, 3]\n")
    .write("src/other.py", "VALUE = 1\n");
    commit_all(&t);
    for (i, msg) in ["Tidy", "Speed up", "Rename"].iter().enumerate() {
        t.write(
            "src/parser.py",
            format!(
                "def parse_header(line):\n    return line.split(':'){}\n",
                " ".repeat(i + 1)
            ),
        )
        .write(
            "src/tables.py",
            format!("WIDTHS = [1, 2, 3]{}\n", " ".repeat(i + 1)),
        );
        git(t.root(), &["commit", "-qam", msg]);
    }
    t.write("src/other.py", "VALUE = 2\n");
    git(t.root(), &["commit", "-qam", "Bump"]);
    let j = t
        .run(&["context", "parse_header drops the value", "--json"])
        .json();
    assert_eq!(paths(&j)[0], "src/parser.py", "{j}");
    let reasons = file(&j, "src/tables.py")["reasons"].to_string();
    assert!(
        reasons.contains("changed together with src/parser.py in 3 of its 3 past commits"),
        "{reasons}"
    );
    assert!(
        !file(&j, "src/parser.py")["reasons"]
            .to_string()
            .contains("changed together"),
        "{j}"
    );
    assert!(
        !paths(&j).contains(&"src/other.py".to_string())
            || !file(&j, "src/other.py")["reasons"]
                .to_string()
                .contains("changed together"),
        "{j}"
    );
}

/// Co-change lifts a companion of the best file past the files between them, never past the
/// best file itself, however close behind it the companion starts and however recently it
/// changed.
#[test]
fn a_companion_never_passes_the_best_file() {
    let t = Test::new();
    t.write(
        "src/parser.py",
        "def parse_header(line):\n    # The value after the colon.\n    return line.split(':')\n",
    )
    .write(
        "src/values.py",
        "def parse_header_value(line):\n    return line\n",
    )
    .write(
        "src/splitter.py",
        "def parse_header_split(line):\n    return line\n",
    )
    .write("src/other.py", "VALUE = 1\n");
    commit_all(&t);
    let task = "header parsing splits the value";
    let score = |j: &Value, path: &str| file(j, path)["score"].as_f64().expect("a score");
    // The third file is close enough behind the best one that co-change's lift (0.3 for a
    // single companion) would take it past; past commits change the two together.
    let j = context_tuned(&t, "cochange=0,recent=0", task);
    let order = paths(&j);
    let (best, third) = (order[0].as_str(), order[2].as_str());
    let gap = score(&j, best) - score(&j, third);
    assert!(gap < 0.3, "gap {gap}: {j}");
    // And far enough that recency alone (0.3 for the companion's last commit, 0.25 for the
    // best file's, one commit before) does not take it past. The last commit changes the
    // second file too, which keeps the third behind it until co-change.
    assert!(gap > 0.05, "gap {gap}: {j}");
    change(&t, &[best, third], "Tidy");
    change(&t, &[best, third], "Rename");
    change(&t, &[order[1].as_str(), third], "Touch");
    assert_eq!(
        paths(&context_tuned(&t, "cochange=0,recent=0", task)),
        order
    );
    assert_eq!(paths(&context_tuned(&t, "cochange=0", task))[0], best);

    let j = t.run(&["context", task, "--json"]).json();
    assert_eq!(paths(&j)[..2], [best, third], "{j}");
    let reasons = file(&j, third)["reasons"].to_string();
    assert!(
        reasons.contains(&format!(
            "changed together with {best} in 2 of its 2 past commits (co-change 1.00, kept \
             below {best})"
        )),
        "{reasons}"
    );
}

/// Of files the task matches alike, the one the last commits changed comes first: work goes
/// on where it went last.
#[test]
fn the_file_changed_last_leads_files_matched_alike() {
    let t = Test::new();
    let body = "def render_table(rows):\n    return rows\n";
    for path in ["src/alpha.py", "src/beta.py", "src/gamma.py"] {
        t.write(path, body);
    }
    t.write("src/other.py", "VALUE = 1\n");
    commit_all(&t);
    change(&t, &["src/gamma.py"], "Tidy gamma");
    for i in 0..4 {
        t.write("src/other.py", format!("VALUE = {i}\n"));
        git(t.root(), &["commit", "-qam", "Bump"]);
    }
    change(&t, &["src/beta.py"], "Tidy beta");
    let task = "render_table drops rows";
    // Alike without it: the order of their paths.
    let off = paths(&context_tuned(&t, "recent=0", task));
    assert_eq!(off[..3], ["src/alpha.py", "src/beta.py", "src/gamma.py"]);

    let j = t.run(&["context", task, "--json"]).json();
    assert_eq!(
        paths(&j)[..3],
        ["src/beta.py", "src/gamma.py", "src/alpha.py"],
        "{j}"
    );
    let reasons = |path: &str| file(&j, path)["reasons"].to_string();
    assert!(
        reasons("src/beta.py").contains("changed in the last commit,")
            && reasons("src/beta.py").contains(" Tidy beta (recent 1.00)"),
        "{j}"
    );
    assert!(
        reasons("src/gamma.py").contains("changed 5 commits before the last,")
            && reasons("src/gamma.py").contains(" Tidy gamma (recent 0.50)"),
        "{j}"
    );
    // The first commit, which added every file, is left out of the history; and a file the
    // task does not match is not lifted into the list, however recently it changed.
    assert!(!reasons("src/alpha.py").contains("recent"), "{j}");
    assert!(
        !paths(&j).contains(&"src/other.py".to_string()),
        "a file the task does not match is not lifted: {j}"
    );
}

/// Of files the task matches alike, those changed and not committed come first, as if the last
/// commit had changed them: the work in progress. A new file counts once staged; one git does
/// not track does not, and with the history off nothing moves.
#[test]
fn work_in_progress_leads_files_matched_alike() {
    let t = Test::new();
    let body = "def render_table(rows):\n    return rows\n";
    for path in ["src/alpha.py", "src/beta.py", "src/gamma.py"] {
        t.write(path, body);
    }
    commit_all(&t);
    t.write("src/gamma.py", format!("{body}\n"));
    t.write("src/delta.py", body);
    git(t.root(), &["add", "src/delta.py"]);
    t.write("src/epsilon.py", body);
    let task = "render_table drops rows";

    let j = t.run(&["context", task, "--json"]).json();
    assert_eq!(
        paths(&j)[..5],
        [
            "src/delta.py",
            "src/gamma.py",
            "src/alpha.py",
            "src/beta.py",
            "src/epsilon.py"
        ],
        "{j}"
    );
    let wip = "changed in the work tree, not committed yet (recent 1.00)";
    for path in ["src/delta.py", "src/gamma.py"] {
        assert!(file(&j, path)["reasons"].to_string().contains(wip), "{j}");
    }
    for path in ["src/alpha.py", "src/beta.py", "src/epsilon.py"] {
        assert!(
            !file(&j, path)["reasons"].to_string().contains("recent"),
            "{j}"
        );
    }
    // -v says how many.
    let run = t.run(&["-v", "context", task]);
    assert!(
        run.stderr().contains("2 changed and not committed"),
        "{}",
        run.stderr()
    );

    let off = t
        .run(&["-c", "context.history=0", "context", task, "--json"])
        .json();
    assert_eq!(paths(&off)[..2], ["src/alpha.py", "src/beta.py"], "{off}");
    assert!(!off.to_string().contains("work tree"), "{off}");
}

/// Work in progress is what differs from HEAD byte for byte, as vibe hashes the files: a copy
/// of the repository (new inodes and times, which git's own comparison takes for changes), a
/// file written with CRLF line ends (a `core.autocrlf` checkout), one only touched, a tracked
/// link, and one git no longer tracks are none; so are edits git is told to ignore
/// (skip-worktree, assume-unchanged) and files git stores through a filter. The repository's
/// filter programs never run, and pathspec settings in the environment change nothing.
#[test]
fn work_in_progress_is_what_differs_from_head() {
    let t = Test::new();
    let repo = t.root().join("orig");
    let body = "def render_table(rows):\n    return rows\n";
    let names = [
        "alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "iota",
    ];
    for name in names {
        t.write(&format!("orig/src/{name}.py"), body);
    }
    // A tracked link: git's blob is where it points, vibe reads the file.
    #[cfg(unix)]
    std::os::unix::fs::symlink("alpha.py", repo.join("src/zeta.py")).expect("link");
    let ran = t.root().join("filter-ran");
    t.write("orig/.gitattributes", "src/eta.py filter=shout\n");
    git(&repo, &["init", "-q"]);
    let clean = format!("sh -c 'echo ran >> \"{}\"; cat'", ran.display());
    git(&repo, &["config", "filter.shout.clean", &clean]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "Import"]);
    // Copied: every file has another inode and ctime than git's index says.
    let status = std::process::Command::new("cp")
        .args(["-r", "orig", "copy"])
        .current_dir(t.root())
        .status()
        .expect("cp");
    assert!(status.success());
    let copy = t.root().join("copy");
    t.write("copy/src/beta.py", body.replace('\n', "\r\n"));
    t.write("copy/src/gamma.py", body);
    git(&copy, &["rm", "-q", "--cached", "src/delta.py"]);
    git(&copy, &["update-index", "--skip-worktree", "src/theta.py"]);
    git(
        &copy,
        &["update-index", "--assume-unchanged", "src/iota.py"],
    );
    for name in ["delta", "eta", "theta", "iota", "epsilon"] {
        t.write(&format!("copy/src/{name}.py"), format!("{body}# edited\n"));
    }

    // (git ran the filter for the commands above.)
    std::fs::remove_file(&ran).ok();
    let task = "render_table drops rows";
    let out = t
        .cmd_on(&copy)
        .env("GIT_GLOB_PATHSPECS", "1")
        .args(["-v", "context", task, "--json"])
        .output()
        .expect("vibe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(", 1 changed and not committed,"),
        "{stderr}"
    );
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(paths(&j)[0], "src/epsilon.py", "{j}");
    assert_eq!(j.to_string().matches("not committed yet").count(), 1, "{j}");
    assert!(!ran.exists(), "the repository's clean filter ran");

    // Without a weight for recent changes, git is not asked, and `-v` does not say 0.
    let out = t
        .cmd_on(&copy)
        .env("VIBE_RANK_TUNE", "recent=0")
        .args(["-v", "context", task])
        .output()
        .expect("vibe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" read from git), rank "), "{stderr}");
    assert!(!stderr.contains("not committed"), "{stderr}");
}

/// Docs that past commits changed along with the code are lent less than the code: co-change
/// and history take the text prior, as the lexical score does.
#[test]
fn docs_changed_with_the_code_are_lent_less_than_the_code() {
    let t = Test::new();
    t.write(
        "src/scheduler.py",
        "def retry_stalled(timeout):\n    return timeout * 2\n",
    )
    .write("src/engine.py", "def run(jobs):\n    return jobs\n")
    .write("docs/engine.md", "# Engine\n\nRuns jobs.\n");
    commit_all(&t);
    let all = ["src/scheduler.py", "src/engine.py", "docs/engine.md"];
    change(&t, &all, "Tidy");
    change(&t, &all, "Rename");
    let task = "scheduler: retries stall after a timeout";
    let scores = |j: &Value| {
        let (code, doc) = (file(j, "src/engine.py"), file(j, "docs/engine.md"));
        (
            code["score"].as_f64().expect("a score"),
            doc["score"].as_f64().expect("a score"),
        )
    };
    // Co-change alone (recent commits changed all three alike; not counted here): both were
    // changed in both of the best file's commits.
    let j = context_tuned(&t, "recent=0", task);
    assert_eq!(paths(&j)[0], "src/scheduler.py", "{j}");
    for path in ["src/engine.py", "docs/engine.md"] {
        let reasons = file(&j, path)["reasons"].to_string();
        assert!(
            reasons.contains("changed together with src/scheduler.py in 2 of its 2")
                && !reasons.contains("changed by"),
            "{reasons}"
        );
    }
    let (code, doc) = scores(&j);
    assert!(
        doc < 0.4 * code && doc > 0.2 * code,
        "doc {doc}, code {code}: {j}"
    );

    // History: a commit like the task changed both; the code now leads the doc, which
    // without the prior would lead it (co-change lends it from the code as well).
    change(
        &t,
        &["src/engine.py", "docs/engine.md"],
        "engine: retries stall",
    );
    let j = context_tuned(&t, "recent=0", task);
    for path in ["src/engine.py", "docs/engine.md"] {
        let reasons = file(&j, path)["reasons"].to_string();
        assert!(
            reasons.contains("changed by 1 of the past commits"),
            "{reasons}"
        );
    }
    let (code, doc) = scores(&j);
    assert!(doc < code, "doc {doc}, code {code}: {j}");
    let (code, doc) = scores(&context_tuned(&t, "text=1,recent=0", task));
    assert!(doc > code, "without the prior: doc {doc}, code {code}");
}

/// A task's `component:` says where its past commits went: the files the task matches in
/// that directory come up, whatever file is named like the component.
#[test]
fn the_directory_a_components_past_commits_changed_comes_up() {
    let t = Test::new();
    t.write(
        "src/keysign.c",
        "int sign_expiry(int days) {\n    return days;\n}\n",
    )
    .write("src/util.c", "int clamp(int x) {\n    return x;\n}\n")
    .write("src/engine.c", "int start(void) {\n    return 0;\n}\n")
    .write("src/orphan.c", "int unrelated(void) {\n    return 1;\n}\n")
    .write(
        "lang/python/sign.py",
        "def sign_expiry(days):\n    # the expiry, in days\n    return days\n",
    )
    .write("lang/python/core.py", "def start():\n    pass\n");
    commit_all(&t);
    for (path, msg) in [
        ("src/util.c", "core: tidy"),
        ("src/engine.c", "core: rename"),
        ("src/util.c", "core: speed up"),
    ] {
        change(&t, &[path], msg);
    }
    let task = "core: allow an expiry date for signatures";
    let rank_of = |j: &Value, path: &str| {
        paths(j)
            .iter()
            .position(|p| p == path)
            .unwrap_or_else(|| panic!("{path} not ranked in {j}"))
    };
    let without = context_tuned(&t, "compdirs=0", task);
    assert!(
        rank_of(&without, "lang/python/sign.py") < rank_of(&without, "src/keysign.c"),
        "{without}"
    );
    let j = t.run(&["context", task, "--json"]).json();
    assert!(
        rank_of(&j, "src/keysign.c") < rank_of(&j, "lang/python/sign.py"),
        "{j}"
    );
    let reasons = file(&j, "src/keysign.c")["reasons"].to_string();
    assert!(
        reasons.contains("in src/, where past `core` commits made 3 of their 3 file changes"),
        "{reasons}"
    );
    let score = |j: &Value, path: &str| file(j, path)["score"].as_f64().expect("a score");
    let lift = score(&j, "src/keysign.c") - score(&without, "src/keysign.c");
    assert!((lift - 0.3).abs() < 1e-3, "{lift}");
    // A file in src/ with nothing of its own to show is not ranked for its directory alone.
    assert!(!paths(&j).contains(&"src/orphan.c".to_string()), "{j}");
    for path in ["lang/python/core.py", "lang/python/sign.py"] {
        let reasons = file(&j, path)["reasons"].to_string();
        assert!(!reasons.contains("component history"), "{reasons}");
    }
    // Without a component, or with history off, nothing of the kind.
    let j = t
        .run(&["context", "allow an expiry date for signatures", "--json"])
        .json();
    assert!(!j.to_string().contains("component history"), "{j}");
    let j = t
        .run(&["-c", "context.history=0", "context", task, "--json"])
        .json();
    assert!(!j.to_string().contains("component history"), "{j}");
}

/// Commits git will not read (a treeless clone cannot without fetching) leave the history
/// partial, and are not asked for again until HEAD moves.
#[test]
fn commits_git_cannot_read_are_not_asked_for_on_every_run() {
    let Some(real) = vibe::heal::tools::which("git", &[]) else {
        return;
    };
    let t = Test::new();
    // A ChangeLog does not stand in for the history git has and would not give (read in its
    // place, and git's asked for again, on every run).
    t.write(
        "src/layout.py",
        "def fit_rows(pane, rows):\n    return rows\n",
    )
    .write(
        "ChangeLog",
        "2022-04-15  A  <a@x.org>\n\n\tpanel: rows\n\t* src/layout.py: Rows.\n",
    );
    commit_all(&t);
    t.write(
        "src/layout.py",
        "def fit_rows(pane, rows):\n    return rows[:1]\n",
    );
    git(t.root(), &["commit", "-qam", "panel: fewer rows"]);
    // A git that logs its calls and refuses `log`.
    let bin = tempfile::tempdir().expect("temp dir");
    let calls = bin.path().join("calls");
    let wrapper = bin.path().join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \" $* \" in *\" log \"*) exit 128;; esac\nexec '{}' \"$@\"\n",
            calls.display(),
            real.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |expect: &str| {
        let _ = std::fs::remove_file(&calls);
        let out = t
            .cmd()
            .env("PATH", &path)
            .args(["-v", "context", "panel rows", "--json"])
            .output()
            .expect("vibe");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.contains(expect), "{stderr}");
        std::fs::read_to_string(&calls).unwrap_or_default()
    };
    let first = run("(0 commits, 0 read from git)");
    assert!(
        first.contains("rev-list") && first.contains("log "),
        "{first}"
    );
    // HEAD has not moved: nothing but HEAD is asked.
    let second = run("(0 commits, 0 read from git)");
    assert!(
        !second.contains("rev-list") && !second.contains("log "),
        "{second}"
    );
    // After a commit, the commits are asked for again.
    t.write(
        "src/layout.py",
        "def fit_rows(pane, rows):\n    return rows[:2]\n",
    );
    git(t.root(), &["commit", "-qam", "panel: two rows"]);
    let third = run("(0 commits, 0 read from git)");
    assert!(
        third.contains("rev-list") && third.contains("log "),
        "{third}"
    );
}

/// Words of one-letter and number parts (`u128`, `f1234`) match, alone or inside identifiers.
#[test]
fn letter_and_digit_words_match() {
    let t = Test::new();
    t.write(
        "src/ints.rs",
        "pub fn decode_u128(b: &[u8]) -> u128 {\n    0\n}\n",
    );
    t.write("src/nums.rs", "pub fn f1234() -> i64 {\n    1\n}\n");
    t.write(
        "src/other.rs",
        "pub fn unrelated() -> bool {\n    true\n}\n",
    );
    for (task, first) in [
        ("fix f1234", "src/nums.rs"),
        ("u128 values decode wrongly", "src/ints.rs"),
    ] {
        let j = t.run(&["context", task, "--json"]).json();
        assert_eq!(
            paths(&j).first().map(String::as_str),
            Some(first),
            "{task}: {j}"
        );
    }
}

#[test]
fn task_from_stdin_and_from_a_non_utf8_file() {
    let t = Test::fixture("python");
    // No task, `-`, and `--query-file -` read stdin.
    for args in [&[][..], &["-"][..], &["--query-file", "-"][..]] {
        let mut cmd = t.cmd();
        cmd.args(["context", "--json"]).args(args);
        let out = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().map(|mut s| s.write_all(b"helper doubles x"));
                c.wait_with_output()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{args:?}");
        let j: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(j["files"][0]["path"], "src/mypkg/util.py", "{args:?}: {j}");
    }

    // Invalid UTF-8 is replaced; UTF-16 with a byte-order mark (Notepad's "Unicode") is
    // decoded.
    let utf16: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(
            "helper doubles x\n"
                .encode_utf16()
                .flat_map(u16::to_be_bytes),
        )
        .collect();
    let from_file = |task: &[u8]| {
        t.write("task.txt", task);
        t.run(&[
            "context",
            "--query-file",
            &t.root().join("task.txt").display().to_string(),
            "--json",
        ])
        .json()
    };
    for task in [&b"helper \xff\xfe doubles x\n"[..], &utf16] {
        let j = from_file(task);
        assert_eq!(j["files"][0]["path"], "src/mypkg/util.py", "{j}");
        let reasons = j["files"][0]["reasons"].to_string();
        assert!(reasons.contains("helper"), "{reasons}");
    }
    // A file saved as "UTF-8 with BOM" (Notepad's default) names the file it starts with.
    let j = from_file("\u{feff}src/mypkg/util.py doubles x\n".as_bytes());
    assert_eq!(j["files"][0]["path"], "src/mypkg/util.py", "{j}");
    assert!(
        j["files"][0]["reasons"]
            .to_string()
            .contains("named in the task"),
        "{j}"
    );
    assert!(j.get("warnings").is_none(), "{j}");
}

#[test]
fn no_match_falls_back_to_the_map_ranking() {
    let t = Test::fixture("python");
    let j = t.run(&["context", "zzqx", "--json"]).json();
    let reasons = j["files"][0]["reasons"].to_string();
    assert!(reasons.contains("no file matches the task"), "{reasons}");
    assert_exact(&j, Encoding::O200kBase);
}

/// A file name in a terminal's colour codes (a CI log pasted as it came), in typographic
/// quotes or before a full stop of another script is named, its line kept; before, the
/// escape bytes and the quotes stuck to it and the test file came first.
#[test]
fn file_names_in_colour_codes_and_typographic_quotes_are_named() {
    let t = Test::new();
    t.write(
        "polls/models.py",
        "class Question:\n    def was_published_recently(self):\n        return True\n",
    )
    .write(
        "polls/tests.py",
        "from .models import Question\n\ndef test_q():\n    assert Question()\n",
    );
    for task in [
        "\x1b[1m\x1b[31mpolls/models.py\x1b[0m:3: AssertionError",
        "Fix the bug in “polls/models.py”.",
        "Fix the bug in \"polls/models.py\".",
        "Fix the bug in ‘models.py’",
        "修复 polls/models.py。",
        "«polls/models.py» est faux",
        // An OSC sequence without its end is only its two characters.
        "log cut \x1b]0;title then fix polls/models.py please",
    ] {
        let j = t.run(&["context", task, "--json"]).json();
        assert_eq!(j["files"][0]["path"], "polls/models.py", "{task}: {j}");
        let reasons = j["files"][0]["reasons"].to_string();
        assert!(reasons.contains("named in the task"), "{task}: {reasons}");
    }
    let j = t
        .run(&[
            "context",
            "\x1b[31mpolls/models.py\x1b[0m:3: AssertionError",
            "--json",
        ])
        .json();
    assert!(
        j["files"][0]["reasons"].to_string().contains("line 3"),
        "{j}"
    );
}

/// A repository's `.gitattributes` marks: a file marked `linguist-generated` or
/// `linguist-vendored` (by the root's file or a deeper one) counts as generated code does
/// (×0.2, the reason says which mark), one they unset the mark on is not discounted for its
/// path (`deps/`), and with nothing else matching, marked files come last.
#[test]
fn files_the_gitattributes_mark_generated_or_vendored_count_less() {
    let t = Test::new();
    let grammar = "def parse_grammar(tokens):\n    \"\"\"Parse the grammar's tokens into rules.\"\"\"\n    return tokens\n";
    t.write(
        ".gitattributes",
        "* text=auto\nsrc/grammar_tables.py linguist-generated=true\ndeps/** -linguist-vendored\n",
    )
    .write("src/grammar_tables.py", grammar)
    .write("src/grammar.py", grammar)
    .write("lib/.gitattributes", "old_grammar.py linguist-vendored\n")
    .write("lib/old_grammar.py", grammar)
    .write("deps/grammar/grammar_impl.py", grammar)
    .write("vendor/grammar/grammar_vendored.py", grammar);
    let j = t
        .run(&["context", "parse_grammar fails on empty rules", "--json"])
        .json();
    let reasons = |p: &str| {
        j["files"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["path"] == p))
            .map(|f| f["reasons"].to_string())
            .unwrap_or_else(|| panic!("{p} not ranked: {j}"))
    };
    assert!(
        reasons("src/grammar_tables.py")
            .contains("marked linguist-generated in .gitattributes (×0.2)"),
        "{j}"
    );
    assert!(
        reasons("lib/old_grammar.py").contains("marked linguist-vendored in .gitattributes (×0.2)"),
        "{j}"
    );
    assert!(
        !reasons("deps/grammar/grammar_impl.py").contains("×0.2"),
        "{j}"
    );
    assert!(
        reasons("vendor/grammar/grammar_vendored.py").contains("vendored or generated (×0.2)"),
        "{j}"
    );
    let ranked = paths(&j);
    let mut first: Vec<&str> = ranked[..2].iter().map(String::as_str).collect();
    first.sort_unstable();
    assert_eq!(
        first,
        ["deps/grammar/grammar_impl.py", "src/grammar.py"],
        "{j}"
    );
    // Nothing matches: the marked files come last, with the vendored one.
    let j = t.run(&["context", "zzqx", "--json"]).json();
    let ranked = paths(&j);
    let mut last: Vec<&str> = ranked[ranked.len() - 3..]
        .iter()
        .map(String::as_str)
        .collect();
    last.sort_unstable();
    assert_eq!(
        last,
        [
            "lib/old_grammar.py",
            "src/grammar_tables.py",
            "vendor/grammar/grammar_vendored.py"
        ],
        "{j}"
    );
}

/// When nothing matches, code the map does not parse is listed too: after the parsed files,
/// in path order, vendored code last; and in a repository of nothing else (Ruby here), it is
/// what comes, not "no source file is indexed".
#[test]
fn no_match_falls_back_to_code_the_map_does_not_parse_too() {
    let t = Test::new();
    t.write("lib/zoo.rb", "class Zoo\n  def open\n  end\nend\n")
        .write("app/models/animal.rb", "class Animal\nend\n")
        .write("app/vendor/rack.rb", "module Rack\nend\n")
        .write("README.md", "# Zoo\n");
    let j = t.run(&["context", "zzqx", "--json"]).json();
    assert_eq!(
        paths(&j),
        ["app/models/animal.rb", "lib/zoo.rb", "app/vendor/rack.rb"],
        "{j}"
    );
    assert!(
        j["files"][0]["reasons"]
            .to_string()
            .contains("code the map does not parse, listed by path"),
        "{j}"
    );
    assert_eq!(j["files"][1]["included"], "full", "{j}");
    assert_exact(&j, Encoding::O200kBase);

    // A file too large to fit whole comes as its head.
    let zoo = padded(
        "# The zoo: opens, feeds and closes.\nclass Zoo\n",
        150,
        |i| format!("  def feed_{i}(animal)\n    animal.eat({i})\n  end\n\n"),
        "end\n",
    );
    t.write("lib/zoo.rb", &zoo);
    let j = t
        .run(&["context", "zzqx", "--json", "--budget", "1500"])
        .json();
    let zoo = &j["files"][1];
    assert_eq!(zoo["path"], "lib/zoo.rb", "{j}");
    assert_eq!(zoo["included"], "partial", "{j}");
    let context = j["context"].as_str().unwrap_or_default();
    assert!(
        context.contains("lib/zoo.rb (lines 1-40 of 603, the rest elided)")
            && context.contains("# The zoo: opens, feeds and closes."),
        "{context}"
    );
    assert_exact(&j, Encoding::O200kBase);

    t.write("tools/gen.py", "def generate():\n    pass\n");
    let j = t.run(&["context", "zzqx", "--json"]).json();
    assert_eq!(paths(&j)[0], "tools/gen.py", "{j}");
    assert_eq!(paths(&j).len(), 4, "{j}");
}

/// A file with the same text as one ranked above it (a copy, the same file through a symlinked
/// directory) is shown once: the other comes as its path line, with the reason.
#[test]
fn the_same_text_is_shown_once() {
    let t = Test::new();
    let body = "def frobnicate_widget(w):\n    return w.frobnicate()\n";
    t.write("src/widget.py", body)
        .write("copies/widget.py", body)
        .write("other.py", "def unrelated():\n    pass\n");
    std::os::unix::fs::symlink("src", t.root().join("linked")).expect("symlink");
    let j = t.run(&["context", "frobnicate widget", "--json"]).json();
    let context = j["context"].as_str().unwrap_or_default();
    assert_eq!(
        context.matches("return w.frobnicate()").count(),
        1,
        "{context}"
    );
    let full: Vec<&Value> = j["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with("widget.py")))
        .collect();
    assert_eq!(full.len(), 3, "{j}");
    assert_eq!(full[0]["included"], "full", "{j}");
    let first = full[0]["path"].as_str().unwrap_or_default();
    for copy in &full[1..] {
        assert_eq!(copy["included"], "map", "{j}");
        assert!(
            copy["reasons"]
                .to_string()
                .contains(&format!("the same text as {first}, shown there")),
            "{copy}"
        );
        let path = copy["path"].as_str().unwrap_or_default();
        assert!(context.contains(&format!("\n{path}:\n")), "{context}");
    }
    assert_exact(&j, Encoding::O200kBase);
}

/// A file name's newline cannot forge a line in the budget error, and a path a pasted log
/// writes on every line is one warning, not one per line.
#[test]
fn odd_names_and_repeated_paths_in_errors_and_warnings() {
    let t = Test::new();
    t.write(
        "alpha\nerror: forged.py",
        "def alpha_handler():\n    return 1\n",
    );
    let r = t.run(&["context", "alpha_handler", "--budget", "3"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr().contains("\"alpha\\nerror: forged.py\""),
        "{}",
        r.stderr()
    );
    assert!(!r.stderr().contains("\nerror: forged"), "{}", r.stderr());
    assert!(
        r.stderr().contains("a budget of 3 tokens"),
        "{}",
        r.stderr()
    );
    let one = t.run(&["context", "alpha_handler", "--budget", "1"]);
    assert!(
        one.stderr().contains("a budget of 1 token is"),
        "{}",
        one.stderr()
    );

    let log: String = (1..=50)
        .map(|i| format!("build/gen.c:{i}:5: error: implicit declaration of alpha_handler\n"))
        .collect();
    let r = t.run(&["context", &log, "--json"]);
    let j = r.json();
    assert_eq!(j["warnings"].as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(
        r.stderr().matches("build/gen.c").count(),
        1,
        "{}",
        r.stderr()
    );
    // A log of many missing paths: the first twenty, and how many more.
    let log: String = (1..=50)
        .map(|i| format!("build/gen{i}.c:1: error\n"))
        .collect();
    let j = t.run(&["context", &log, "--json"]).json();
    let warnings = j["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 21, "{j}");
    assert_eq!(warnings[20], "… and 30 more warnings like these", "{j}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let t = Test::fixture("python");
    for (args, needle) in [
        (vec!["context", "   "], "the task is empty"),
        // Nothing a reader sees: a byte-order mark, zero-width spaces, control characters.
        (
            vec!["context", "\u{feff}\u{200b} \u{2060}\u{1}"],
            "the task is empty",
        ),
        (
            vec!["context", "x", "--budget", "0"],
            "the budget must be at least 1 token",
        ),
        (
            vec!["context", "helper", "--budget", "2"],
            "too small for even one file header",
        ),
        (
            vec!["context", "x", "--encoding", "p50k"],
            "--encoding p50k: unknown encoding",
        ),
        (
            vec!["context", "--query-file", "/nonexistent/task.txt"],
            "--query-file /nonexistent/task.txt",
        ),
        (
            vec!["tokens", "/nonexistent/file.py"],
            "/nonexistent/file.py",
        ),
    ] {
        let run = t.run(&args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(run.stderr().contains(needle), "{args:?}: {}", run.stderr());
        assert!(run.stdout().is_empty(), "{args:?}");
    }
    let mut cmd = t.cmd();
    let out = cmd
        .args(["context"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_changed_file_is_reindexed_before_ranking() {
    let t = Test::fixture("python");
    t.run(&["context", "helper", "--json"]).ok();
    t.write(
        "src/mypkg/extra.py",
        "def frobnicate_widgets():\n    return 1\n",
    );
    let j = t.run(&["context", "frobnicate_widgets", "--json"]).json();
    assert_eq!(j["files"][0]["path"], "src/mypkg/extra.py", "{j}");
    t.write("src/mypkg/extra.py", "def other():\n    return 2\n");
    let j = t.run(&["context", "frobnicate_widgets", "--json"]).json();
    assert_ne!(j["files"][0]["path"], "src/mypkg/extra.py", "{j}");
}

#[test]
fn a_tree_with_nothing_to_choose_from_says_so() {
    let t = Test::new();
    t.write("data.bin", b"\x00\x01\x02binary\x00");
    let run = t.run(&["context", "fix the parser"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.stdout(), "");
    assert!(
        run.stderr().contains("note: no file of") && run.stderr().contains("map --stats"),
        "{}",
        run.stderr()
    );
}

#[test]
fn at_a_small_budget_the_best_file_comes_before_those_ranked_below_it() {
    // big.py is the best file, but neither whole nor its matching definition fits the budget:
    // its signatures come in the first tier, before the small files ranked below it fill it
    // (they used to, leaving big.py a map line).
    let t = Test::new();
    let body = "    total = total + 1\n".repeat(300);
    let helpers: String = (0..20)
        .map(|i| format!("\n\ndef helper_{i}(value, count):\n    return value * count + {i}\n"))
        .collect();
    t.write(
        "big.py",
        format!(
            "def frobnicate_widget(total):\n    \"\"\"Frobnicate the widget.\"\"\"\n{body}    return total\n{helpers}"
        ),
    );
    for i in 0..6 {
        t.write(
            &format!("small_{i}.py"),
            format!(
                "# Frobnicate a widget, slowly.\nvalue_{i} = {i}\nitems_{i} = [value_{i}] * 3\nname_{i} = 'small number {i}'\n"
            ),
        );
    }
    let j = t
        .run(&["context", "frobnicate widget", "--budget", "400", "--json"])
        .json();
    let first = &j["files"][0];
    assert_eq!(first["path"], "big.py", "{}", j["files"]);
    assert_eq!(first["included"], "skeleton", "{}", j["files"]);
    let mine = first["tokens"].as_u64().unwrap_or(0);
    for f in j["files"].as_array().into_iter().flatten().skip(1) {
        assert!(f["tokens"].as_u64().unwrap_or(0) <= mine, "{}", j["files"]);
    }
    // With room for more, its block still comes first, before the files ranked below it
    // shown in full (helper 93: they came first).
    let j = t
        .run(&["context", "frobnicate widget", "--budget", "700", "--json"])
        .json();
    assert_eq!(j["files"][0]["included"], "skeleton", "{}", j["files"]);
    assert_eq!(j["files"][1]["included"], "full", "{}", j["files"]);
    let context = j["context"].as_str().unwrap_or_default();
    assert!(context.starts_with("big.py (signatures only"), "{context}");
}

#[test]
fn the_passage_holding_the_task_words_together_lifts_its_file() {
    // The same words, as often, in files of the same length: together in one 40-line passage
    // of z_near.py, spread over three in a_far.py. Only the passage score tells them apart
    // (a tie would go to a_far.py, first by path), from this run's analysis, from the index, or
    // analysed again when the index has none.
    let filler = "value = 0\n".repeat(50);
    let t = Test::new();
    t.write(
        "z_near.py",
        format!("# frobnicate\n# widget\n# cache\n{filler}{filler}"),
    );
    t.write(
        "a_far.py",
        format!("# frobnicate\n{filler}# widget\n{filler}# cache\n"),
    );
    let task = "frobnicate the widget cache";
    let first = t.run(&["context", task, "--json"]).json();
    assert_eq!(
        paths(&first)[..2],
        ["z_near.py", "a_far.py"],
        "{}",
        first["files"]
    );
    let again = t.run(&["context", task, "--json"]).json();
    assert_eq!(again, first, "passages read back from the index rank alike");
    // The index's passages gone (as when another run re-analysed the file after this one read
    // the lexicon): analysed again, the same.
    let conn = rusqlite::Connection::open(t.root().join(".vibe/index.db")).expect("index");
    assert_eq!(
        conn.execute("DELETE FROM lexicon_deep", [])
            .expect("delete"),
        2
    );
    drop(conn);
    let without = t.run(&["context", task, "--json"]).json();
    assert_eq!(without, first, "passages analysed again rank alike");
}

#[test]
fn the_file_graph_is_built_again_when_only_import_resolution_changes() {
    // main.ts imports `@lib/util`, which tsconfig.json's `paths` sends to a/ or to b/: editing
    // tsconfig.json changes no file's references, only where the import goes.
    let t = Test::new();
    let tsconfig = |dir: &str| {
        format!(
            "{{\"compilerOptions\": {{\"baseUrl\": \".\", \"paths\": {{\"@lib/*\": [\"{dir}/*\"]}}}}}}\n"
        )
    };
    t.write("tsconfig.json", tsconfig("a"));
    t.write(
        "main.ts",
        "import { helper } from \"@lib/util\";\n\nexport function validateIncomingPackets() {\n  return helper();\n}\n",
    );
    t.write("a/util.ts", "export function helper() {\n  return 1;\n}\n");
    t.write("b/util.ts", "export function helper() {\n  return 2;\n}\n");
    let run = || {
        let run = t.run(&["-v", "context", "validate incoming packets", "--json"]);
        let built = run.stderr().contains("file graph built");
        (built, run.json())
    };
    let score = |j: &Value, path: &str| file(j, path)["score"].clone();
    let (built, first) = run();
    assert!(built);
    assert!(!run().0, "kept");
    t.write("tsconfig.json", tsconfig("b"));
    let (built, after) = run();
    assert!(built, "the import edges changed");
    // The import's weight moved from a/util.ts to b/util.ts.
    assert_eq!(score(&first, "a/util.ts"), score(&after, "b/util.ts"));
    assert_eq!(score(&first, "b/util.ts"), score(&after, "a/util.ts"));
    assert_ne!(score(&first, "a/util.ts"), score(&first, "b/util.ts"));
}

#[test]
fn the_file_graph_is_kept_until_references_change() {
    let t = Test::new();
    t.write(
        "seed.py",
        "from zeta import zeta_sum\n\n\ndef validate_incoming_packets(p):\n    return zeta_sum(p)\n",
    );
    t.write("zeta.py", "def zeta_sum(values):\n    return sum(values)\n");
    t.write(
        "omega.py",
        "def omega_total(values):\n    return max(values)\n",
    );
    t.write("README.md", "# Packets\n");
    let task = "validate incoming packets";
    // (how the graph came, the ranking's files)
    let run = || {
        let run = t.run(&["-v", "context", task, "--json"]);
        let err = run.stderr();
        let how = if err.contains("file graph built") {
            "built"
        } else if err.contains("file graph read") {
            "read"
        } else {
            panic!("no file graph timing in {err}")
        };
        (how, run.json()["files"].clone())
    };
    let uses_seed = |files: &Value, path: &str| {
        files.as_array().into_iter().flatten().any(|f| {
            f["path"] == path
                && f["reasons"]
                    .to_string()
                    .contains("defines what seed.py uses")
        })
    };
    // A task that matches no file seeds no graph: none is read or built.
    let none = t.run(&["-v", "context", "qqzzxx", "--json"]).stderr();
    assert!(none.contains("file graph not needed"), "{none}");
    let (how, first) = run();
    assert_eq!(how, "built");
    assert!(uses_seed(&first, "zeta.py"), "{first}");
    let (how, again) = run();
    assert_eq!(
        (how, &again),
        ("read", &first),
        "the kept graph ranks alike"
    );
    // A comment changes no reference, a README no import: the graph is kept.
    t.write(
        "zeta.py",
        "# Sums.\ndef zeta_sum(values):\n    return sum(values)\n",
    );
    assert_eq!(run().0, "read");
    t.write("README.md", "# Packets\n\nValidated on arrival.\n");
    assert_eq!(run().0, "read");
    // Another call: the graph is built again, and the ranking follows it.
    t.write(
        "seed.py",
        "from omega import omega_total\n\n\ndef validate_incoming_packets(p):\n    return omega_total(p)\n",
    );
    let (how, files) = run();
    assert_eq!(how, "built");
    assert!(uses_seed(&files, "omega.py"), "{files}");
    assert!(!uses_seed(&files, "zeta.py"), "{files}");
    assert_eq!(run().0, "read");
    // A kept graph that does not read back (damaged, or of another format), or that holds a
    // negative weight (the push would never end), is built again.
    let db = t.root().join(".vibe/index.db");
    let damage = |change: &dyn Fn(&mut Vec<u8>)| {
        let conn = rusqlite::Connection::open(&db).expect("index");
        let mut data: Vec<u8> = conn
            .query_row("SELECT data FROM file_graph", [], |r| r.get(0))
            .expect("a kept graph");
        change(&mut data);
        conn.execute("UPDATE file_graph SET data = ?1", [data])
            .expect("damage");
    };
    damage(&|data| data.truncate(1));
    let (how, again) = run();
    assert_eq!((how, &again), ("built", &files));
    assert_eq!(run().0, "read");
    // The last weight's sign bit (weights are the blob's last bytes, little-endian f64).
    damage(&|data| {
        let last = data.len() - 1;
        data[last] |= 0x80;
    });
    let (how, again) = run();
    assert_eq!((how, &again), ("built", &files));
    assert_eq!(run().0, "read");
}

#[test]
fn tokens_counts_files_and_stdin_exactly() {
    let t = Test::new();
    t.write("a.txt", "hello world\n");
    t.write("b.bin", b"caf\xe9 ol\xe9\n");
    let j = t.run(&["tokens", "a.txt", "b.bin", "--json"]).json();
    let a = Encoding::O200kBase.count("hello world\n");
    let b = Encoding::O200kBase.count("caf\u{fffd} ol\u{fffd}\n");
    assert_eq!(j["encoding"], "o200k_base");
    assert_eq!(j["files"][0]["tokens"].as_u64(), Some(a as u64));
    assert_eq!(j["files"][1]["tokens"].as_u64(), Some(b as u64));
    assert_eq!(j["total"].as_u64(), Some((a + b) as u64));
    let text = t
        .run(&["tokens", "a.txt", "b.bin", "--encoding", "cl100k_base"])
        .ok();
    let a = Encoding::Cl100kBase.count("hello world\n");
    let b = Encoding::Cl100kBase.count("caf\u{fffd} ol\u{fffd}\n");
    assert_eq!(
        text,
        format!(
            "{a:>6}  a.txt\n{b:>6}  b.bin\n{:>6}  total (cl100k_base)\n",
            a + b
        )
    );
    // `vibe tokens -` with a file as its stdin.
    let from_stdin = |name: &str| {
        let out = t
            .cmd()
            .args(["tokens", "-"])
            .stdin(std::fs::File::open(t.root().join(name)).unwrap_or_else(|e| panic!("{e}")))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let a = Encoding::O200kBase.count("hello world\n");
    assert_eq!(from_stdin("a.txt"), format!("{a:>6}  -\n"));

    // UTF-16 with a byte-order mark (PowerShell's `>`) counts as the text it holds, from a
    // file and from stdin; `bytes` stays the file's size.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("hello world\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    t.write("w.txt", &utf16[..]);
    let j = t.run(&["tokens", "w.txt", "--json"]).json();
    assert_eq!(j["files"][0]["tokens"].as_u64(), Some(a as u64), "{j}");
    assert_eq!(j["files"][0]["bytes"].as_u64(), Some(26), "{j}");
    assert_eq!(from_stdin("w.txt"), format!("{a:>6}  -\n"));

    // A directory as stdin and a -C that does not exist are bad usage (so is the task read
    // from a directory given as stdin); a stdout that cannot be written is an error that says
    // so.
    let fails = |cmd: &mut std::process::Command, code: i32, needle: &str| {
        let out = cmd.output().expect("vibe runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{cmd:?}: {err}");
        assert!(err.contains(needle), "{cmd:?}: {err}");
    };
    for args in [&["tokens", "-"][..], &["context", "--query-file", "-"][..]] {
        let dir = std::fs::File::open(t.root()).expect("a directory opens");
        fails(t.cmd().args(args).stdin(dir), 2, "stdin (-) is a directory");
    }
    let absolute = t.root().join("a.txt");
    let absolute = absolute.to_str().expect("UTF-8 path");
    fails(
        std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
            .env("VIBE_HOME", t.home.path())
            .args(["-C", "/nonexistent/dir", "tokens", absolute]),
        2,
        "-C /nonexistent/dir: no such directory",
    );
    // A file is there, but is no directory (helper 98: "no such directory").
    fails(
        std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
            .env("VIBE_HOME", t.home.path())
            .args(["-C", absolute, "tokens", absolute]),
        2,
        &format!("-C {absolute}: not a directory"),
    );
    fails(
        t.cmd().args(["tokens", "a.txt"]).stdout(dev_full()),
        1,
        "error: cannot write to stdout: No space left",
    );
}

/// A directory counts the files under it that the map would read: ignored, excluded
/// (`map.exclude`), hidden and binary files are not counted, the binary ones listed as skipped.
/// A directory whose every file the walk leaves out (ignored, hidden) counts 0 with a note
/// that says why and what to do; an empty directory counts 0 quietly.
#[test]
fn tokens_of_a_directory_all_left_out_says_why() {
    let t = Test::new();
    git(t.root(), &["init", "-q"]);
    t.write(".gitignore", "*.log\n");
    t.write("logs/app.log", "1\n2\n3\n");
    std::fs::create_dir_all(t.root().join("empty")).unwrap_or_else(|e| panic!("{e}"));
    let r = t.run(&["tokens", "logs"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("0  total"), "{}", r.stdout());
    assert!(
        r.stderr().contains("logs: no file counted") && r.stderr().contains("name a file"),
        "{}",
        r.stderr()
    );
    let r = t.run(&["tokens", "empty"]);
    assert_eq!(r.stderr(), "");
    let r = t.run(&["tokens", "logs/app.log"]);
    assert!(!r.stdout().starts_with("     0"), "{}", r.stdout());
}

#[test]
fn tokens_counts_the_files_of_a_directory() {
    let t = Test::new();
    t.write("src/a.py", "def a():\n    return 1\n");
    t.write("src/sub/b.rs", "fn b() -> u8 { 2 }\n");
    t.write("src/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    t.write("src/.hidden.txt", "secret words\n");
    t.write("src/gen/out.js", "var x = 1;\n");
    t.write("src/gen/x.log", "a log\n");
    t.write(".gitignore", "gen/\n*.log\n");
    t.write("notes.txt", "some notes\n");
    let a = Encoding::O200kBase.count("def a():\n    return 1\n");
    let b = Encoding::O200kBase.count("fn b() -> u8 { 2 }\n");
    let n = Encoding::O200kBase.count("some notes\n");
    let j = t.run(&["tokens", "src/", "notes.txt", "--json"]).json();
    let files: Vec<(&str, u64)> = j["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["path"].as_str().unwrap_or_default(),
                        f["tokens"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        files,
        [
            ("src/a.py", a as u64),
            ("src/sub/b.rs", b as u64),
            ("notes.txt", n as u64)
        ],
        "{j}"
    );
    assert_eq!(j["total"].as_u64(), Some((a + b + n) as u64), "{j}");
    assert_eq!(
        j["skipped"],
        serde_json::json!([{"path": "src/logo.png", "reason": "binary"}]),
        "{j}"
    );
    // A file over map.max_file_size is not counted either.
    let j = t
        .run(&["-c", "map.max_file_size=20", "tokens", "src", "--json"])
        .json();
    assert_eq!(j["total"].as_u64(), Some(b as u64), "{j}");
    assert_eq!(
        j["skipped"],
        serde_json::json!([
            {"path": "src/a.py", "reason": "too_large"},
            {"path": "src/logo.png", "reason": "binary"}
        ]),
        "{j}"
    );
    // In text, the counts, and a note on stderr of what was not counted.
    let run = t.run(&["tokens", "src"]);
    assert_eq!(
        run.ok(),
        format!(
            "{a:>6}  src/a.py\n{b:>6}  src/sub/b.rs\n{:>6}  total (o200k_base)\n",
            a + b
        )
    );
    assert!(
        run.stderr()
            .contains("note: 1 binary file not counted (src/logo.png)"),
        "{}",
        run.stderr()
    );
    // map.exclude, relative to the repository, as for the map.
    let exclude = "map.exclude=[\"src/sub/\", \"*.png\", \"*.rs\"]";
    let run = t.run(&["-c", exclude, "tokens", "src"]);
    assert_eq!(run.ok(), format!("{a:>6}  src/a.py\n"));
    let run = t.run(&["-c", exclude, "tokens", "."]);
    assert_eq!(
        run.ok(),
        format!(
            "{n:>6}  notes.txt\n{a:>6}  src/a.py\n{:>6}  total (o200k_base)\n",
            a + n
        )
    );
    // A directory named is counted though the walk from the root would not go there, with
    // the repository's ignore files (`*.log`).
    let j = t.run(&["tokens", "src/gen", "--json"]).json();
    assert_eq!(j["files"][0]["path"], "src/gen/out.js", "{j}");
    assert_eq!(j["files"].as_array().map(Vec::len), Some(1), "{j}");
    let run = t.run(&["-c", "map.exclude=[\"src/sub/\"]", "tokens", "src/sub"]);
    assert_eq!(run.ok(), format!("{b:>6}  src/sub/b.rs\n"));
    // A directory outside the repository is counted without the patterns (`*.rs` would
    // leave nothing).
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(outside.path().join("src/sub")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(outside.path().join("src/sub/b.rs"), "fn b() -> u8 { 2 }\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = outside.path().join("src");
    let run = t.run(&["-c", exclude, "tokens", &dir.display().to_string()]);
    assert!(run.ok().ends_with("src/sub/b.rs\n"), "{}", run.ok());
    // So is one written with `..` through the repository (its text names the repository's
    // parent, whose walk would not go there).
    let name = outside.path().file_name().unwrap_or_default();
    let through = t.root().join("src/../..").join(name).join("src");
    let run = t.run(&["tokens", &through.display().to_string()]);
    assert!(run.ok().ends_with("src/sub/b.rs\n"), "{}", run.ok());
}

/// A file name that would break a block header apart (a newline, leading whitespace) is quoted,
/// in the context and in the map; a name that is not UTF-8 is still read; the budget holds.
#[test]
fn odd_file_names_are_quoted_and_read() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    t.write("bad\nname.py", "def parse_header(x):\n    return x\n");
    t.write(" lead.py", "def parse_header_lead(x):\n    return x\n");
    let latin = t.root().join(std::ffi::OsStr::from_bytes(b"caf\xe9.py"));
    std::fs::write(&latin, "def parse_header_latin(x):\n    return x\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let j = t.run(&["context", "parse header", "--json"]).json();
    let ctx = j["context"].as_str().unwrap_or("");
    for block in [
        "\"bad\\nname.py\"\n```python\ndef parse_header(x):",
        "\" lead.py\"\n```python\ndef parse_header_lead(x):",
        "caf\u{fffd}.py\n```python\ndef parse_header_latin(x):",
    ] {
        assert!(ctx.contains(block), "{block} not in\n{ctx}");
    }
    assert_exact(&j, Encoding::O200kBase);
    assert_eq!(file(&j, "bad\nname.py")["included"], "full", "{j}");
    let r = t.run(&["context", "parse header", "--explain"]);
    assert!(
        r.stderr().contains(". \"bad\\nname.py\"  score"),
        "{}",
        r.stderr()
    );
    let map = t.run(&["map"]).ok();
    assert!(
        map.contains("\"bad\\nname.py\":\n  def parse_header(x):"),
        "{map}"
    );
    assert!(map.contains("\" lead.py\":\n"), "{map}");
    // `vibe tokens` too; its JSON keeps the name.
    let counts = t.run(&["tokens", "bad\nname.py", " lead.py"]).ok();
    assert!(
        counts.contains("  \"bad\\nname.py\"\n") && counts.contains("  \" lead.py\"\n"),
        "{counts}"
    );
    let j = t.run(&["tokens", "--json", "bad\nname.py"]).json();
    assert_eq!(j["files"][0]["path"], "bad\nname.py", "{j}");
}

/// A budget with room for more files than the tiers used to try (24 whole, 48 as signatures)
/// holds them all: only files that do not fit count against a tier.
#[test]
fn a_large_budget_holds_every_file_that_fits() {
    let t = Test::new();
    for i in 0..100 {
        t.write(
            &format!("f{i:03}.py"),
            format!("def widget_{i}(x):\n    return x + {i}\n"),
        );
    }
    let j = t.run(&["context", "widget", "--json"]).json();
    let files = j["files"].as_array().cloned().unwrap_or_default();
    assert_eq!(files.len(), 100);
    let full = files.iter().filter(|f| f["included"] == "full").count();
    assert_eq!(full, 100, "{j}");
    assert_exact(&j, Encoding::O200kBase);
}

#[test]
fn an_empty_repository_gives_an_empty_context() {
    let t = Test::new();
    let j = t.run(&["context", "anything at all", "--json"]).json();
    assert_eq!(j["files"], serde_json::json!([]));
    assert_eq!(j["context"], "");
    assert_eq!(j["used_tokens"], 0);
}

#[test]
fn two_runs_at_once_both_finish_with_the_same_answer() {
    let t = Test::fixture("python");
    t.write("src/mypkg/frames.py", big_module(60));
    let spawn = || {
        t.cmd()
            .args(["context", "checksum_frame CRC", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
        b.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(a.stdout, b.stdout);
    let j: Value = serde_json::from_slice(&a.stdout).unwrap_or_default();
    assert_eq!(j["files"][0]["path"], "src/mypkg/frames.py", "{j}");
}
