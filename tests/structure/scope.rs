//! What one module's source says, read from tokens: the names it defines, its `use`
//! declarations, the modules it declares, and the paths and names its code mentions.
//!
//! Contract: test code is left out before anything is read — every item under a
//! `#[cfg(test)]` attribute and every module named `tests` (so `tests.rs` and `tests/`
//! files are never reached). Items are read only at the module's own level; `use`
//! declarations are read at any depth (a `use` inside a function body counts for the
//! module). Attributes stay in the code (`#[schema(value_type = super::x::Y)]` is a use).

use crate::lexer::Tok;

/// One `use` leaf: `use a::b::{c as d, e::*};` gives `a::b::c` bound as `d` and the glob
/// `a::b::e::*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseEntry {
    /// The path as written (`crate`, `super`, `self` or a name first).
    pub path: Vec<String>,
    /// The name this brings into scope (`None` for a glob or `as _`).
    pub bound: Option<String>,
    /// `use a::*`: every name of the module at `path`.
    pub glob: bool,
    /// `pub use` (any `pub(...)` too): a re-export, which is not itself a use.
    pub public: bool,
}

/// A `mod name;` or `mod name { ... }` declaration.
#[derive(Debug, Clone)]
pub struct ModDecl {
    pub name: String,
    /// The body of an inline module; `None` for a module in its own file.
    pub inline: Option<Scope>,
}

/// What one module's text holds (a file, or an inline module inside it).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Names of the module's own items: fn, struct, enum, union, trait, type, const,
    /// static, macro_rules.
    pub defs: Vec<String>,
    pub uses: Vec<UseEntry>,
    pub mods: Vec<ModDecl>,
    /// Paths of two or more segments in code (`crate::a::f`, `super::X`, `a::b`).
    pub paths: Vec<Vec<String>>,
    /// Every name mentioned in code outside `use` declarations, except after `.` or `::`.
    pub idents: Vec<String>,
    /// Constructs the reader does not follow (a `#[path]` attribute).
    pub unsupported: Vec<String>,
}

/// Reads a whole file's tokens as one module.
pub fn read_module(tokens: &[Tok]) -> Scope {
    let tokens = strip_test_code(tokens);
    read_scope(&tokens)
}

/// Index of the bracket closing the one opened at `open`, or the last index.
fn matching(tokens: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len().saturating_sub(1)
}

/// Whether the attribute at `i` (`#` `[` ...) is exactly `#[cfg(test)]`.
fn is_cfg_test(tokens: &[Tok], i: usize) -> bool {
    let want = ["cfg", "(", "test", ")", "]"];
    tokens[i].is_punct('#')
        && tokens.get(i + 1).is_some_and(|t| t.is_punct('['))
        && want.iter().enumerate().all(|(k, w)| {
            tokens.get(i + 2 + k).is_some_and(|t| match t {
                Tok::Ident(s) => s == w,
                Tok::Punct(c) => w.len() == 1 && w.starts_with(*c),
                _ => false,
            })
        })
}

