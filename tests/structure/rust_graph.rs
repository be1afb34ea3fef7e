//! The import graph between the files of one crate: which file uses a name defined in
//! which other file.
//!
//! Contract: the module tree is followed from the crate root through `mod` declarations,
//! the way the compiler finds files (`a.rs` or `a/mod.rs` next to a `mod.rs`/root file,
//! `a/b.rs` under a non-`mod.rs` file `a.rs`); test code never enters it (see
//! [`crate::scope`]). A file A has an edge to a file B when A's code or a private `use` of
//! A names an item (fn, struct, enum, union, trait, type, const, static, macro_rules)
//! defined in B. Names are resolved through `crate::`, `self::`, `super::`, child modules
//! and the names other `use`s bring into scope, following re-exports (`pub use`, globs)
//! to the file that defines the item. A re-export alone is not a use: `pub use child::X;`
//! makes no edge unless the re-exporting file's own code names `X`. A module imported by
//! `use crate::a;` makes an edge to `a`'s file only when no path through it (`a::f`)
//! resolves to an item. Names from other crates are not followed. A name that a module of
//! the crate neither defines nor imports is taken as made there by a macro.

use std::collections::{BTreeMap, BTreeSet};

use crate::lexer::tokenize;
use crate::scope::{read_module, Scope};

/// Edges between files: (from, to) → the names `from` takes from `to`.
pub type Edges = BTreeMap<(String, String), BTreeSet<String>>;

/// How deep a name may be followed through `use`s before giving up (a guard against
/// re-export loops).
const MAX_DEPTH: usize = 24;

struct Module {
    name: String,
    /// The file holding the module's text (an inline module shares its parent's file).
    file: String,
    /// The folder where the files of its child modules live.
    dir: String,
    parent: Option<usize>,
    children: BTreeMap<String, usize>,
    scope: Scope,
}

/// What a path names: a module, or an item defined in a module.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Module(usize),
    Item { module: usize, name: String },
}

/// The module tree of one crate, read from its source files.
pub struct CrateGraph {
    modules: Vec<Module>,
    /// What could not be read (a declared module without a file, a `#[path]`).
    pub problems: Vec<String>,
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

impl CrateGraph {
    /// Reads the crate whose root file is `root`; `files` maps each path (relative to the
    /// crate's `src/`, with `/` separators) to its text.
    pub fn build(files: &BTreeMap<String, String>, root: &str) -> CrateGraph {
        let mut graph = CrateGraph {
            modules: Vec::new(),
            problems: Vec::new(),
        };
        let Some(text) = files.get(root) else {
            graph.problems.push(format!("{root}: no such file"));
            return graph;
        };
        let dir = root.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        graph.push(
            String::new(),
            root.to_owned(),
            dir,
            None,
            read_module(&tokenize(text)),
        );
        let mut next = 0;
        while next < graph.modules.len() {
            let decls = std::mem::take(&mut graph.modules[next].scope.mods);
            for decl in decls {
                let parent = &graph.modules[next];
                let dir = join(&parent.dir, &decl.name);
                let (file, scope) = match decl.inline {
                    Some(scope) => (parent.file.clone(), scope),
                    None => {
                        let flat = format!("{dir}.rs");
                        let nested = format!("{dir}/mod.rs");
                        let found = [flat.clone(), nested.clone()]
                            .into_iter()
                            .find_map(|f| files.get(&f).map(|t| (f, t)));
                        let Some((file, text)) = found else {
                            let problem = format!(
                                "{}: `mod {}` is in neither {flat} nor {nested}",
                                parent.file, decl.name
                            );
                            graph.problems.push(problem);
                            continue;
                        };
                        (file, read_module(&tokenize(text)))
                    }
                };
                let id = graph.push(decl.name.clone(), file, dir, Some(next), scope);
                graph.modules[next].children.insert(decl.name, id);
            }
            next += 1;
        }
        graph
    }

    fn push(
        &mut self,
        name: String,
        file: String,
        dir: String,
        parent: Option<usize>,
        scope: Scope,
    ) -> usize {
        for what in &scope.unsupported {
            let problem = format!("{file}: {what}, which this test does not follow");
            self.problems.push(problem);
        }
        self.modules.push(Module {
            name,
            file,
            dir,
            parent,
            children: BTreeMap::new(),
            scope,
        });
        self.modules.len() - 1
    }

    /// Every file of the crate's module tree.
    pub fn files(&self) -> BTreeSet<String> {
        self.modules.iter().map(|m| m.file.clone()).collect()
    }

