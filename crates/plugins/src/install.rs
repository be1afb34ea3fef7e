//! `rmq-connect plugins install-pypi`: an Airbyte source published on PyPI becomes a
//! plugin directory: a virtual environment with the package, and a `plugin.json` that
//! runs its console script, checked by running its `spec` once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use tokio::process::Command;
use tokio_util::codec::{FramedRead, LinesCodec};

use crate::airbyte::once::run_once;
use crate::manifest::{check_plugin_name, Manifest, Protocol, MANIFEST_FILE};
use crate::process::PluginCommand;

/// How long the installed plugin's `spec` may take.
const SPEC_TIMEOUT: Duration = Duration::from_secs(120);
/// How many lines of pip's output a failure shows.
const PIP_TAIL: usize = 30;

/// What to install.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// `<package>` or `<package>==<version>`.
    pub requirement: String,
    /// The plugin path to install into.
    pub dir: PathBuf,
    /// The plugin's name (default: the package name without `airbyte-source-`).
    pub name: Option<String>,
    /// The Python to create the environment with (default `python3`).
    pub python: String,
}

/// What was installed.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The plugin directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The package and version of a requirement; an error says what to write instead.
pub fn parse_requirement(req: &str) -> Result<(String, Option<String>), String> {
    let (package, version) = match req.split_once("==") {
        Some((p, v)) => (p.trim(), Some(v.trim())),
        None => (req.trim(), None),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(package) || version.is_some_and(|v| !valid(v)) {
        return Err(format!(
            "{req:?} is not a package name with an optional exact version, such as airbyte-source-faker==7.2.1"
        ));
    }
    Ok((package.to_owned(), version.map(str::to_owned)))
}

/// The default plugin name of a package: `airbyte-source-faker` → `faker`.
pub fn default_name(package: &str) -> String {
    let lower = package.to_ascii_lowercase().replace('_', "-");
    lower
        .strip_prefix("airbyte-source-")
        .map(str::to_owned)
        .unwrap_or(lower)
}

/// Installs `req`; `progress` receives a short line for each step and pip's progress.
pub async fn install_pypi(
    req: &InstallRequest,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Installed, String> {
    let (package, _) = parse_requirement(&req.requirement)?;
    let name = req.name.clone().unwrap_or_else(|| default_name(&package));
    check_plugin_name(&name).map_err(|e| format!("--name: {e}"))?;
    // Absolute: the plugin's process runs in its directory.
    let base =
        std::path::absolute(&req.dir).map_err(|e| format!("--dir {}: {e}", req.dir.display()))?;
    let dir = base.join(&name);
    if dir.join(MANIFEST_FILE).exists() {
        return Err(format!(
            "{} already holds a plugin; remove that directory first, or choose another --name",
            dir.display()
        ));
    }
    std::fs::create_dir_all(&req.dir)
        .map_err(|e| format!("cannot create {}: {e}", req.dir.display()))?;
    let venv = dir.join("venv");
    progress(&format!(
        "creating a virtual environment in {}",
        venv.display()
    ));
    run(
        Command::new(&req.python).args(["-m", "venv"]).arg(&venv),
        &format!("{} -m venv", req.python),
        progress,
    )
    .await?;
    let python = venv.join("bin").join("python");
    progress(&format!("pip install {}", req.requirement));
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
            ])
            .arg(&req.requirement),
        "pip install",
        progress,
    )
    .await?;
    let (version, summary, scripts) = metadata(&python, &package).await?;
    let script = pick_script(&scripts, &package)?;
    let manifest = Manifest {
        name: name.clone(),
        protocol: Protocol::Airbyte,
        command: vec![format!("venv/bin/{script}")],
        version: Some(version),
        description: (!summary.is_empty()).then_some(summary),
        env: BTreeMap::from([("PYTHONUNBUFFERED".to_owned(), "1".to_owned())]),
    };
    progress(&format!("checking it: {script} spec"));
    let cmd = PluginCommand {
        plugin: name.clone(),
        program: manifest.program(&dir),
        args: vec![],
        env: manifest.env.clone(),
        dir: dir.clone(),
    };
    run_once(&cmd, &["spec".to_owned()], "SPEC", SPEC_TIMEOUT, None)
        .await
        .map_err(|e| {
            format!(
                "installed, but {e}; the directory {} was left for a look",
                dir.display()
            )
        })?;
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| format!("cannot write plugin.json: {e}"))?;
    std::fs::write(dir.join(MANIFEST_FILE), text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", dir.join(MANIFEST_FILE).display()))?;
    Ok(Installed { dir, manifest })
}

