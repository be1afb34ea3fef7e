//! The syntax of placeholders: [`scan`] splits a config value into literal text and
//! well-formed `${env:VAR}` / `${file:/path:key}` references, or says what is malformed
//! and at which character, without quoting the value (it may be a literal secret).
//! Pure text work: no environment, no file system.

use std::path::Path;

/// A piece of a scanned value.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Segment<'a> {
    /// Literal text (an escaped `$${` yields `${`).
    Text(&'a str),
    /// A placeholder.
    Ref(Ref<'a>),
}

/// A well-formed placeholder.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ref<'a> {
    Env(&'a str),
    File { path: &'a str, key: &'a str },
}

/// `${stream}` and `${namespace}` are not placeholders: a plugin connector's
/// `connect.topicname` names the topic of each stream with them, filled in per record.
/// They are kept as written.
pub(crate) const RECORD_FIELDS: &[&str] = &["stream", "namespace"];

/// Splits `value` into text and placeholders. The error says what is wrong and where
/// (character position), without quoting the value: it may be a literal secret.
pub(super) fn scan(value: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    let mut consumed = 0;
    while let Some(idx) = rest.find('$') {
        let after = &rest[idx..];
        if after.starts_with("$${") {
            out.push(Segment::Text(&rest[..idx]));
            out.push(Segment::Text("${"));
            consumed += idx + 3;
            rest = &rest[idx + 3..];
        } else if after.starts_with("${") {
            out.push(Segment::Text(&rest[..idx]));
            let at = value[..consumed + idx].chars().count() + 1;
            let body_start = idx + 2;
            let Some(len) = rest[body_start..].find('}') else {
                return Err(format!(
                    "unclosed `${{` at character {at}: a placeholder ends with `}}` (write `$${{` for a literal `${{`)"
                ));
            };
            let body = &rest[body_start..body_start + len];
            if RECORD_FIELDS.contains(&body) {
                // Not a placeholder: filled in per record (see RECORD_FIELDS).
                out.push(Segment::Text(&rest[idx..body_start + len + 1]));
            } else {
                out.push(Segment::Ref(parse_ref(body, at)?));
            }
            consumed += body_start + len + 1;
            rest = &rest[body_start + len + 1..];
        } else {
            out.push(Segment::Text(&rest[..=idx]));
            consumed += idx + 1;
            rest = &rest[idx + 1..];
        }
    }
    out.push(Segment::Text(rest));
    out.retain(|s| *s != Segment::Text(""));
    Ok(out)
}

/// Parses the inside of `${...}` found at character `at`.
fn parse_ref(body: &str, at: usize) -> Result<Ref<'_>, String> {
    const FORMS: &str = "use ${env:VAR} or ${file:/path:key}";
    if body.contains("${") {
        return Err(format!(
            "placeholder at character {at}: nested placeholders are not supported"
        ));
    }
    let Some((provider, args)) = body.split_once(':') else {
        return Err(format!(
            "placeholder at character {at} names no provider; {FORMS}"
        ));
    };
    match provider {
        "env" => {
            if !is_env_name(args) {
                return Err(format!(
                    "placeholder at character {at}: ${{env:...}} needs a variable name of letters, digits and `_`"
                ));
            }
            Ok(Ref::Env(args))
        }
        "file" => {
            let Some((path, key)) = args
                .rsplit_once(':')
                .filter(|(p, k)| !p.is_empty() && !k.is_empty())
            else {
                return Err(format!(
                    "placeholder at character {at}: ${{file:...}} needs a path and a key, ${{file:/path:key}}"
                ));
            };
            if !Path::new(path).is_absolute() {
                return Err(format!(
                    "placeholder at character {at}: the path of ${{file:{path}:{key}}} must be absolute"
                ));
            }
            Ok(Ref::File { path, key })
        }
        other if is_identifier(other) => Err(format!(
            "placeholder at character {at}: unknown provider `{other}`; {FORMS}"
        )),
        _ => Err(format!(
            "placeholder at character {at}: unknown provider; {FORMS}"
        )),
    }
}

pub(super) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Short enough and plain enough to quote in an error without leaking a literal secret.
fn is_identifier(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
