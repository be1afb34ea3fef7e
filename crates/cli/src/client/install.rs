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
        } else if !line.starts_with("  ") {
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
