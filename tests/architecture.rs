//! The house rules of ARCHITECTURE.md, read from the source itself: layers
//! only point down, modules import each other in no circle, repos stand on
//! the ground, files stay short, and the page names every part of `src/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What sits above the domain, named the way an import would name it.
const ABOVE_DOMAIN: &[&str] = &[
    "crate::app",
    "crate::api",
    "crate::http",
    "crate::cli",
    "crate::web",
    "AppState",
    "rocket::Request",
    "rocket::request",
    "rocket::Shutdown",
];

/// Fails with every finding, one a line.
fn assert_none(found: &[String], what: &str) {
    assert!(found.is_empty(), "{what}:\n{}", found.join("\n"));
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The code lines of every file of `modules` (top-level names: `db`,
/// `error`), comments left out.
fn code_lines(modules: &[&str]) -> Vec<(String, usize, String)> {
    let mut lines = Vec::new();
    for module in modules {
        let dir = src().join(module);
        let path = if dir.is_dir() {
            dir
        } else {
            src().join(format!("{module}.rs"))
        };
        for file in rust_files(&path) {
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file.strip_prefix(src()).unwrap().display().to_string();
            for (n, line) in text.lines().enumerate() {
                if !line.trim_start().starts_with("//") {
                    lines.push((name.clone(), n + 1, line.to_string()));
                }
            }
        }
    }
    lines
}

#[test]
fn the_domain_and_the_ground_never_reach_up() {
    let mut found = Vec::new();
    for (file, n, line) in code_lines(&LAYERS[..=2].concat()) {
        for above in ABOVE_DOMAIN {
            if names(&line, above) {
                found.push(format!("src/{file}:{n}: {}", line.trim()));
            }
        }
    }
    assert_none(&found, "imports from above");
}

/// Whether `line` names `path` itself, not a longer name it begins
/// (`crate::web` is not `crate::webhooks`).
fn names(line: &str, path: &str) -> bool {
    line.match_indices(path).any(|(at, _)| {
        line[at + path.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

#[test]
fn files_stay_short_and_main_stays_thin() {
    let mut long = Vec::new();
    for file in rust_files(&src()) {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        let limit = if name == "main.rs" { 150 } else { 500 };
        if lines > limit {
            long.push(format!("src/{name}: {lines} lines (limit {limit})"));
        }
    }
    assert_none(&long, "split these by what they do");
}

#[test]
fn the_rules_catch_what_they_guard_against() {
    assert_eq!(
        crate_paths_in("use crate::app::AppState; crate::users::repo", ""),
        ["app::AppState", "users::repo"]
    );
    assert!(ABOVE_DOMAIN
        .iter()
        .any(|a| names("use crate::http::query::Pagination;", a)));
    assert!(names("use crate::web::Assets;", "crate::web"));
    assert!(!names("use crate::webhooks::repo;", "crate::web"));
}

/// Every module of the library (`tickets::repo`, `users`, ...) and the
/// modules it imports, tests left out.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut sources = BTreeMap::new();
    for file in rust_files(&src()) {
        let rel = file.strip_prefix(src()).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let is_dir_module = parts.last().is_some_and(|p| p == "mod");
        if is_dir_module {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .to_string();
        // `super::` names the parent of this module.
        let parent = parts[..parts.len() - 1].join("::");
        sources.insert(parts.join("::"), (parent, code));
    }
    let resolve = |path: &str| {
        let mut parts: Vec<&str> = path.split("::").collect();
        while !parts.is_empty() {
            let name = parts.join("::");
            if sources.contains_key(&name) {
                return Some(name);
            }
            parts.pop();
        }
        None
    };
    let mut graph = BTreeMap::new();
    for (module, (parent, code)) in &sources {
        let mut deps = BTreeSet::new();
        for statement in statements(code) {
            for path in crate_paths_in(&statement, parent) {
                if let Some(dep) = resolve(&path) {
                    // A module may use its own children.
                    if dep != *module && !module.starts_with(&format!("{dep}::")) {
                        deps.insert(dep);
                    }
                }
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// The code as statements: a `use` spread over lines becomes one line;
/// comments are left out.
fn statements(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        if let Some(mut statement) = open.take() {
            statement.push_str(line);
            if line.ends_with(';') {
                out.push(statement);
            } else {
                open = Some(statement);
            }
        } else if (line.starts_with("use ") || line.starts_with("pub use ")) && !line.ends_with(';')
        {
            open = Some(line.to_string());
        } else {
            out.push(line.to_string());
        }
    }
    out
}

/// The module paths a statement names through `crate::` or `super::`
/// (relative to `parent`), with `{a, b::c}` groups spelled out.
fn crate_paths_in(statement: &str, parent: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", ""), ("super::", parent)] {
        for (i, _) in statement.match_indices(prefix) {
            let before = &statement[..i];
            if before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for path in expand(&statement[i + prefix.len()..]) {
                paths.push(if base.is_empty() {
                    path
                } else {
                    format!("{base}::{path}")
                });
            }
        }
    }
    paths
}

/// `a::{b, c::d}` -> `a::b`, `a::c::d`; a plain path is read up to its end.
fn expand(text: &str) -> Vec<String> {
    let head: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let rest = &text[head.len()..];
    let head = head.trim_end_matches(':').to_string();
    if !rest.starts_with('{') {
        return vec![head];
    }
    let mut depth = 0;
    let mut items = Vec::new();
    let mut item = String::new();
    for c in rest.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    items.push(std::mem::take(&mut item));
                    break;
                }
            }
            ',' if depth == 1 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty() && *i != "self")
        .flat_map(expand)
        .map(|tail| {
            if head.is_empty() {
                tail
            } else {
                format!("{head}::{tail}")
            }
        })
        .chain(std::iter::once(head.clone()).filter(|h| !h.is_empty()))
        .collect()
}

/// A circle of imports through `from`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let last = path.last().unwrap().clone();
        for dep in graph.get(&last).into_iter().flatten() {
            if dep == from {
                return true;
            }
            if seen.insert(dep.clone()) {
                path.push(dep.clone());
                if walk(graph, from, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.to_string()];
    let mut seen = BTreeSet::new();
    walk(graph, from, &mut path, &mut seen).then_some(path)
}

/// The layers from the ground up; a module may import its own layer and those
/// below. Named by the first part of the module path.
const LAYERS: &[&[&str]] = &[
    &[
        "db", "config", "error", "ids", "paging", "actor", "markdown", "net",
    ],
    &["auth"],
    &[
        "users",
        "attachments",
        "replies",
        "ratings",
        "reports",
        "tickets",
        "portal",
        "notify",
        "mail",
        "events",
        "audit",
        "settings",
        "sla",
        "maintenance",
        "demo",
        "metrics",
        "queue",
        "webhooks",
        "suggest",
    ],
    &["state"],
    &["http"],
    &["api"],
    &["app", "web"],
    &["cli"],
];

fn layer_of(module: &str) -> usize {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top))
        .unwrap_or_else(|| {
            panic!("src/{top} belongs to no layer: add it to LAYERS and ARCHITECTURE.md")
        })
}

#[test]
fn layers_point_down() {
    let mut found = Vec::new();
    for (module, deps) in module_graph() {
        for dep in deps {
            if layer_of(&dep) > layer_of(&module) {
                found.push(format!("{module} -> {dep}"));
            }
        }
    }
    assert_none(&found, "imports that point up");
}

#[test]
fn modules_import_each_other_in_no_circle() {
    let graph = module_graph();
    assert!(
        graph.len() > 40,
        "the graph covers the library: {}",
        graph.len()
    );
    assert!(
        graph["tickets::service"].contains("db"),
        "imports are found"
    );
    for module in graph.keys() {
        if let Some(circle) = circle(&graph, module) {
            panic!("a circle of imports: {} -> {module}", circle.join(" -> "));
        }
    }
    let mut made_up = graph.clone();
    made_up
        .get_mut("db")
        .unwrap()
        .insert("tickets::service".into());
    assert!(
        circle(&made_up, "db").is_some(),
        "a made-up circle is found"
    );
}

#[test]
fn repos_import_only_the_ground_and_their_own_types() {
    let ground = LAYERS[0];
    let mut found = Vec::new();
    for (module, deps) in module_graph() {
        let Some(folder) = module.strip_suffix("::repo") else {
            continue;
        };
        for dep in deps {
            let own = dep == folder || dep.starts_with(&format!("{folder}::"));
            if !own && !ground.contains(&dep.split("::").next().unwrap_or_default()) {
                found.push(format!("{module} -> {dep}"));
            }
        }
    }
    assert_none(&found, "repos reaching past the ground");
}

#[test]
fn architecture_md_names_every_part_of_the_code() {
    let text = std::fs::read_to_string(src().join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (module, shown) = if path.is_dir() {
            (name.clone(), format!("{name}/"))
        } else if let Some(stem) = name.strip_suffix(".rs") {
            (stem.to_string(), name.clone())
        } else {
            continue;
        };
        if module == "lib" || module == "main" {
            continue;
        }
        layer_of(&module);
        if !text.contains(&shown) {
            missing.push(shown);
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not place: {missing:?}"
    );
}
