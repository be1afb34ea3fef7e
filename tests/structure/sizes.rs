//! File length: a source file over [`MAX_LINES`] lines says why at its top.
//!
//! Contract: a file passes when it has at most [`MAX_LINES`] lines, or when one of its
//! first [`REASON_WITHIN`] lines holds [`MARK`] followed by a reason
//! (`//! Long file: ...` in Rust, `# Long file: ...` in a script). Which files are checked
//! is decided by the caller.

use std::path::Path;

/// Lines a file may have without a written reason.
pub const MAX_LINES: usize = 600;
/// How many lines at the top of a file may hold the reason.
pub const REASON_WITHIN: usize = 15;
/// What the reason line starts with.
pub const MARK: &str = "Long file:";

/// The line count of a file that is too long and gives no reason; `None` when it passes.
pub fn unexplained_length(text: &str) -> Option<usize> {
    let lines = text.lines().count();
    if lines <= MAX_LINES {
        return None;
    }
    let has_reason = text.lines().take(REASON_WITHIN).any(|line| {
        line.split_once(MARK)
            .is_some_and(|(_, reason)| !reason.trim().is_empty())
    });
    (!has_reason).then_some(lines)
}

/// Whether a Rust file under a `src/` folder is test code: `tests.rs`, `*_tests.rs`, or a
/// file under a `tests/` folder. `rel` is the path below `src/`.
pub fn is_test_source(rel: &Path) -> bool {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || rel
            .parent()
            .is_some_and(|dir| dir.components().any(|c| c.as_os_str() == "tests"))
}

/// Whether `path` is a file anyone may execute (on other systems than Unix: any file).
pub fn is_executable(path: &Path) -> std::io::Result<bool> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        Ok(meta.is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: usize, head: &str) -> String {
        let mut text = head.to_owned();
        let body_lines = n - head.lines().count();
        text.push_str(&"x\n".repeat(body_lines));
        text
    }

    #[test]
    fn a_long_file_needs_a_reason_near_its_top() {
        assert_eq!(unexplained_length(&numbered(600, "")), None);
        assert_eq!(unexplained_length(&numbered(601, "")), Some(601));
        let reason =
            "//! Parser.\n//! Long file: one state machine, split it and it is harder to read.\n";
        assert_eq!(unexplained_length(&numbered(900, reason)), None);
        assert_eq!(
            unexplained_length(&numbered(900, "#!/bin/sh\n# Long file:\n")),
            Some(900),
            "the mark without a reason"
        );
        let late = format!("{}# Long file: too late\n", "\n".repeat(15));
        assert_eq!(unexplained_length(&numbered(700, &late)), Some(700));
    }

    #[test]
    fn test_sources_are_told_apart() {
        assert!(is_test_source(Path::new("tests.rs")));
        assert!(is_test_source(Path::new("task_loop_tests.rs")));
        assert!(is_test_source(Path::new("config/tests/mod.rs")));
        assert!(is_test_source(Path::new("cursor/tests.rs")));
        assert!(!is_test_source(Path::new("config/mod.rs")));
        assert!(!is_test_source(Path::new("testing.rs")));
    }
}
