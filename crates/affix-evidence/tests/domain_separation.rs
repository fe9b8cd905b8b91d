//! Every domain-separation context and format header of the workspace is defined once,
//! and `docs/formats.md#domain-separation` lists exactly those.
//!
//! The test finds them itself: it reads every `crates/*/src/**/*.rs`, takes the string
//! and byte-string literals outside comments and `#[cfg(test)]` items, and keeps those of
//! the shapes Affix uses —
//!
//! - a versioned Affix identifier: the literal starts with `affix` (after an optional
//!   `0xff` signature-type byte) and carries a version token (`/v1`, `@v1`, ` v1`, `-v1`,
//!   `.v1`) before its first `\0`, line break or `{`: `affix.dev/<crate>/<op>/v1\0`,
//!   `affix-identity/v1/resident-id\0`, `affix/evidence/commitment/v1\0`,
//!   `affix-loan-event v1`, `affix-evidence-bundle/v1`, `affix-vault/v3`,
//!   `affix-ledger-v1:` …, and the template ids `affix.<name>.<n>`;
//! - a four-letter magic `AF..` (`AFCT`, `AFEV`, `AFXB`, …).
//!
//! Its key is the literal up to the first `\0`, line break or `{` (so `…/v1` and
//! `…/v1\0` are one context). A key defined in two places fails the test: a copy-pasted
//! context would let a signature or digest made for one purpose pass for another. Use
//! the one constant instead. A new context must also be listed in the documentation.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every `.rs` file under `crates/*/src`, sorted.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for krate in std::fs::read_dir(workspace().join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            walk(&src, &mut out);
        }
    }
    out.sort();
    out
}

// ---- a small Rust lexer: enough to tell literals from comments and find cfg(test) --------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A string or byte-string literal, unescaped.
    Literal(Vec<u8>),
    /// An identifier or keyword.
    Ident(String),
    /// One punctuation character.
    Punct(u8),
}

