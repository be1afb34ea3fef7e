//! What can go wrong in a client command, the exit code each case maps to, and how it
//! is shown on stderr.
//!
//! Exit codes: 1 = the server answered with an error (or the config did not validate),
//! 2 = a usage or local file problem, 3 = the server could not be reached or did not
//! answer in time.

use connect_api::FieldError;

/// A client command's failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or an unreadable local file; nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// Nothing answered at the URL.
    #[error("cannot reach rmq-connect at {url}: {detail} (is the worker running? --url)")]
    Unreachable {
        /// The base URL, without any password.
        url: String,
        /// The innermost cause (for example "Connection refused (os error 111)").
        detail: String,
    },
    /// Connected, but no answer came in time.
    #[error("no answer from rmq-connect at {url} within {secs} s")]
    NoAnswer {
        /// The base URL, without any password.
        url: String,
        /// The request timeout.
        secs: u64,
    },
    /// The server answered 4xx or 5xx.
    #[error("{message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's message (or the status line when the body had none).
        message: String,
        /// Per-field errors from the body.
        errors: Vec<FieldError>,
    },
    /// A config was checked and has errors.
    #[error("{message}")]
    Invalid {
        /// Summary.
        message: String,
        /// Each field error.
        errors: Vec<FieldError>,
    },
    /// A 2xx answer that is not what the API promises.
    #[error("unexpected answer from rmq-connect: {0}")]
    Unexpected(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Rejected { .. } | Self::Invalid { .. } | Self::Unexpected(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable { .. } | Self::NoAnswer { .. } => 3,
        }
    }

    /// `error: <message>` and then `  <field>: <message>` per field error, each line
    /// ending in a newline.
    pub fn render(&self) -> String {
        let mut text = format!("error: {self}\n");
        if let Self::Rejected { errors, .. } | Self::Invalid { errors, .. } = self {
            for e in errors {
                text.push_str(&format!("  {}: {}\n", e.field, e.message));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_renders_message_then_one_indented_line_per_field_error() {
        let e = CliError::Rejected {
            status: 400,
            message: "invalid connector config".into(),
            errors: vec![
                FieldError::new("es.index", "is required"),
                FieldError::new("es.hosts", "must be an http:// or https:// URL"),
            ],
        };
        assert_eq!(
            e.render(),
            "error: invalid connector config\n  es.index: is required\n  es.hosts: must be an http:// or https:// URL\n"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn unreachable_names_the_url_the_cause_and_the_hint_and_exits_3() {
        let e = CliError::Unreachable {
            url: "http://127.0.0.1:1/".into(),
            detail: "Connection refused (os error 111)".into(),
        };
        assert_eq!(
            e.render(),
            "error: cannot reach rmq-connect at http://127.0.0.1:1/: Connection refused (os error 111) (is the worker running? --url)\n"
        );
        assert_eq!(e.exit_code(), 3);
    }

    #[test]
    fn exit_codes_are_1_for_answers_2_for_usage_3_for_no_answer() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        let invalid = CliError::Invalid {
            message: "x".into(),
            errors: vec![],
        };
        assert_eq!(invalid.exit_code(), 1);
        assert_eq!(CliError::Unexpected("x".into()).exit_code(), 1);
        let slow = CliError::NoAnswer {
            url: "u".into(),
            secs: 1,
        };
        assert_eq!(slow.exit_code(), 3);
    }
}
