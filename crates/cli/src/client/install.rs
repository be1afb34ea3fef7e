//! `plugins install-pypi`: installs an Airbyte source from PyPI into a plugin path,
//! with a progress line on stderr while pip runs.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use connect_plugins::install::{install_pypi as install, InstallRequest};

/// Installs, prints what happened; exit 0 on success, 2 with what to fix else.
pub async fn install_pypi(
    requirement: String,
    dir: PathBuf,
    name: Option<String>,
    python: String,
) -> ExitCode {
    let request = InstallRequest {
        requirement,
        dir,
        name,
        python,
    };
    // On a terminal, one line rewritten in place; else one line per step.
    let tty = std::io::stderr().is_terminal();
    let mut progress = move |line: &str| {
        let mut err = std::io::stderr().lock();
        if tty {
            let shown: String = line.chars().take(100).collect();
            let _ = write!(err, "\r\x1b[2K{shown}");
        } else if is_step(line) {
            let _ = writeln!(err, "{line}");
        }
    };
    let result = install(&request, &mut progress).await;
    if tty {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    match result {
        Ok(installed) => {
            let m = &installed.manifest;
            println!(
                "installed plugin {} {} ({}) into {}",
                m.name,
                m.version.as_deref().unwrap_or("?"),
                m.command.join(" "),
                installed.dir.display()
            );
            println!(
                "workers load it at start when their pluginPaths include {}; its connector.class is {}",
                request.dir.display(),
                m.name
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rmq-connect: plugins install-pypi: {e}");
            ExitCode::from(2)
        }
    }
}

/// Whether a line is worth a line of its own in a log (not a terminal): the installer's
/// own steps and pip's main ones, not its every download and requirement.
fn is_step(line: &str) -> bool {
    const PIP: &[&str] = &[
        "Collecting ",
        "Installing collected",
        "Successfully",
        "ERROR",
        "WARNING",
    ];
    let pip = PIP.iter().any(|p| line.starts_with(p));
    let ours = line.starts_with("creating ")
        || line.starts_with("pip install ")
        || line.starts_with("checking it:");
    // Only the packages asked for, not each dependency pip collects.
    (pip && !line.starts_with("Collecting ")) || ours || line.starts_with("Collecting airbyte")
}

#[cfg(test)]
mod tests {
    use super::is_step;

    #[test]
    fn a_log_gets_the_steps_and_the_package_asked_for_not_every_dependency() {
        for shown in [
            "creating a virtual environment in /p/faker/venv",
            "pip install airbyte-source-faker==7.2.1",
            "Collecting airbyte-source-faker==7.2.1",
            "Installing collected packages: six, pytz",
            "Successfully installed airbyte-source-faker-7.2.1",
            "ERROR: No matching distribution found for airbyte-source-nope",
            "checking it: source-faker spec",
        ] {
            assert!(is_step(shown), "{shown}");
        }
        for hidden in [
            "Collecting pytz (from airbyte-cdk)",
            "  Downloading pytz-2024.2-py2.py3-none-any.whl (508 kB)",
            "Requirement already satisfied: six",
        ] {
            assert!(!is_step(hidden), "{hidden}");
        }
    }
}
