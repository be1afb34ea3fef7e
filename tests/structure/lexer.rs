//! A small Rust tokenizer for the structure test: enough to find items, `use` trees and
//! paths in our own source files, not a full lexer.
//!
//! Contract: comments (doc comments included) and the contents of string, char and number
//! literals never become tokens, so a path written in a comment or a message is not a use.
//! Raw identifiers (`r#type`) become plain identifiers. Unknown characters become
//! punctuation; the tokenizer never fails.

/// One token of Rust source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// An identifier or keyword (`fn`, `crate`, `Foo`, `_`).
    Ident(String),
    /// `::`
    PathSep,
    /// Any other single punctuation character, brackets included.
    Punct(char),
    /// A string, char or number literal (its text is not kept).
    Lit,
    /// A lifetime or loop label (`'a`).
    Lifetime,
}

impl Tok {
    /// Whether this token is the identifier `name`.
    pub fn is_ident(&self, name: &str) -> bool {
        matches!(self, Tok::Ident(s) if s == name)
    }

    /// Whether this token is the punctuation `c`.
    pub fn is_punct(&self, c: char) -> bool {
        *self == Tok::Punct(c)
    }

    /// The identifier's text, if this is an identifier.
    pub fn ident(&self) -> Option<&str> {
        match self {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens.
pub fn tokenize(src: &str) -> Vec<Tok> {
    let s: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&s, i);
        } else if c == '"' {
            i = skip_string(&s, i);
            out.push(Tok::Lit);
        } else if c == '\'' {
            i = char_or_lifetime(&s, i, &mut out);
        } else if c.is_ascii_digit() {
            i = skip_number(&s, i);
            out.push(Tok::Lit);
        } else if is_ident_start(c) {
            i = ident_or_prefixed_literal(&s, i, &mut out);
        } else if c == ':' && next == Some(':') {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// `/* ... */`, nested; returns the index after it.
fn skip_block_comment(s: &[char], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < s.len() {
        if s[i] == '/' && s.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// A `"..."` string starting at `i` (the quote); returns the index after it.
fn skip_string(s: &[char], mut i: usize) -> usize {
    i += 1;
    while i < s.len() {
        match s[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// A raw string whose `#`s (maybe none) start at `i`; returns the index after it.
fn skip_raw_string(s: &[char], mut i: usize) -> usize {
    let mut hashes = 0;
    while s.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < s.len() {
        if s[i] == '"' && (1..=hashes).all(|k| s.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// A char literal (`'a'`, `'\n'`) or a lifetime (`'a`) starting at `i`.
fn char_or_lifetime(s: &[char], i: usize, out: &mut Vec<Tok>) -> usize {
    let next = s.get(i + 1).copied();
    if next == Some('\\') {
        let mut j = i + 3;
        while j < s.len() && s[j] != '\'' {
            j += 1;
        }
        out.push(Tok::Lit);
        return j + 1;
    }
    if s.get(i + 2) == Some(&'\'') {
        out.push(Tok::Lit);
        return i + 3;
    }
    let mut j = i + 1;
    while j < s.len() && is_ident_char(s[j]) {
        j += 1;
    }
    out.push(Tok::Lifetime);
    j
}

/// A number literal with its suffix (`0x1F`, `1_000u64`, `1.5e3`).
fn skip_number(s: &[char], mut i: usize) -> usize {
    while i < s.len() && is_ident_char(s[i]) {
        i += 1;
    }
    if s.get(i) == Some(&'.') && s.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
        while i < s.len() && is_ident_char(s[i]) {
            i += 1;
        }
    }
    i
}

/// An identifier, a raw identifier, or a literal with a prefix (`b"..."`, `r#"..."#`,
/// `b'x'`, `c"..."`).
fn ident_or_prefixed_literal(s: &[char], i: usize, out: &mut Vec<Tok>) -> usize {
    let mut j = i;
    while j < s.len() && is_ident_char(s[j]) {
        j += 1;
    }
    let word: String = s[i..j].iter().collect();
    let next = s.get(j).copied();
    let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
    if raw_prefix && (next == Some('"') || (next == Some('#') && raw_string_follows(s, j))) {
        out.push(Tok::Lit);
        return skip_raw_string(s, j);
    }
    if word == "r" && next == Some('#') {
        let mut k = j + 1;
        while k < s.len() && is_ident_char(s[k]) {
            k += 1;
        }
        out.push(Tok::Ident(s[j + 1..k].iter().collect()));
        return k;
    }
    if matches!(word.as_str(), "b" | "c") && next == Some('"') {
        out.push(Tok::Lit);
        return skip_string(s, j);
    }
    if word == "b" && next == Some('\'') {
        let mut lit = Vec::new();
        let end = char_or_lifetime(s, j, &mut lit);
        out.push(Tok::Lit);
        return end;
    }
    out.push(Tok::Ident(word));
    j
}

/// Whether the `#`s at `i` open a raw string (`#"` or `##"`) rather than a raw identifier.
fn raw_string_follows(s: &[char], mut i: usize) -> bool {
    while s.get(i) == Some(&'#') {
        i += 1;
    }
    s.get(i) == Some(&'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(src: &str) -> Vec<String> {
        tokenize(src)
            .iter()
            .filter_map(|t| t.ident().map(str::to_owned))
            .collect()
    }

    #[test]
    fn comments_and_literals_hide_their_text() {
        let src = r##"
            // crate::a::X
            /* crate::b /* nested */ crate::c */
            /// [`crate::d::Y`]
            let s = "crate::e::Z \" still";
            let r = r#"crate::f "quoted" "#;
            let c = '"'; let q = '\''; let b = b'x'; let n = 1.5e3;
            fn f<'a>(x: &'a str) {}
        "##;
        assert_eq!(
            idents(src),
            [
                "let", "s", "let", "r", "let", "c", "let", "q", "let", "b", "let", "n", "fn", "f",
                "x", "str"
            ]
        );
    }

    #[test]
    fn paths_and_raw_identifiers() {
        let toks = tokenize("crate::a::r#type");
        assert_eq!(
            toks,
            [
                Tok::Ident("crate".into()),
                Tok::PathSep,
                Tok::Ident("a".into()),
                Tok::PathSep,
                Tok::Ident("type".into()),
            ]
        );
    }
}