/// Runs a step, passing its output lines to `progress`; a failure shows the last lines.
async fn run(
    cmd: &mut Command,
    what: &str,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut tail: Vec<String> = Vec::new();
    let mut lines = futures::stream::select(
        stdout
            .map(|s| FramedRead::new(s, LinesCodec::new_with_max_length(64 * 1024)).boxed())
            .unwrap_or_else(|| futures::stream::empty().boxed()),
        stderr
            .map(|s| FramedRead::new(s, LinesCodec::new_with_max_length(64 * 1024)).boxed())
            .unwrap_or_else(|| futures::stream::empty().boxed()),
    );
    while let Some(line) = lines.next().await {
        let Ok(line) = line else { continue };
        if !line.trim().is_empty() {
            progress(line.trim());
        }
        tail.push(line);
        if tail.len() > PIP_TAIL {
            tail.remove(0);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| format!("cannot wait for {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({status}); it said:\n{}",
            tail.join("\n")
        ))
    }
}

/// The installed version, summary and console scripts of `package`.
async fn metadata(python: &Path, package: &str) -> Result<(String, String, Vec<String>), String> {
    const SCRIPT: &str = "import importlib.metadata as m, json, sys\n\
        d = m.distribution(sys.argv[1])\n\
        print(json.dumps({'version': d.version, 'summary': d.metadata.get('Summary') or '',\n\
          'scripts': [e.name for e in d.entry_points if e.group == 'console_scripts']}))";
    let out = Command::new(python)
        .args(["-c", SCRIPT, package])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot read the package's metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cannot read the metadata of {package}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        version: String,
        summary: String,
        scripts: Vec<String>,
    }
    let m: Meta = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cannot read the package's metadata: {e}"))?;
    Ok((m.version, m.summary, m.scripts))
}

/// The console script that runs the source: the only one, else the one named like an
/// Airbyte source.
fn pick_script(scripts: &[String], package: &str) -> Result<String, String> {
    match scripts {
        [] => Err(format!(
            "{package} installs no console script: it is not a runnable Airbyte source"
        )),
        [one] => Ok(one.clone()),
        many => many
            .iter()
            .find(|s| s.starts_with("source-"))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "{package} installs several console scripts ({}); none is named source-*",
                    many.join(", ")
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requirement_is_a_package_and_an_optional_exact_version() {
        assert_eq!(
            parse_requirement("airbyte-source-faker==7.2.1"),
            Ok(("airbyte-source-faker".into(), Some("7.2.1".into())))
        );
        assert_eq!(
            parse_requirement("airbyte-source-faker"),
            Ok(("airbyte-source-faker".into(), None))
        );
        for bad in ["", "a b", "x>=1", "x==", "x; rm -rf /"] {
            assert!(parse_requirement(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_name_drops_the_airbyte_source_prefix() {
        assert_eq!(default_name("airbyte-source-faker"), "faker");
        assert_eq!(default_name("Airbyte_Source_GitHub"), "github");
        assert_eq!(default_name("airbyte-cdk"), "airbyte-cdk");
    }

    #[test]
    fn the_source_script_is_the_only_one_or_the_one_named_source() {
        assert_eq!(
            pick_script(&["source-faker".into()], "p"),
            Ok("source-faker".into())
        );
        assert_eq!(
            pick_script(&["x".into(), "source-declarative-manifest".into()], "p"),
            Ok("source-declarative-manifest".into())
        );
        assert!(pick_script(&[], "p").is_err());
        assert!(pick_script(&["a".into(), "b".into()], "p").is_err());
    }
}
