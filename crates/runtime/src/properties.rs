//! Properties text (`key=value` or `key: value` lines; `#` and `!` start comments), the
//! format of the worker conf and of the secrets files `${file:...}` placeholders read.
//!
//! Two entry points: [`parse_properties`] for text whose lines may be quoted in an error
//! (the worker conf), [`parse_properties_quiet`] for text that may hold secrets, whose
//! caller words the error from [`PropertiesError`] without the offending line.

use std::collections::BTreeMap;

/// Parses `key=value` (or `key: value`) lines; `#` and `!` start comments.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, String> {
    parse_properties_quiet(text).map_err(|e| match e {
        PropertiesError::NoSeparator { line, text } => {
            format!("line {line}: expected key=value, got {text:?}")
        }
        PropertiesError::EmptyKey { line } => format!("line {line}: empty key"),
    })
}

/// Why a properties text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertiesError {
    /// A line with neither `=` nor `:`.
    NoSeparator {
        /// 1-based line number.
        line: usize,
        /// The offending line; may be a secret, so callers parsing secrets files must not
        /// show it (see [`PropertiesError::line`]).
        text: String,
    },
    /// A line starting with its separator.
    EmptyKey {
        /// 1-based line number.
        line: usize,
    },
}

impl PropertiesError {
    /// The 1-based line number at fault.
    pub fn line(&self) -> usize {
        match self {
            Self::NoSeparator { line, .. } | Self::EmptyKey { line } => *line,
        }
    }
}

/// [`parse_properties`] with a structured error, for callers that must not echo a line.
pub fn parse_properties_quiet(text: &str) -> Result<BTreeMap<String, String>, PropertiesError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(idx) = line.find(['=', ':']) else {
            return Err(PropertiesError::NoSeparator {
                line: n + 1,
                text: line.to_owned(),
            });
        };
        let (k, v) = (line[..idx].trim(), line[idx + 1..].trim());
        if k.is_empty() {
            return Err(PropertiesError::EmptyKey { line: n + 1 });
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_both_separators() {
        let props = parse_properties("# c\n! c\n\na = 1\nb: x=y\n").unwrap();
        assert_eq!(props["a"], "1");
        assert_eq!(props["b"], "x=y");
        assert_eq!(props.len(), 2);
    }

    #[test]
    fn the_quiet_error_names_the_line_and_the_loud_one_quotes_it() {
        let err = parse_properties_quiet("a=1\nhunter2\n").unwrap_err();
        assert_eq!(err.line(), 2);
        assert_eq!(
            parse_properties_quiet("=v").unwrap_err(),
            PropertiesError::EmptyKey { line: 1 }
        );
        let loud = parse_properties("a=1\nhunter2\n").unwrap_err();
        assert!(
            loud.contains("line 2") && loud.contains("hunter2"),
            "{loud}"
        );
    }
}
