//! The SQLite and PostgreSQL migrations describe one schema: the two trees hold the same
//! files, and each pair is equal once the type spellings of the two engines are mapped
//! onto each other and the header comment (which names the engine) is set aside.
//!
//! A change made to one tree only, or a column typed differently, fails here; a new
//! engine-specific spelling belongs in [`SUBSTITUTIONS`], with the reason.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

/// PostgreSQL spelling → SQLite spelling, applied to whole words of the PostgreSQL text.
const SUBSTITUTIONS: &[(&str, &str)] = &[
    // Byte strings.
    ("BYTEA", "BLOB"),
    // An auto-incrementing 64-bit key: SQLite's INTEGER PRIMARY KEY is the rowid (64
    // bits); AUTOINCREMENT keeps it from reusing the numbers of deleted rows, as a
    // sequence does.
    ("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT"),
];

fn tree(engine: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine)
}

fn files(engine: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(tree(engine))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// The text without its header comment (the `--` lines before the first statement),
/// line by line with trailing blanks trimmed.
fn body(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim_start().starts_with("--") || l.trim().is_empty())
        .map(|l| l.trim_end().to_owned())
        .collect()
}

/// Replaces `from` with `to` where `from` stands as whole words.
fn replace_words(line: &str, from: &str, to: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

fn as_sqlite(postgres: &[String]) -> Vec<String> {
    postgres
        .iter()
        .map(|line| {
            SUBSTITUTIONS
                .iter()
                .fold(line.clone(), |l, (from, to)| replace_words(&l, from, to))
        })
        .collect()
}

#[test]
fn both_engines_have_the_same_migrations() {
    let sqlite = files("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, files("postgres"));
}

#[test]
fn each_migration_is_the_same_modulo_type_spellings() {
    for name in files("sqlite") {
        let read = |engine: &str| std::fs::read_to_string(tree(engine).join(&name)).unwrap();
        let (sqlite, postgres) = (read("sqlite"), read("postgres"));
        assert!(
            sqlite.trim_start().starts_with("--") && postgres.trim_start().starts_with("--"),
            "{name}: each file starts with a header comment"
        );
        let (sqlite, postgres) = (body(&sqlite), as_sqlite(&body(&postgres)));
        assert!(!sqlite.is_empty(), "{name}: empty");
        for (n, (s, p)) in sqlite.iter().zip(&postgres).enumerate() {
            assert_eq!(
                s,
                p,
                "{name}, line {} of the body: sqlite and postgres differ beyond {SUBSTITUTIONS:?}",
                n + 1
            );
        }
        assert_eq!(sqlite.len(), postgres.len(), "{name}: different lengths");
    }
}

#[test]
fn the_substitutions_are_whole_words() {
    assert_eq!(
        replace_words("a BYTEA, b BYTEAX, c XBYTEA", "BYTEA", "BLOB"),
        "a BLOB, b BYTEAX, c XBYTEA"
    );
    assert_eq!(
        as_sqlite(&["    seq BIGSERIAL PRIMARY KEY,".to_owned()]),
        ["    seq INTEGER PRIMARY KEY AUTOINCREMENT,"]
    );
}