/// Tokens with their 1-based line.
fn lex(source: &str) -> Vec<(Token, usize)> {
    let s = source.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let ident_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    while i < s.len() {
        let c = s[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if s.get(i + 1) == Some(&b'/') => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                loop {
                    if s[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if s[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(s[i] == b'\n');
                        i += 1;
                    }
                }
            }
            b'"' => {
                let start = line;
                let (value, end) = quoted(s, i + 1, &mut line);
                out.push((Token::Literal(value), start));
                i = end;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                if s.get(i + 1) == Some(&b'\\') {
                    // Quote, backslash, the escaped character, then up to the quote.
                    i += 3;
                    while s[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else {
                    let width = source[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if s.get(i + 1 + width) == Some(&b'\'') {
                        i += 2 + width;
                    } else {
                        i += 1;
                    }
                }
            }
            _ if ident_byte(c) => {
                let start = i;
                while i < s.len() && ident_byte(s[i]) {
                    i += 1;
                }
                let word = &source[start..i];
                // Raw strings (r"..", r#".."#, br#".."#) and byte strings (b"..").
                let raw = matches!(word, "r" | "br") && matches!(s.get(i), Some(b'"' | b'#'));
                if raw {
                    let hashes = s[i..].iter().take_while(|&&b| b == b'#').count();
                    let open = i + hashes;
                    if s.get(open) == Some(&b'"') {
                        let close = format!("\"{}", "#".repeat(hashes));
                        let body_start = open + 1;
                        let len = source[body_start..].find(&close).unwrap();
                        let body = &s[body_start..body_start + len];
                        out.push((Token::Literal(body.to_vec()), line));
                        line += body.iter().filter(|&&b| b == b'\n').count();
                        i = body_start + len + close.len();
                        continue;
                    }
                }
                if word == "b" && s.get(i) == Some(&b'"') {
                    let start_line = line;
                    let (value, end) = quoted(s, i + 1, &mut line);
                    out.push((Token::Literal(value), start_line));
                    i = end;
                    continue;
                }
                if word == "b" && s.get(i) == Some(&b'\'') {
                    // b'x' / b'\n': skip like a char literal.
                    i += 1;
                    if s.get(i + 1) == Some(&b'\\') {
                        i += 3;
                    } else {
                        i += 1;
                    }
                    while s[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                out.push((Token::Ident(word.to_owned()), line));
            }
            _ if c.is_ascii_whitespace() => i += 1,
            _ => {
                out.push((Token::Punct(c), line));
                i += 1;
            }
        }
    }
    out
}

/// Unescapes a (byte) string body starting at `i`; returns it and the index after the
/// closing quote.
fn quoted(s: &[u8], mut i: usize, line: &mut usize) -> (Vec<u8>, usize) {
    let mut value = Vec::new();
    loop {
        match s[i] {
            b'"' => return (value, i + 1),
            b'\\' => {
                let e = s[i + 1];
                i += 2;
                match e {
                    b'n' => value.push(b'\n'),
                    b'r' => value.push(b'\r'),
                    b't' => value.push(b'\t'),
                    b'0' => value.push(0),
                    b'\\' | b'\'' | b'"' => value.push(e),
                    b'x' => {
                        let hex = std::str::from_utf8(&s[i..i + 2]).unwrap();
                        value.push(u8::from_str_radix(hex, 16).unwrap());
                        i += 2;
                    }
                    b'u' => {
                        let close = i + s[i..].iter().position(|&b| b == b'}').unwrap();
                        let hex = std::str::from_utf8(&s[i + 1..close]).unwrap();
                        let c = char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap();
                        value.extend_from_slice(c.to_string().as_bytes());
                        i = close + 1;
                    }
                    b'\n' => {
                        // Line continuation: the break and the next line's indentation.
                        *line += 1;
                        while s[i].is_ascii_whitespace() {
                            *line += usize::from(s[i] == b'\n');
                            i += 1;
                        }
                    }
                    other => panic!("unknown escape \\{}", other as char),
                }
            }
            b => {
                *line += usize::from(b == b'\n');
                value.push(b);
                i += 1;
            }
        }
    }
}

/// The literals outside `#[cfg(test)]` items.
fn production_literals(tokens: &[(Token, usize)]) -> Vec<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(after) = cfg_test_attribute(tokens, i) {
            i = skip_item(tokens, after);
            continue;
        }
        if let (Token::Literal(value), line) = &tokens[i] {
            out.push((value.clone(), *line));
        }
        i += 1;
    }
    out
}

/// If an attribute `#[cfg(...)]` naming `test` (and no `not`) starts at `i`, the index
/// after it.
fn cfg_test_attribute(tokens: &[(Token, usize)], i: usize) -> Option<usize> {
    let punct = |k: usize, c: u8| matches!(tokens.get(k), Some((Token::Punct(p), _)) if *p == c);
    let ident = |k: usize, w: &str| matches!(tokens.get(k), Some((Token::Ident(x), _)) if x == w);
    if !(punct(i, b'#') && punct(i + 1, b'[') && ident(i + 2, "cfg") && punct(i + 3, b'(')) {
        return None;
    }
    let (mut k, mut depth, mut test, mut not) = (i + 4, 1, false, false);
    while depth > 0 {
        match &tokens.get(k)?.0 {
            Token::Punct(b'(') => depth += 1,
            Token::Punct(b')') => depth -= 1,
            Token::Ident(w) if w == "test" => test = true,
            Token::Ident(w) if w == "not" => not = true,
            _ => {}
        }
        k += 1;
    }
    (punct(k, b']') && test && !not).then_some(k + 1)
}

/// Skips the item starting at `i` (up to its `;`, or its `{ … }` block).
fn skip_item(tokens: &[(Token, usize)], mut i: usize) -> usize {
    while i < tokens.len() {
        match tokens[i].0 {
            Token::Punct(b';') => return i + 1,
            Token::Punct(b'{') => {
                let mut depth = 0;
                while i < tokens.len() {
                    match tokens[i].0 {
                        Token::Punct(b'{') => depth += 1,
                        Token::Punct(b'}') => {
                            depth -= 1;
                            if depth == 0 {
                                return i + 1;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

// ---- the shapes ----------------------------------------------------------------------

/// The context or header a literal defines, if it has one of the shapes.
fn context_key(literal: &[u8]) -> Option<String> {
    if literal.len() == 4
        && literal.starts_with(b"AF")
        && literal.iter().all(u8::is_ascii_uppercase)
    {
        return Some(String::from_utf8(literal.to_vec()).unwrap());
    }
    // The SM2 signature type of a note key: 0xff, then an identifier.
    let literal = literal.strip_prefix(b"\xff").unwrap_or(literal);
    let end = literal
        .iter()
        .position(|&b| matches!(b, 0 | b'\n' | b'{'))
        .unwrap_or(literal.len());
    let key = std::str::from_utf8(&literal[..end]).ok()?;
    if !key.starts_with("affix") {
        return None;
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"./@ :_-".contains(&b))
    {
        return None;
    }
    let versioned = key.char_indices().any(|(i, c)| {
        let before = key[..i].chars().next_back();
        let digits = key[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let after = key[i + 1 + digits..].chars().next();
        c == 'v'
            && digits > 0
            && matches!(before, Some('/' | '@' | ' ' | '-' | '.'))
            && matches!(after, None | Some('/' | ':' | ' '))
    });
    // Template ids: `affix.<name>.<n>`.
    let template = {
        let parts: Vec<&str> = key.split('.').collect();
        parts.len() == 3
            && parts[1].bytes().all(|b| b.is_ascii_lowercase())
            && !parts[2].is_empty()
            && parts[2].bytes().all(|b| b.is_ascii_digit())
    };
    (versioned || template).then(|| key.to_owned())
}

/// Every context key with the places (file, line) that define it.
fn contexts() -> BTreeMap<String, Vec<String>> {
    let root = workspace();
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in sources() {
        let source = std::fs::read_to_string(&path).unwrap();
        for (literal, line) in production_literals(&lex(&source)) {
            if let Some(key) = context_key(&literal) {
                let place = format!("{}:{line}", path.strip_prefix(&root).unwrap().display());
                found.entry(key).or_default().push(place);
            }
        }
    }
    found
}

/// The first column of the table in `docs/formats.md#domain-separation`, without
/// backticks and with `\0` and `0xff ` spelled out as in the code removed.
fn documented() -> Vec<String> {
    let doc = std::fs::read_to_string(workspace().join("docs/formats.md")).unwrap();
    let section = doc
        .split("\n## Domain separation\n")
        .nth(1)
        .expect("docs/formats.md has a `## Domain separation` section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cell = l.split('|').nth(1).unwrap().trim();
            let key = cell.trim_matches('`');
            let key = key.strip_prefix("0xff ").unwrap_or(key);
            key.split("\\0").next().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn every_context_and_header_is_defined_once() {
    let found = contexts();
    // The scan finds the known ones (a broken lexer would find none and pass).
    for known in [
        "affix.dev/vault/kek/v1",
        "affix-identity/v1/resident-id",
        "affix/evidence/commitment/v1",
        "affix.dev/notify/notification/v1",
        "affix-loan-event v1",
        "affix-evidence-bundle/v1",
        "affix-vault/v3",
        "affix.dev/sm2-sm3@v1",
        "AFCT",
        "AFEV",
        "AFXE",
        "AFXB",
    ] {
        assert!(
            found.contains_key(known),
            "the scan misses {known:?}: {found:#?}"
        );
    }
    let duplicated: Vec<_> = found
        .iter()
        .filter(|(_, places)| places.len() > 1)
        .collect();
    assert!(
        duplicated.is_empty(),
        "contexts defined more than once (use one constant): {duplicated:#?}"
    );
}

#[test]
fn docs_list_exactly_the_contexts_of_the_code() {
    let found = contexts();
    let documented = documented();
    let missing: Vec<_> = found.keys().filter(|k| !documented.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "add these to docs/formats.md#domain-separation: {missing:#?}"
    );
    let stale: Vec<_> = documented
        .iter()
        .filter(|k| !found.contains_key(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/formats.md#domain-separation lists contexts the code no longer has: {stale:#?}"
    );
    let mut unique = documented.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), documented.len(), "a context listed twice");
}

#[test]
fn the_lexer_skips_comments_tests_and_sees_escapes() {
    let source = r##"
        // "affix.dev/comment/v1\0"
        /* "affix.dev/block/v1\0" /* nested */ */
        /// "affix.dev/doc/v1"
        const A: &[u8] = b"affix.dev/a/v1\0";
        const B: &str = "affix.dev/b/v1\x00tail {}";
        const C: &[u8] = br#"affix.dev/c/v1"#;
        const D: &[u8] = b"\xffaffix.dev/d@v1";
        const E: char = '"'; const F: u8 = b'"'; const Q: char = '\''; const R: u8 = b'\'';
        fn g<'a>(x: &'a str) -> &'a str { x }
        const H: &str = "affix-h v1\nbody {}";
        const I: &[u8; 4] = b"AFXX";
        const J: &str = "not a context: affix-j v1";
        const K: &str = "affix.tmpl.2";
        #[cfg(test)]
        mod tests { const T: &[u8] = b"affix.dev/test/v1\0"; }
        #[cfg(not(test))]
        const N: &str = "affix.dev/n/v1";
    "##;
    let keys: Vec<String> = production_literals(&lex(source))
        .into_iter()
        .filter_map(|(l, _)| context_key(&l))
        .collect();
    assert_eq!(
        keys,
        [
            "affix.dev/a/v1",
            "affix.dev/b/v1",
            "affix.dev/c/v1",
            "affix.dev/d@v1",
            "affix-h v1",
            "AFXX",
            "affix.tmpl.2",
            "affix.dev/n/v1",
        ]
    );
}
