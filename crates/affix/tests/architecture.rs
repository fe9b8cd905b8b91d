//! ARCHITECTURE.md stays true to the workspace: its codemap has one section per crate
//! directory, no more and no fewer, and every crate it names is a workspace member.

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
