//! The engine's shape, checked from its source text: the modules of `crates/session/src` import
//! each other without a circle (so each layer can be read, tested and changed knowing only the
//! layers below it), and no source file grows past 400 lines of non-test code.
//!
//! The module graph is built from `use crate::…` and `crate::…::` paths and from `super::` paths
//! in non-test code: comments, string literals and `#[cfg(test)]` items are ignored, and so is
//! the crate root (`lib.rs`), whose `mod` and `pub use` lines only assemble the public API. A
//! path to an item the root re-exports (`crate::Error`) counts as a path to the module that
//! defines it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Non-test lines a source file may have.
const MAX_LINES: usize = 400;

/// Files allowed to exceed [`MAX_LINES`] for now. Empty: a file that grows is split instead.
const SIZE_ALLOW_LIST: &[&str] = &[];

/// One source file: its module path (`""` for the crate root, `"a::b"` for `src/a/b.rs`), its
/// path relative to `src`, and its text.
struct Source {
    module: String,
    rel: String,
    text: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn collect(dir: &Path, base: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, base, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            out.push(Source {
                module: module_of(&rel),
                rel,
                text,
            });
        }
    }
}

/// `lib.rs` → `""`, `a.rs` and `a/mod.rs` → `"a"`, `a/b.rs` → `"a::b"`.
fn module_of(rel: &str) -> String {
    let stem = rel.strip_suffix(".rs").unwrap_or(rel);
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    if stem == "lib" || stem == "main" {
        String::new()
    } else {
        stem.replace('/', "::")
    }
}