/// The index after the item starting at `i`: after its `;`, after its first `{...}` block
/// (a stray `;` after a block is harmless to the reader), after the `,` ending a field or
/// variant, or at the bracket closing the enclosing list.
fn item_end(tokens: &[Tok], mut i: usize) -> usize {
    let mut angle = 0usize;
    while i < tokens.len() {
        let arrow = i > 0 && matches!(tokens[i - 1], Tok::Punct('-' | '='));
        match &tokens[i] {
            Tok::Punct(';') => return i + 1,
            Tok::Punct(',') if angle == 0 => return i + 1,
            Tok::Punct('{') => return matching(tokens, i) + 1,
            Tok::Punct(')' | ']' | '}') => return i,
            Tok::Punct('(' | '[') => i = matching(tokens, i) + 1,
            Tok::Punct('<') => {
                angle += 1;
                i += 1;
            }
            Tok::Punct('>') if !arrow => {
                angle = angle.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    i
}

/// Drops every item under `#[cfg(test)]` (its other attributes included), and everything
/// after a `#![cfg(test)]` inner attribute.
fn strip_test_code(tokens: &[Tok]) -> Vec<Tok> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].is_punct('#') && tokens.get(i + 1).is_some_and(|t| t.is_punct('!')) {
            let mut probe = vec![Tok::Punct('#')];
            probe.extend(tokens[i + 2..].iter().take(6).cloned());
            if is_cfg_test(&probe, 0) {
                return Vec::new();
            }
        }
        if is_cfg_test(tokens, i) {
            i = matching(tokens, i + 1) + 1;
            while tokens.get(i).is_some_and(|t| t.is_punct('#'))
                && tokens.get(i + 1).is_some_and(|t| t.is_punct('['))
            {
                i = matching(tokens, i + 1) + 1;
            }
            i = item_end(tokens, i);
            continue;
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

/// Whether the `use` at `i` is preceded by `pub` or `pub(...)`.
fn is_public(tokens: &[Tok], i: usize) -> bool {
    match i.checked_sub(1).map(|p| &tokens[p]) {
        Some(Tok::Ident(s)) => s == "pub",
        Some(Tok::Punct(')')) => {
            let mut depth = 0usize;
            let mut p = i - 1;
            loop {
                match tokens[p] {
                    Tok::Punct(')') => depth += 1,
                    Tok::Punct('(') => depth -= 1,
                    _ => {}
                }
                if depth == 0 || p == 0 {
                    break;
                }
                p -= 1;
            }
            p > 0 && tokens[p - 1].is_ident("pub")
        }
        _ => false,
    }
}

const ITEM_KEYWORDS: [&str; 8] = [
    "fn", "struct", "enum", "union", "trait", "type", "const", "static",
];

fn read_scope(tokens: &[Tok]) -> Scope {
    let mut scope = Scope::default();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let next = tokens.get(i + 1);
        if t.is_ident("use") && next.is_some_and(|n| !n.is_punct('<')) {
            let public = is_public(tokens, i);
            let end = item_end_of_use(tokens, i + 1);
            let mut entries = Vec::new();
            read_use_tree(&tokens[i + 1..end], &mut Vec::new(), &mut entries);
            scope
                .uses
                .extend(entries.into_iter().map(|e| UseEntry { public, ..e }));
            i = end + 1;
            continue;
        }
        if depth == 0 && t.is_ident("mod") {
            if let Some(name) = next.and_then(Tok::ident) {
                let after = tokens.get(i + 2);
                if after.is_some_and(|a| a.is_punct('{')) {
                    let close = matching(tokens, i + 2);
                    if name != "tests" {
                        let inner = read_scope(&tokens[i + 3..close]);
                        scope.mods.push(ModDecl {
                            name: name.to_owned(),
                            inline: Some(inner),
                        });
                    }
                    i = close + 1;
                    continue;
                }
                if name != "tests" {
                    scope.mods.push(ModDecl {
                        name: name.to_owned(),
                        inline: None,
                    });
                }
                i += 2;
                continue;
            }
        }
        if depth == 0 && t.is_punct('#') && next.is_some_and(|n| n.is_punct('[')) {
            let attr_name = tokens.get(i + 2);
            let eq = tokens.get(i + 3);
            if attr_name.is_some_and(|a| a.is_ident("path")) && eq.is_some_and(|e| e.is_punct('='))
            {
                scope
                    .unsupported
                    .push("a #[path] attribute on a module".to_owned());
            }
        }
        let restricted = next.is_some_and(|n| n.is_punct('('))
            && tokens.get(i + 2).is_some_and(|n| n.is_ident("in"));
        if t.is_ident("pub") && restricted {
            // `pub(in crate::a)` names a module to limit visibility, which is no use of it.
            i = matching(tokens, i + 1) + 1;
            continue;
        }
        if depth == 0 {
            if let Some(name) = defined_name(tokens, i) {
                scope.defs.push(name);
            }
        }
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Tok::Ident(_) => i = read_path(tokens, i, &mut scope) - 1,
            _ => {}
        }
        i += 1;
    }
    scope
}

/// The name an item keyword at `i` defines (`fn f`, `macro_rules! m`).
fn defined_name(tokens: &[Tok], i: usize) -> Option<String> {
    let kw = tokens[i].ident()?;
    if kw == "macro_rules" && tokens.get(i + 1)?.is_punct('!') {
        return tokens.get(i + 2)?.ident().map(str::to_owned);
    }
    if !ITEM_KEYWORDS.contains(&kw) {
        return None;
    }
    let name = tokens.get(i + 1)?.ident()?;
    let keyword_follows = matches!(name, "fn" | "unsafe" | "async" | "extern" | "_" | "mut");
    if keyword_follows {
        if name == "mut" {
            return tokens.get(i + 2)?.ident().map(str::to_owned);
        }
        return None;
    }
    Some(name.to_owned())
}

/// The index of the `;` ending a `use` tree starting at `i`.
fn item_end_of_use(tokens: &[Tok], mut i: usize) -> usize {
    while i < tokens.len() && !tokens[i].is_punct(';') {
        if tokens[i].is_punct('{') {
            i = matching(tokens, i);
        }
        i += 1;
    }
    i
}

/// Reads one use tree into `out`; `prefix` is the path above it.
fn read_use_tree(tokens: &[Tok], prefix: &mut Vec<String>, out: &mut Vec<UseEntry>) {
    let depth = prefix.len();
    let mut i = 0;
    if tokens.first() == Some(&Tok::PathSep) {
        prefix.push("::".to_owned());
        i = 1;
    }
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Punct('*') => {
                out.push(entry(prefix.clone(), None, true));
                break;
            }
            Tok::Punct('{') => {
                let close = matching(tokens, i);
                for part in split_top_level(&tokens[i + 1..close]) {
                    read_use_tree(part, prefix, out);
                }
                break;
            }
            Tok::Ident(name) if tokens.get(i + 1) == Some(&Tok::PathSep) => {
                prefix.push(name.clone());
                i += 2;
            }
            Tok::Ident(name) => {
                let (path, mut bound) = if name == "self" {
                    (prefix.clone(), prefix.last().cloned())
                } else {
                    let mut p = prefix.clone();
                    p.push(name.clone());
                    (p, Some(name.clone()))
                };
                if tokens.get(i + 1).is_some_and(|t| t.is_ident("as")) {
                    bound = tokens
                        .get(i + 2)
                        .and_then(Tok::ident)
                        .filter(|a| *a != "_")
                        .map(str::to_owned);
                }
                out.push(entry(path, bound, false));
                break;
            }
            _ => i += 1,
        }
    }
    prefix.truncate(depth);
}

fn entry(path: Vec<String>, bound: Option<String>, glob: bool) -> UseEntry {
    UseEntry {
        path,
        bound,
        glob,
        public: false,
    }
}

/// Splits a `{...}` group's inside at its top-level commas.
fn split_top_level(tokens: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].is_punct('{') {
            i = matching(tokens, i);
        } else if tokens[i].is_punct(',') {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    parts.push(&tokens[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Records the path or name starting at the identifier `i`; returns the index after it.
fn read_path(tokens: &[Tok], i: usize, scope: &mut Scope) -> usize {
    let prev = i.checked_sub(1).map(|p| &tokens[p]);
    if prev.is_some_and(|p| *p == Tok::PathSep || p.is_punct('.')) {
        return i + 1;
    }
    let mut segs = Vec::new();
    let mut j = i;
    while let Some(name) = tokens.get(j).and_then(Tok::ident) {
        segs.push(name.to_owned());
        if tokens.get(j + 1) == Some(&Tok::PathSep)
            && tokens.get(j + 2).and_then(Tok::ident).is_some()
        {
            j += 2;
        } else {
            j += 1;
            break;
        }
    }
    scope.idents.push(segs[0].clone());
    if segs.len() >= 2 {
        scope.paths.push(segs);
    }
    j
}
