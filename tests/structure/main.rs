//! The workspace's shape, checked from its source text: no import circle between the
//! files of one crate, and no source file over 600 lines without a reason at its top.
//!
//! Hermetic: it reads files of the workspace and needs no service. Run it alone with
//! `cargo test -p connect-e2e --test structure`. A failure prints every circle with the
//! names that tie it, or every long file with its line count, and what to do.

mod circles;
mod graph_tests;
mod lexer;
mod rust_graph;
mod scope;
mod sizes;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use circles::find_circles;
use rust_graph::CrateGraph;
use sizes::{is_executable, is_test_source, unexplained_length, MARK, MAX_LINES, REASON_WITHIN};

/// Folders whose sub-folders are packages checked for circles and file length.
const PACKAGE_FOLDERS: [&str; 2] = ["crates", "connectors"];
/// More packages whose `src/` files are checked for length.
const MORE_SIZED_PACKAGES: [&str; 1] = ["bench"];
/// Scripts (folders of them, or single files) checked for length when executable.
const SCRIPTS: [&str; 4] = ["distribution/bin", "tests/run", "bench/run", "bench/peers"];

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `path` relative to `base`, with `/` separators.
fn rel(base: &Path, path: &Path) -> String {
    let r = path.strip_prefix(base).unwrap_or(path);
    let parts: Vec<_> = r
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// Every file under `dir` (none when it does not exist), sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return Ok(out);
    }
    if !dir.is_dir() {
        return Ok(out);
    }
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The packages under [`PACKAGE_FOLDERS`]: folders with a `Cargo.toml` and a `src/`.
fn packages(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for folder in PACKAGE_FOLDERS {
        let dir = root.join(folder);
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.join("Cargo.toml").is_file() && path.join("src").is_dir() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `.rs` files under `src`, by path relative to it.
fn rust_sources(src: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for path in files_under(src)? {
        if path.extension().is_some_and(|e| e == "rs") {
            out.insert(rel(src, &path), read(&path)?);
        }
    }
    Ok(out)
}

/// The crate roots of a package: `lib.rs`, `main.rs` and `bin/*.rs`.
fn crate_roots(files: &BTreeMap<String, String>) -> Vec<String> {
    let fixed = ["lib.rs", "main.rs"].into_iter().map(str::to_owned);
    let bins = files
        .keys()
        .filter(|f| f.starts_with("bin/") && f.matches('/').count() == 1)
        .cloned();
    fixed
        .chain(bins)
        .filter(|f| files.contains_key(f))
        .collect()
}

#[test]
fn no_import_circle_between_files_of_one_crate() {
    let root = workspace_root();
    let packages = packages(&root).unwrap_or_else(|e| panic!("reading the workspace: {e}"));
    let (mut problems, mut report) = (Vec::new(), Vec::new());
    let (mut crates, mut files, mut edges, mut circles) = (0, 0, 0, 0);
    for package in &packages {
        let src = package.join("src");
        let sources = rust_sources(&src).unwrap_or_else(|e| panic!("reading {src:?}: {e}"));
        let shown = |f: &str| format!("{}/{f}", rel(&root, &src));
        for crate_root in crate_roots(&sources) {
            let graph = CrateGraph::build(&sources, &crate_root);
            let graph_edges = graph.edges();
            crates += 1;
            files += graph.files().len();
            edges += graph_edges.len();
            problems.extend(graph.problems.iter().map(|p| shown(p)));
            for circle in find_circles(&graph_edges) {
                circles += 1;
                let names: Vec<String> = circle.files.iter().map(|f| shown(f)).collect();
                let (n, all) = (names.len(), names.join(", "));
                report.push(format!("circle {circles}: {n} files: {all}"));
                for (from, to, tie) in &circle.ties {
                    let (from, to, tie) = (shown(from), shown(to), tie.join(", "));
                    report.push(format!("  {from} -> {to}: {tie}"));
                }
            }
        }
    }
    println!("read {crates} crates, {files} files, {edges} file-to-file edges, {circles} circles");
    assert!(
        problems.is_empty(),
        "the structure test could not read these (fix the source or the reader in tests/structure):\n{}",
        problems.join("\n")
    );
    assert!(
        files > 0 && edges > 0,
        "no file or no edge was read: the reader is broken"
    );
    assert!(
        report.is_empty(),
        "{circles} import circle(s) between files of one crate \
         (file -> file: the names the first takes from the second):\n{}\n\
         Untie each circle: move what both files need into a file of its own, move an \
         item to the file that uses it, or pass it in. A mod.rs may re-export its children \
         (`pub use child::X;`) without making a circle; it makes one when its own code \
         uses a child that uses it back.",
        report.join("\n")
    );
}

/// The files checked for length: Rust sources outside tests, and executable scripts.
fn sized_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut src_dirs: Vec<PathBuf> = packages(root)?.iter().map(|p| p.join("src")).collect();
    src_dirs.extend(MORE_SIZED_PACKAGES.iter().map(|p| root.join(p).join("src")));
    let mut out = Vec::new();
    for src in src_dirs {
        for path in files_under(&src)? {
            let below = path.strip_prefix(&src).unwrap_or(&path);
            if path.extension().is_some_and(|e| e == "rs") && !is_test_source(below) {
                out.push(path);
            }
        }
    }
    for script in SCRIPTS {
        for path in files_under(&root.join(script))? {
            if is_executable(&path).map_err(|e| format!("{}: {e}", path.display()))? {
                out.push(path);
            }
        }
    }
    Ok(out)
}

#[test]
fn no_long_file_without_a_reason_at_its_top() {
    let root = workspace_root();
    let files = sized_files(&root).unwrap_or_else(|e| panic!("reading the workspace: {e}"));
    let mut long = Vec::new();
    for path in &files {
        let text = read(path).unwrap_or_else(|e| panic!("{e}"));
        if let Some(lines) = unexplained_length(&text) {
            long.push(format!("  {}: {lines} lines", rel(&root, path)));
        }
    }
    println!(
        "read {} files, {} too long without a reason",
        files.len(),
        long.len()
    );
    assert!(!files.is_empty(), "no file was read: the walker is broken");
    assert!(
        long.is_empty(),
        "{} file(s) over {MAX_LINES} lines without a reason at their top:\n{}\n\
         Split each by concern into files of at most {MAX_LINES} lines, or, when it reads \
         best as one file, write why within its first {REASON_WITHIN} lines: \
         `//! {MARK} <why>` in Rust, `# {MARK} <why>` in a script.",
        long.len(),
        long.join("\n")
    );
}
