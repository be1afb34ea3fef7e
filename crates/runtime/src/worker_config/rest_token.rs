//! The REST bearer token of the worker conf: `rest.auth.token`, or the trimmed content of
//! the file `rest.auth.token.file` names. Errors name the key (and the path) to fix and
//! never contain the token.

use std::path::Path;

use crate::secrets::Secret;

/// Conf key of the REST bearer token itself.
pub const REST_AUTH_TOKEN: &str = "rest.auth.token";
/// Conf key of a file holding the REST bearer token (trimmed); exclusive with
/// [`REST_AUTH_TOKEN`].
pub const REST_AUTH_TOKEN_FILE: &str = "rest.auth.token.file";
/// Tokens shorter than this are accepted with a warning.
pub const MIN_RECOMMENDED_TOKEN_LEN: usize = 16;
/// Largest token file read, so a wrong path (a log, a device) fails fast.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// The REST token from `rest.auth.token` or `rest.auth.token.file`; the error names the
/// key (and the path) to fix and never contains the token.
pub(super) fn rest_auth_token(
    token: Option<&str>,
    file: Option<&str>,
) -> Result<Option<Secret>, String> {
    let (token, source) = match (token, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(format!(
                "set either {REST_AUTH_TOKEN} or {REST_AUTH_TOKEN_FILE}, not both"
            ))
        }
        (Some(t), None) => (t.to_owned(), REST_AUTH_TOKEN.to_owned()),
        (None, Some(path)) => {
            let token = read_token_file(Path::new(path))
                .map_err(|why| format!("{REST_AUTH_TOKEN_FILE}={path}: {why}"))?;
            (token, format!("{REST_AUTH_TOKEN_FILE}={path}"))
        }
    };
    if token.is_empty() {
        return Err(format!(
            "{source}: the token is empty; set a token or remove the key"
        ));
    }
    // A client must be able to send it as `Authorization: Bearer <token>`.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{source}: the token must be printable ASCII without spaces or line breaks"
        ));
    }
    if token.len() < MIN_RECOMMENDED_TOKEN_LEN {
        tracing::warn!(
            key = %source,
            "the REST token is shorter than {MIN_RECOMMENDED_TOKEN_LEN} characters; use a long random one"
        );
    }
    Ok(Some(Secret::new(token)))
}

/// The trimmed content of a token file.
fn read_token_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the token file: {e}"))?;
    warn_if_readable_by_others(path, &file);
    let mut text = String::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the token file: {e}"))?;
    if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "the token file is larger than {MAX_TOKEN_FILE_BYTES} bytes; is it the right file?"
        ));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err("the token file is empty".into());
    }
    Ok(token.to_owned())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata() {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "the REST token file is readable by group or others; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path, _file: &std::fs::File) {}
