//! Checks of the library's documentation that rustdoc does not make: the README's quick start is
//! the crate's documentation example (which runs as a doctest), and every public item of the
//! library shows how it is used in an `# Examples` section (which rustdoc compiles).

use std::fs;

use typed_sessions_tests::source::{repository, walk};

/// The first `rust` code block after `marker` in `text`, with `prefix` stripped per line.
fn first_rust_block(text: &str, marker: &str, prefix: &str) -> String {
    let start = text.find(marker).expect("marker present");
    let lines: Vec<&str> = text[start..]
        .lines()
        .map(|line| {
            line.strip_prefix(prefix)
                .unwrap_or(line.trim_end_matches(prefix.trim_end()))
        })
        .collect();
    let open = lines
        .iter()
        .position(|l| *l == "```rust")
        .expect("a rust block");
    let close = open
        + lines[open..]
            .iter()
            .position(|l| *l == "```")
            .expect("block end");
    lines[open + 1..close].join("\n")
}

#[test]
fn readme_quick_start_is_the_crate_doctest() {
    let root = repository();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let lib = fs::read_to_string(root.join("session/src/lib.rs")).unwrap();
    assert_eq!(
        first_rust_block(&readme, "## Quick start", ""),
        first_rust_block(&lib, "# Quick start", "//! "),
        "README's quick start and the crate doc example differ"
    );
}

/// The public items of `code` (`pub fn`, `pub struct`, ... and the methods of a `pub trait`)
/// whose documentation has no `# Examples` section, as `line: item`. Test modules, files that
/// are test code as a whole and `#[doc(hidden)]` items are skipped.
fn undocumented(code: &str) -> Vec<String> {
    let lines: Vec<&str> = code.lines().collect();
    let mut missing = Vec::new();
    let mut in_pub_trait = false;
    let mut trait_depth = 0i32;
    let mut depth = 0i32;
    let mut skip_until_depth: Option<i32> = None;
    let mut pending_cfg_test = false;
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if let Some(until) = skip_until_depth {
            depth += brace_delta(line);
            if depth <= until {
                skip_until_depth = None;
            }
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
        } else if pending_cfg_test && trimmed.starts_with("mod ") {
            pending_cfg_test = false;
            if trimmed.ends_with('{') {
                skip_until_depth = Some(depth);
                depth += brace_delta(line);
                continue;
            }
        } else if !trimmed.starts_with("#[") && !trimmed.is_empty() {
            pending_cfg_test = false;
        }
        let item = trimmed
            .strip_prefix("pub ")
            .map(|rest| rest.strip_prefix("async ").unwrap_or(rest))
            .map(|rest| rest.strip_prefix("const ").unwrap_or(rest));
        let is_item = match item {
            Some(rest) => ["fn ", "struct ", "enum ", "trait ", "type ", "const "]
                .iter()
                .any(|kind| rest.starts_with(kind)),
            // A method declared in a public trait.
            None => in_pub_trait && trimmed.starts_with("fn ") && depth == trait_depth + 1,
        };
        if is_item && !documented(&lines, index) {
            missing.push(format!(
                "{}: {}",
                index + 1,
                trimmed.trim_end_matches('{').trim()
            ));
        }
        if trimmed.starts_with("pub trait ") {
            in_pub_trait = true;
            trait_depth = depth;
        }
        depth += brace_delta(line);
        if in_pub_trait && depth <= trait_depth && line.contains('}') {
            in_pub_trait = false;
        }
    }
    missing
}

fn brace_delta(line: &str) -> i32 {
    let code = line.split("//").next().unwrap_or_default();
    let code: String = code.split('"').step_by(2).collect();
    code.matches('{').count() as i32 - code.matches('}').count() as i32
}

/// Whether the doc comment above `lines[index]` (attributes skipped) has an `# Examples`
/// section, or the item is hidden from the documentation.
fn documented(lines: &[&str], index: usize) -> bool {
    let mut docs = Vec::new();
    for line in lines[..index].iter().rev() {
        let line = line.trim_start();
        if line.starts_with("#[doc(hidden)]") {
            return true;
        }
        if let Some(doc) = line.strip_prefix("///") {
            docs.push(doc.trim());
        } else if !line.starts_with("#[") && !line.starts_with("#![") {
            break;
        }
    }
    docs.contains(&"# Examples")
}

#[test]
fn every_public_item_has_an_example() {
    let source = repository().join("session/src");
    let mut missing = Vec::new();
    for file in walk(&source) {
        let code = fs::read_to_string(&file).unwrap();
        // `__private` is for generated code only (doc-hidden, not public API).
        let code = code.split("pub mod __private").next().unwrap();
        for item in undocumented(code) {
            let file = file.strip_prefix(&source).unwrap().display();
            missing.push(format!("session/src/{file}:{item}"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} public items have no `# Examples` section in their docs:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn the_examples_check_sees_items_and_sections() {
    let code = "/// Docs.\n///\n/// # Examples\n///\n/// ```\n/// ```\npub fn shown() {}\n\n/// Docs.\n#[must_use]\npub fn bare() {}\n\npub trait T {\n    /// # Examples\n    fn a();\n    fn b();\n}\n\n#[cfg(test)]\nmod tests {\n    pub fn in_test() {}\n}\n\n#[doc(hidden)]\npub fn hidden() {}\n";
    assert_eq!(
        undocumented(code),
        ["11: pub fn bare() {}", "13: pub trait T", "16: fn b();"]
    );
}
