//! The `${env:VAR}` provider: a variable of the worker process, if the worker conf's
//! allow-list (`config.providers.env.allowed`) lets placeholders read it.

use std::ffi::OsString;

use super::policy::{PlaceholderPolicy, ENV_ALLOWED_KEY};

/// Whether the worker conf lets `${env:name}` be read; the error names the conf key.
pub(super) fn env_policy(name: &str, policy: &PlaceholderPolicy) -> Result<(), String> {
    if policy.env_is_allowed(name) {
        Ok(())
    } else {
        Err(format!(
            "${{env:{name}}}: the variable is not allowed by the worker conf key {ENV_ALLOWED_KEY}"
        ))
    }
}

/// The value of `${env:name}`, read through `env` once the policy allows it.
pub(super) fn resolve_env(
    name: &str,
    policy: &PlaceholderPolicy,
    env: &impl Fn(&str) -> Option<OsString>,
) -> Result<String, String> {
    env_policy(name, policy)?;
    let value = env(name).ok_or_else(|| {
        format!("${{env:{name}}}: the environment variable {name} is not set on this worker")
    })?;
    value
        .into_string()
        .map_err(|_| format!("${{env:{name}}}: the environment variable is not valid UTF-8"))
}
