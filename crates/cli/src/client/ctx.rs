//! [`Ctx`]: what every client command works with, the REST API, the output mode
//! (`--json` or text) and the stdout buffer.
//!
//! Contract: commands print only through [`Ctx`], so the caller gets everything they
//! printed back with [`Ctx::into_out`], also when the command failed half-way.

use super::http::{Answer, Api};

/// What every command works with: the API, the output mode and the stdout buffer.
pub struct Ctx {
    /// The worker's REST API.
    pub(super) api: Api,
    /// `--json`: print the server's raw answers instead of tables and messages.
    pub(super) json: bool,
    out: String,
}

impl Ctx {
    /// A context with nothing printed yet.
    pub(super) fn new(api: Api, json: bool) -> Self {
        Self {
            api,
            json,
            out: String::new(),
        }
    }

    /// What the command printed to stdout.
    pub(super) fn into_out(self) -> String {
        self.out
    }

    /// Adds text to stdout, ending it with a newline if it has none.
    pub(super) fn print(&mut self, text: &str) {
        self.out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// With `--json`, prints the answer's body as the server sent it.
    pub(super) fn print_raw(&mut self, answer: &Answer) {
        self.print(&answer.text);
    }

    /// Prints the raw body with `--json`, otherwise `message`.
    pub(super) fn done(&mut self, answer: &Answer, message: &str) {
        if self.json {
            self.print_raw(answer);
        } else {
            self.print(message);
        }
    }
}