    /// What `segs` names when written in module `m`.
    fn resolve(&self, m: usize, segs: &[String], depth: usize) -> Option<Target> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (mut target, rest) = match segs.first()?.as_str() {
            "crate" => (Target::Module(0), &segs[1..]),
            "self" => (Target::Module(m), &segs[1..]),
            "super" => {
                let mut cur = m;
                let mut n = 0;
                while segs.get(n).is_some_and(|s| s == "super") {
                    cur = self.modules[cur].parent?;
                    n += 1;
                }
                (Target::Module(cur), &segs[n..])
            }
            first => (self.lookup(m, first, depth + 1)?, &segs[1..]),
        };
        for seg in rest {
            match target {
                // The rest names a variant or an associated item of the item.
                Target::Item { .. } => break,
                Target::Module(id) => {
                    target = match self.lookup(id, seg, depth + 1) {
                        Some(t) => t,
                        // A name a module neither defines nor imports is made there by a
                        // macro (`canonical_map!(SourceOffset)`).
                        None if !self.may_import(id, seg) => Target::Item {
                            module: id,
                            name: seg.clone(),
                        },
                        None => return None,
                    }
                }
            }
        }
        Some(target)
    }

    /// What `name` means inside module `m`: a child module, an item of `m`, or what a
    /// `use` of `m` brings in under that name.
    fn lookup(&self, m: usize, name: &str, depth: usize) -> Option<Target> {
        if depth > MAX_DEPTH {
            return None;
        }
        let module = &self.modules[m];
        if let Some(&child) = module.children.get(name) {
            return Some(Target::Module(child));
        }
        if module.scope.defs.iter().any(|d| d == name) {
            let name = name.to_owned();
            return Some(Target::Item { module: m, name });
        }
        let uses = &module.scope.uses;
        let named = uses
            .iter()
            .filter(|u| !u.glob && u.bound.as_deref() == Some(name));
        if let Some(t) = named
            .filter_map(|u| self.resolve(m, &u.path, depth + 1))
            .next()
        {
            return Some(t);
        }
        uses.iter()
            .filter(|u| u.glob)
            .filter_map(|u| match self.resolve(m, &u.path, depth + 1) {
                Some(Target::Module(g)) if g != m => self.lookup(g, name, depth + 1),
                _ => None,
            })
            .next()
    }

    /// Whether a `use` of module `m` may bring `name` in (a glob, or a `use` naming it
    /// that leads out of the crate).
    fn may_import(&self, m: usize, name: &str) -> bool {
        let uses = &self.modules[m].scope.uses;
        uses.iter()
            .any(|u| u.glob || u.bound.as_deref() == Some(name))
    }

    /// The file and the name an edge to `target` is reported with.
    fn tie(&self, target: &Target) -> (String, String) {
        match target {
            Target::Item { module, name } => (self.modules[*module].file.clone(), name.clone()),
            Target::Module(id) => {
                let m = &self.modules[*id];
                (m.file.clone(), format!("mod {}", m.name))
            }
        }
    }

    /// The edges between the crate's files.
    pub fn edges(&self) -> Edges {
        let mut edges = Edges::new();
        for (m, module) in self.modules.iter().enumerate() {
            let mut found = Vec::new();
            let mut resolved_heads = BTreeSet::new();
            for path in &module.scope.paths {
                if let Some(t) = self.resolve(m, path, 0) {
                    resolved_heads.insert(path[0].as_str());
                    found.push(t);
                }
            }
            let idents: BTreeSet<&str> = module.scope.idents.iter().map(String::as_str).collect();
            for u in &module.scope.uses {
                let target = self.resolve(m, &u.path, 0);
                if u.glob {
                    if let Some(Target::Module(g)) = target {
                        let items = idents.iter().filter_map(|name| self.lookup(g, name, 0));
                        found.extend(items.filter(|t| matches!(t, Target::Item { .. })));
                    }
                    continue;
                }
                let bound = u.bound.as_deref();
                let used = match &target {
                    // A re-exported item is used only when this file's code names it.
                    Some(Target::Item { .. }) => {
                        !u.public || bound.is_some_and(|b| idents.contains(b))
                    }
                    // An imported module is used through its paths, unless none resolves.
                    Some(Target::Module(_)) => {
                        !u.public && bound.is_some_and(|b| !resolved_heads.contains(b))
                    }
                    None => false,
                };
                found.extend(target.filter(|_| used));
            }
            for t in found {
                let (to, name) = self.tie(&t);
                if to != module.file {
                    let key = (module.file.clone(), to);
                    edges.entry(key).or_default().insert(name);
                }
            }
        }
        edges
    }
}