fn sources() -> Vec<Source> {
    let base = src_dir();
    let mut out = Vec::new();
    collect(&base, &base, &mut out);
    assert!(
        out.iter().any(|s| s.module.is_empty()),
        "no lib.rs under {}",
        base.display()
    );
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The code of a file with comments blanked and string/char literals emptied (newlines kept).
fn strip_comments_and_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let prev_ident = i > 0 && is_ident(b[i - 1]);
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0usize;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == b'\n' {
                        out.push(b'\n');
                    }
                    i += 1;
                }
            }
            out.push(b' ');
        } else if c == b'r' && !prev_ident && matches!(b.get(i + 1), Some(b'"' | b'#')) {
            // A raw string r"…", r#"…"# (or an identifier starting with r followed by #).
            let mut j = i + 1;
            while b.get(j) == Some(&b'#') {
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            j += 1;
            loop {
                match b.get(j) {
                    None => break,
                    Some(b'"')
                        if b[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&h| h == b'#')
                            .count()
                            == hashes =>
                    {
                        j += 1 + hashes;
                        break;
                    }
                    Some(b'\n') => {
                        out.push(b'\n');
                        j += 1;
                    }
                    Some(_) => j += 1,
                }
            }
            out.extend_from_slice(b"\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    out.push(b'\n');
                }
                i += 1;
            }
            i += 1;
            out.extend_from_slice(b"\"\"");
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                out.extend_from_slice(b"' '");
                i = j + 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                out.extend_from_slice(b"' '");
                i += 3;
            } else if let Some(len) = std::str::from_utf8(&b[i + 1..])
                .ok()
                .and_then(|s| s.chars().next())
                .map(char::len_utf8)
                .filter(|&len| len > 1 && b.get(i + 1 + len) == Some(&b'\''))
            {
                out.extend_from_slice(b"' '");
                i += len + 2;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The end (exclusive) of the item starting at `start`: after its `;` or its balanced `{…}`.
fn item_end(code: &[u8], start: usize) -> usize {
    let mut i = start;
    // Further attributes first.
    loop {
        while i < code.len() && code[i].is_ascii_whitespace() {
            i += 1;
        }
        if code.get(i) == Some(&b'#') && code.get(i + 1) == Some(&b'[') {
            let mut depth = 0usize;
            while i < code.len() {
                match code[i] {
                    b'[' => depth += 1,
                    b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            break;
        }
    }
    let mut depth = 0usize;
    while i < code.len() {
        match code[i] {
            b';' if depth == 0 => return i + 1,
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && code[i] == b'}' {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    code.len()
}

const CFG_TEST: &str = "#[cfg(test)]";

/// Stripped code without its `#[cfg(test)]` items, and the names of child modules declared
/// test-only (`#[cfg(test)] mod x;`).
fn non_test_code(text: &str) -> (String, Vec<String>) {
    let code = strip_comments_and_literals(text);
    let bytes = code.as_bytes();
    let mut kept = String::with_capacity(code.len());
    let mut test_modules = Vec::new();
    let mut pos = 0;
    while let Some(found) = code[pos..].find(CFG_TEST) {
        let start = pos + found;
        kept.push_str(&code[pos..start]);
        let end = item_end(bytes, start + CFG_TEST.len());
        let item = &code[start + CFG_TEST.len()..end];
        let words: Vec<&str> = item
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        if let Some(at) = words.iter().position(|w| *w == "mod") {
            if item.trim_end().ends_with(';') {
                if let Some(name) = words.get(at + 1) {
                    test_modules.push((*name).to_owned());
                }
            }
        }
        pos = end;
    }
    kept.push_str(&code[pos..]);
    (kept, test_modules)
}

/// `path::to::{a, b::c, d as e}` → `[["path","to","a"], ["path","to","b","c"], ...]`, read from
/// the start of `s` (a path just after `crate::` or `super::`).
fn expand_paths(s: &str) -> Vec<Vec<String>> {
    fn parse(s: &[u8], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut segs = prefix.to_vec();
        loop {
            while *i < s.len() && s[*i].is_ascii_whitespace() {
                *i += 1;
            }
            if s.get(*i) == Some(&b'{') {
                *i += 1;
                loop {
                    while *i < s.len() && (s[*i].is_ascii_whitespace() || s[*i] == b',') {
                        *i += 1;
                    }
                    if *i >= s.len() || s[*i] == b'}' {
                        *i += 1;
                        return;
                    }
                    parse(s, i, &segs, out);
                    // Skip an `as name` or anything else up to the next entry.
                    let mut depth = 0usize;
                    while *i < s.len() {
                        match s[*i] {
                            b'{' => depth += 1,
                            b'}' if depth == 0 => break,
                            b'}' => depth -= 1,
                            b',' if depth == 0 => break,
                            _ => {}
                        }
                        *i += 1;
                    }
                }
            }
            let start = *i;
            while *i < s.len() && is_ident(s[*i]) {
                *i += 1;
            }
            if start == *i {
                out.push(segs);
                return;
            }
            segs.push(String::from_utf8_lossy(&s[start..*i]).into_owned());
            if s.get(*i) == Some(&b':') && s.get(*i + 1) == Some(&b':') {
                *i += 2;
            } else {
                out.push(segs);
                return;
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    parse(s.as_bytes(), &mut i, &[], &mut out);
    out
}

/// `pub use a::{X, Y as Z};` lines of the crate root: re-exported name → defining module.
fn root_reexports(root_code: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (at, _) in root_code.match_indices("pub use ") {
        let rest = &root_code[at + "pub use ".len()..];
        let end = rest.find(';').unwrap_or(rest.len());
        let stmt = &rest[..end];
        for path in expand_paths(stmt) {
            if let (Some(first), Some(last)) = (path.first(), path.last()) {
                if modules.contains(first) && path.len() > 1 {
                    map.insert(last.clone(), first.clone());
                }
            }
        }
        // `as` renames: `X as Y` makes `Y` the exported name.
        let words: Vec<&str> = stmt
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        for w in words.windows(3) {
            if w[1] == "as" {
                if let Some(module) = map.get(w[0]).cloned() {
                    map.insert(w[2].to_owned(), module);
                }
            }
        }
    }
    map
}

/// The module a path (segments after `crate::`) lands in: its longest prefix that is a module,
/// else the module defining a root re-export.
fn resolve(
    segs: &[String],
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    for n in (1..=segs.len()).rev() {
        let candidate = segs[..n].join("::");
        if modules.contains(&candidate) {
            return Some(candidate);
        }
    }
    segs.first().and_then(|first| reexports.get(first).cloned())
}

/// The module graph: module → the modules it uses (self-edges dropped).
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Builds the graph from `(path relative to src, file text)` pairs.
fn graph_from(files: &[(String, String)]) -> Graph {
    let parsed: Vec<(String, String, Vec<String>)> = files
        .iter()
        .map(|(rel, text)| {
            let (code, tests) = non_test_code(text);
            (module_of(rel), code, tests)
        })
        .collect();
    // Modules declared test-only, and everything under them, are not part of the engine.
    let test_only: BTreeSet<String> = parsed
        .iter()
        .flat_map(|(module, _, tests)| {
            tests.iter().map(move |t| {
                if module.is_empty() {
                    t.clone()
                } else {
                    format!("{module}::{t}")
                }
            })
        })
        .collect();
    let is_test_only = |m: &str| {
        test_only
            .iter()
            .any(|t| m == t || m.starts_with(&format!("{t}::")))
    };
    let modules: BTreeSet<String> = parsed
        .iter()
        .map(|(m, _, _)| m.clone())
        .filter(|m| !m.is_empty() && !is_test_only(m))
        .collect();
    let root_code = parsed
        .iter()
        .find(|(m, _, _)| m.is_empty())
        .map(|(_, c, _)| c.as_str())
        .unwrap_or("");
    let reexports = root_reexports(root_code, &modules);
    let mut graph = Graph::new();
    for (module, code, _) in &parsed {
        if !modules.contains(module) {
            continue;
        }
        let edges = graph.entry(module.clone()).or_default();
        let bytes = code.as_bytes();
        for keyword in ["crate::", "super::"] {
            for (at, _) in code.match_indices(keyword) {
                if at > 0 && is_ident(bytes[at - 1]) {
                    continue;
                }
                let mut base: Vec<String> = Vec::new();
                let mut rest = &code[at + keyword.len()..];
                if keyword == "super::" {
                    base = module.split("::").map(str::to_owned).collect();
                    base.pop();
                    while let Some(more) = rest.strip_prefix("super::") {
                        base.pop();
                        rest = more;
                    }
                }
                for path in expand_paths(rest) {
                    let full: Vec<String> = base.iter().cloned().chain(path).collect();
                    if let Some(target) = resolve(&full, &modules, &reexports) {
                        if target != *module {
                            edges.insert(target);
                        }
                    }
                }
            }
        }
    }
    graph
}

/// Tarjan's strongly connected components with more than one module, each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            if let Some(edges) = self.graph.get(v) {
                for w in edges {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.on_stack.contains(w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

/// One concrete circle through `component` (shortest from its first module back to itself).
fn one_circle(graph: &Graph, component: &[String]) -> Vec<String> {
    let members: BTreeSet<&str> = component.iter().map(String::as_str).collect();
    let start = component[0].as_str();
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !members.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![v.to_owned()];
                let mut at = v;
                while at != start {
                    at = prev[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                path.push(start.to_owned());
                return path;
            }
            if !prev.contains_key(w) && w != start {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    component.to_vec()
}

fn cycle_report(graph: &Graph) -> Option<String> {
    let found = cycles(graph);
    if found.is_empty() {
        return None;
    }
    let mut report =
        String::from("the modules of crates/session/src import each other in a circle:");
    for component in &found {
        report.push_str(&format!(
            "\n  {} modules in one circle: {}\n    e.g. {}",
            component.len(),
            component.join(", "),
            one_circle(graph, component).join(" -> ")
        ));
        let members: BTreeSet<&String> = component.iter().collect();
        let inside: Vec<String> = component
            .iter()
            .flat_map(|from| {
                graph[from]
                    .iter()
                    .filter(|to| members.contains(to))
                    .map(move |to| format!("{from} -> {to}"))
            })
            .collect();
        report.push_str(&format!("\n    imports inside it: {}", inside.join(", ")));
    }
    Some(report)
}

fn engine_graph() -> Graph {
    let files: Vec<(String, String)> = sources().into_iter().map(|s| (s.rel, s.text)).collect();
    graph_from(&files)
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = engine_graph();
    assert!(graph.len() > 10, "too few modules found: {graph:?}");
    if let Some(report) = cycle_report(&graph) {
        panic!("{report}");
    }
    // The layering, bottom first (shown with `--nocapture`).
    let mut level: BTreeMap<&str, usize> = BTreeMap::new();
    while level.len() < graph.len() {
        for (module, uses) in &graph {
            if !level.contains_key(module.as_str())
                && uses.iter().all(|u| level.contains_key(u.as_str()))
            {
                let l = uses
                    .iter()
                    .map(|u| level[u.as_str()] + 1)
                    .max()
                    .unwrap_or(0);
                level.insert(module, l);
            }
        }
    }
    let top = level.values().copied().max().unwrap_or(0);
    for l in 0..=top {
        let at: Vec<&str> = level
            .iter()
            .filter(|(_, v)| **v == l)
            .map(|(m, _)| *m)
            .collect();
        println!("layer {l}: {}", at.join(", "));
    }
}

/// Lines of a file before its test module: the first `#[cfg(test)]` that introduces a `mod`
/// (a `#[cfg(test)]` on a single import or function further up does not end the count).
fn non_test_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let starts_test_module = |at: usize| {
        lines[at].trim() == CFG_TEST
            && lines[at + 1..]
                .iter()
                .map(|l| l.trim())
                .find(|l| !l.is_empty() && !l.starts_with("#["))
                .is_some_and(|l| {
                    l.split_whitespace()
                        .find(|w| !w.starts_with("pub"))
                        .is_some_and(|w| w == "mod")
                })
    };
    (0..lines.len())
        .find(|&at| starts_test_module(at))
        .unwrap_or(lines.len())
}

#[test]
fn no_source_file_is_over_400_lines() {
    let all = sources();
    let files: Vec<(String, String)> = all
        .iter()
        .map(|s| (s.rel.clone(), s.text.clone()))
        .collect();
    let engine: BTreeSet<String> = graph_from(&files).into_keys().collect();
    let mut over: Vec<String> = all
        .iter()
        .filter(|s| s.module.is_empty() || engine.contains(&s.module))
        .filter(|s| !SIZE_ALLOW_LIST.contains(&s.rel.as_str()))
        .filter_map(|s| {
            let n = non_test_lines(&s.text);
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", s.rel))
        })
        .collect();
    over.sort();
    assert!(
        over.is_empty(),
        "source files over {MAX_LINES} lines before their tests (split them): {}",
        over.join(", ")
    );
}

// The checks themselves, on made-up sources.

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect()
}

#[test]
fn a_planted_cycle_is_found_and_named() {
    let graph = graph_from(&files(&[
        (
            "lib.rs",
            "mod a; mod b; mod c; mod d;\n#[cfg(test)]\nmod t;\npub use c::Thing;",
        ),
        ("a.rs", "use crate::b::X;\nfn f() { crate::d::g(); }"),
        ("b.rs", "use crate::{d, Thing};"),
        ("c.rs", "pub struct Thing; use super::a;"),
        ("d.rs", "// use crate::a;\nconst S: &str = \"crate::a::x\";\n#[cfg(test)]\nmod tests { use crate::a; }"),
        ("t.rs", "use crate::a;"),
    ]));
    assert!(!graph.contains_key("t"), "{graph:?}");
    assert_eq!(
        graph["a"],
        ["b", "d"].iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(
        graph["b"],
        ["c", "d"].iter().map(|s| s.to_string()).collect()
    );
    assert!(graph["d"].is_empty(), "{graph:?}");
    let report = cycle_report(&graph).expect("a -> b -> c -> a");
    assert!(report.contains("a, b, c"), "{report}");
    assert!(report.contains("a -> b -> c -> a"), "{report}");
}

#[test]
fn an_acyclic_graph_passes() {
    let graph = graph_from(&files(&[
        ("lib.rs", "pub mod a; pub mod b;"),
        ("a.rs", "use crate::b::{self, Y as Z};"),
        (
            "b.rs",
            "pub struct Y; pub(crate) fn f<'a>(x: &'a str) -> char { 'x' }",
        ),
    ]));
    assert_eq!(cycle_report(&graph), None);
}

#[test]
fn lines_are_counted_up_to_the_test_module() {
    let text = "a\n#[cfg(test)]\nuse x;\nb\n#[cfg(test)]\n#[allow(unused)]\nmod tests {\n}\n";
    assert_eq!(non_test_lines(text), 4);
    assert_eq!(non_test_lines("a\nb\n"), 2);
    assert_eq!(non_test_lines("a\n#[cfg(test)]\npub(crate) mod t;\n"), 1);
}
