//! The documents stay true to the code: ARCHITECTURE.md's codemap has one section per
//! crate directory, no more and no fewer, every crate it names is a workspace member, and
//! every test docs/trust-model.md names exists.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::path::Path;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

/// The crate names of the codemap's `### `name` …` headings.
fn codemap() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repository().join("ARCHITECTURE.md")).unwrap();
    let start = text.find("\n## Codemap\n").expect("a Codemap section");
    let section = &text[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    section[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .map(|l| l.split('`').next().unwrap().to_owned())
        .collect()
}

#[test]
fn codemap_has_one_section_per_crate_directory() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(repository().join("crates"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    let documented = codemap();
    let missing: Vec<_> = on_disk.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&on_disk).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's codemap is out of date: crates without a section {missing:?}, \
         sections without a crate {stale:?}"
    );
}

#[test]
fn every_crate_directory_is_a_workspace_member() {
    let manifest = std::fs::read_to_string(repository().join("Cargo.toml")).unwrap();
    for name in codemap() {
        assert!(
            manifest.contains(&format!("\"crates/{name}\"")),
            "crates/{name} is not listed in the workspace's members"
        );
    }
}

/// Every test that `docs/trust-model.md`'s threat table names exists, in the file it
/// names: a row cannot point at a test that was renamed or removed.
#[test]
fn trust_model_rows_name_tests_that_exist() {
    let text = std::fs::read_to_string(repository().join("docs/trust-model.md")).unwrap();
    let start = text.find("\n## Threats\n").expect("a Threats section");
    let mut named = 0;
    for row in text[start..].lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.split('|').collect();
        let Some(tests) = cells.get(cells.len().saturating_sub(2)) else {
            continue;
        };
        let mut file: Option<String> = None;
        for (i, token) in tests.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            if token.ends_with(".rs") {
                let path = repository().join("crates").join(token);
                assert!(path.is_file(), "{row}: no file crates/{token}");
                file = Some(std::fs::read_to_string(path).unwrap());
                continue;
            }
            let source = file
                .as_deref()
                .unwrap_or_else(|| panic!("{row}: {token} without a file"));
            let names: Vec<String> = match token.split_once('{') {
                Some((stem, rest)) => rest
                    .trim_end_matches('}')
                    .split(',')
                    .map(|suffix| format!("{stem}{suffix}"))
                    .collect(),
                None => vec![token.to_owned()],
            };
            for name in names {
                assert!(
                    source.contains(&format!("fn {name}(")),
                    "{row}: no test fn {name}"
                );
                named += 1;
            }
        }
    }
    assert!(named >= 10, "the table names {named} tests");
}
