//! The layers of `docs/ARCHITECTURE.md`, checked from the source: `http → service → store`, with
//! `auth/` and `domain/` pure. Every `crate::…` and `super::…` path of every module is read and
//! resolved to the module it names; an arrow that runs back up, a handler, job or command that
//! opens the database itself, or a cycle between service modules, fails the test with the file and
//! the path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules with I/O (the database, the network, the runtime's state).
const IO: &[&str] = &["app", "cli", "delivery", "dns", "http", "jobs", "service", "store"];

/// Layers without I/O, importable by every other layer.
const PURE: &[&str] = &["auth", "domain", "changes", "clock", "limits"];

/// Folders of `service/` that group use cases by family; the cycle check looks one level inside.
const SERVICE_GROUPS: &[&str] = &["credentials", "org", "readers", "status"];

/// The service module a path lies in: `service::readers::views::data` → `readers::views`,
/// `service::audit` → `audit`.
fn service_unit(path: &[String]) -> Option<String> {
    let first = path.get(1)?;
    match path.get(2) {
        Some(inner) if SERVICE_GROUPS.contains(&first.as_str()) => Some(format!("{first}::{inner}")),
        _ => Some(first.clone()),
    }
}

/// What a layer must never import.
fn forbidden(layer: &str) -> &'static [&'static str] {
    match layer {
        "store" => &["app", "cli", "http", "jobs", "service"],
        "service" => &["cli", "http", "jobs"],
        "app" => &["cli", "http", "jobs", "service"],
        l if PURE.contains(&l) => IO,
        _ => &[],
    }
}

/// Crates that mean I/O, refused in the pure layers too.
const IO_CRATES: &[&str] = &["sqlx", "axum", "hyper", "tokio_rustls"];

/// `src/service/views/access.rs` → `["service", "views", "access"]`; `mod.rs` names its folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` module (tests may reach
/// across layers to set a scene).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Every module path a file names: `crate::a::b`, `super::x` (resolved against the file's own
/// module), and the groups of `use crate::{a, b::c}`.
fn paths_named(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        for (i, _) in code.match_indices(start) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':') {
                continue;
            }
            let mut base: Vec<String> = if start == "crate::" { Vec::new() } else { module.to_vec() };
            let mut rest = &code[i..];
            // Resolve any chain of `super::`.
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            rest = rest.strip_prefix("crate::").unwrap_or(rest);
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let path: Vec<String> = rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
            if rest[end..].starts_with('{') {
                // `use crate::x::{a, b::c}`: each member is a path below `x`.
                let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |j| end + j)];
                for member in group.split(',') {
                    let mut p = base.clone();
                    p.extend(path.iter().cloned());
                    p.extend(member.trim().split("::").map(str::to_string).filter(|s| !s.is_empty()));
                    out.push(p);
                }
            }
            let mut p = base;
            p.extend(path);
            out.push(p);
        }
    }
    out
}

#[test]
fn no_arrow_runs_back_up_and_no_service_modules_import_each_other_in_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "found only {} files under {}", files.len(), src.display());
    let mut violations = Vec::new();
    let mut service_graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(layer) = module.first().cloned() else { continue };
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let shown = file.strip_prefix(src.parent().unwrap()).unwrap().display().to_string();
        for path in paths_named(&module, &code) {
            let Some(target) = path.first() else { continue };
            if target != &layer && forbidden(&layer).contains(&target.as_str()) {
                violations.push(format!("{shown}: {layer} imports {}", path.join("::")));
            }
            if layer == "service" && target == "service" {
                if let (Some(from), Some(to)) = (service_unit(&module), service_unit(&path)) {
                    if from != to {
                        service_graph.entry(from.clone()).or_default().insert(to.clone());
                    }
                }
            }
        }
        // Handlers, jobs and commands reach data through services: they never open the database.
        if ["http", "jobs", "cli"].contains(&layer.as_str()) {
            for reach in ["db.pool", "db.begin(", "db.ping("] {
                if code.contains(reach) {
                    violations
                        .push(format!("{shown}: {layer} opens the database ({reach}) instead of calling a service"));
                }
            }
        }
        if PURE.contains(&layer.as_str()) {
            for krate in IO_CRATES {
                if code.contains(&format!("{krate}::")) {
                    violations.push(format!("{shown}: the pure layer {layer} uses {krate}"));
                }
            }
        }
    }
    for cycle in cycles(&service_graph) {
        violations.push(format!("service modules import each other: {}", cycle.join(" → ")));
    }
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
}

/// Every cycle of the graph, as one path that comes back to its start (each found once).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut c = stack[i..].to_vec();
            c.push(node.to_string());
            out.push(c);
            return;
        }
        if !done.insert(node.to_string()) {
            return;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            walk(graph, next, stack, done, out);
        }
        stack.pop();
    }
    let (mut out, mut done) = (Vec::new(), BTreeSet::new());
    for node in graph.keys() {
        walk(graph, node, &mut Vec::new(), &mut done, &mut out);
    }
    out
}

/// The checker itself: it must see an upward import, a `super::` that climbs out of a layer, a
/// grouped import and a cycle, or the test above could pass by seeing nothing.
#[test]
fn the_checker_sees_what_it_must_refuse() {
    let m = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
    let code = "use crate::http::site::esc;\nlet x = super::super::super::jobs::run();\nuse super::Scope;";
    let found = paths_named(&m("service::notify::mail"), code);
    assert_eq!(found, vec![m("http::site::esc"), m("jobs::run"), m("service::notify::Scope")]);
    let found = paths_named(&m("store::views"), "use crate::{service::views, domain::html};");
    assert!(found.contains(&m("service::views")) && found.contains(&m("domain::html")), "{found:?}");
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into_iter()
    .collect();
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string(), "a".to_string()]]);
    assert!(cycles(&BTreeMap::from([("a".to_string(), BTreeSet::from(["b".to_string()]))])).is_empty());
    assert!(forbidden("store").contains(&"service") && forbidden("service").contains(&"http"));
}
