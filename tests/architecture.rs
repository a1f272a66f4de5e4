//! Checks of the library's shape that no compiler makes: the modules of `session/src` import
//! each other one way only (no cycle, so each module can be read after the ones it uses), and
//! the crate root stays a short list of what an application writes.
//!
//! Both read the source as text: a module is a top-level file or folder of `session/src`; it
//! imports another where its non-test code names `crate::<other>`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use typed_sessions_tests::source::{library_source, walk, without_comments};

/// `text` without its `#[cfg(test)] mod name { ... }` blocks, and the names of the modules it
/// declares `#[cfg(test)] mod name;` (whose files are test code as a whole).
fn without_tests(text: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut test_files = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let Some(declared) = after.strip_prefix("mod ") else {
            out.push_str("#[cfg(test)]");
            rest = &rest[at + "#[cfg(test)]".len()..];
            continue;
        };
        let name: String = declared
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let body = declared[name.len()..].trim_start();
        if let Some(semicolon) = body.strip_prefix(';') {
            test_files.push(name);
            rest = semicolon;
            continue;
        }
        // Skip the block by matching braces.
        let open = body.find('{').expect("a test module has a body");
        let mut depth = 0;
        let mut end = body.len();
        for (i, c) in body.char_indices().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    (out, test_files)
}

/// The non-test code of a module, given as `src/<name>.rs` and/or the folder `src/<name>/`:
/// every file of it but those that their parent declares `#[cfg(test)] mod <file>;` (test code
/// as a whole).
fn module_sources(paths: &[PathBuf]) -> Vec<String> {
    let files = paths.iter().flat_map(|path| {
        if path.is_dir() {
            walk(path)
        } else {
            vec![path.clone()]
        }
    });
    let mut test_only = BTreeSet::new();
    let mut code = BTreeMap::new();
    for file in files {
        let (text, test_files) =
            without_tests(&without_comments(&fs::read_to_string(&file).unwrap()));
        // `x/mod.rs` declares files in `x/`; `x.rs` declares them in `x/`.
        let children = match file.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs") => file.parent().unwrap().to_path_buf(),
            _ => file.with_extension(""),
        };
        for name in test_files {
            test_only.insert(children.join(format!("{name}.rs")));
            test_only.insert(children.join(&name).join("mod.rs"));
        }
        code.insert(file, text);
    }
    code.into_iter()
        .filter(|(file, _)| !test_only.contains(file))
        .map(|(_, text)| text)
        .collect()
}

/// Module name → the modules its non-test code imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = library_source();
    // `x.rs` and the folder `x/` of its submodules are one module.
    let mut modules: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "lib") {
            modules.entry(name).or_default().push(path);
        }
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (name, paths) in &modules {
        let mut imports = BTreeSet::new();
        for code in module_sources(paths) {
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let targets: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    // `crate::{a::X, b::{Y, Z}, C}`: the first segment of each top-level path.
                    let mut depth = 0;
                    let end = group
                        .char_indices()
                        .find(|&(_, c)| {
                            match c {
                                '{' => depth += 1,
                                '}' if depth == 0 => return true,
                                '}' => depth -= 1,
                                _ => {}
                            }
                            false
                        })
                        .map_or(group.len(), |(i, _)| i);
                    let mut firsts = Vec::new();
                    let mut depth = 0;
                    let mut start = true;
                    for (i, c) in group[..end].char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            ',' if depth == 0 => start = true,
                            c if start && (c.is_alphanumeric() || c == '_') => {
                                let word: &str = group[i..]
                                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                                    .next()
                                    .unwrap();
                                firsts.push(word);
                                start = false;
                            }
                            _ => {}
                        }
                    }
                    firsts
                } else {
                    vec![
                        rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .next()
                            .unwrap(),
                    ]
                };
                for target in targets {
                    if names.contains(target) && target != name {
                        imports.insert(target.to_owned());
                    }
                }
            }
        }
        graph.insert(name.clone(), imports);
    }
    graph
}

/// A cycle through the graph, if there is one, as the list of modules around it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[test]
fn the_modules_of_the_library_import_each_other_one_way() {
    let graph = import_graph();
    assert!(graph.len() > 10, "found the library's modules: {graph:?}");
    assert!(
        graph["commit"].contains("backend") && graph["service"].contains("commit"),
        "the reader sees the request core's imports: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = graph
            .iter()
            .map(|(m, to)| {
                format!(
                    "{m} -> {}",
                    to.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "import cycle between the modules of session/src: {}\n\nall imports:\n{}",
            cycle.join(" -> "),
            edges.join("\n")
        );
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    graph.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn the_test_code_of_a_module_does_not_count() {
    let (code, files) = without_tests(
        "use crate::a;\n#[cfg(test)]\nmod tests { use crate::b; fn f() { {} } }\n#[cfg(test)]\nmod model;\nuse crate::c;",
    );
    assert!(
        code.contains("crate::a") && code.contains("crate::c"),
        "{code}"
    );
    assert!(!code.contains("crate::b"), "{code}");
    assert_eq!(files, ["model"]);
    assert_eq!(
        without_comments("a // crate::x\nb /* crate::y */ c \"//\""),
        "a \nb  c \"//\""
    );
}

/// The names the crate root exports: its `pub use` items and its exported macros.
fn root_names() -> Vec<String> {
    let lib = without_comments(&fs::read_to_string(library_source().join("lib.rs")).unwrap());
    let mut names = Vec::new();
    for item in lib.split(';') {
        let item = item.trim();
        let Some(start) = item.find("pub use ") else {
            continue;
        };
        if item[..start].contains("doc(hidden)") {
            continue;
        }
        let path = &item[start + "pub use ".len()..];
        let leaves: Vec<&str> = match path.split_once('{') {
            Some((_, group)) => group.trim_end_matches('}').split(',').collect(),
            None => vec![path],
        };
        for leaf in leaves {
            let leaf = leaf.trim();
            if leaf.is_empty() {
                continue;
            }
            let name = match leaf.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => leaf.rsplit("::").next().unwrap().trim(),
            };
            names.push(name.to_owned());
        }
    }
    for file in walk(&library_source()) {
        let code = fs::read_to_string(&file).unwrap();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("#[macro_export]") {
            rest = &rest[at..];
            let name = rest
                .split("macro_rules!")
                .nth(1)
                .and_then(|after| after.split_whitespace().next())
                .unwrap_or_default();
            names.push(format!("{}!", name.trim_end_matches('{').trim()));
            rest = &rest["#[macro_export]".len()..];
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_crate_root_holds_what_an_application_writes() {
    let names = root_names();
    for expected in ["Session", "SessionLayer", "Key", "Error", "MemoryStore"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for store_author_only in ["SessionStore", "Record", "Patch", "StoreKey", "ManualClock"] {
        assert!(
            !names.iter().any(|n| n == store_author_only),
            "{store_author_only} belongs in a module, not the root: {names:?}"
        );
    }
    assert!(
        names.len() <= 14,
        "the crate root exports {} names with every feature on (at most 14): {names:?}",
        names.len()
    );
}
