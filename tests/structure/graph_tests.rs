//! Tests of the import reader on small crates held in memory (path below `src/` → text).

use std::collections::BTreeMap;

use crate::circles::find_circles;
use crate::rust_graph::CrateGraph;

fn graph(files: &[(&str, &str)]) -> CrateGraph {
    let map: BTreeMap<String, String> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let g = CrateGraph::build(&map, "lib.rs");
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    g
}

/// The edges as `from -> to: names`, sorted.
fn edges(files: &[(&str, &str)]) -> Vec<String> {
    graph(files)
        .edges()
        .iter()
        .map(|((a, b), names)| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            format!("{a} -> {b}: {}", names.join(", "))
        })
        .collect()
}

fn circles(files: &[(&str, &str)]) -> Vec<Vec<String>> {
    find_circles(&graph(files).edges())
        .into_iter()
        .map(|c| c.files)
        .collect()
}

#[test]
fn a_two_file_circle_is_found_with_its_names() {
    let files = [
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\nfn f(_: B) {}\n"),
        ("b.rs", "pub struct B;\nfn g(_: crate::a::A) {}\n"),
    ];
    assert_eq!(edges(&files), ["a.rs -> b.rs: B", "b.rs -> a.rs: A"]);
    assert_eq!(circles(&files), [vec!["a.rs", "b.rs"]]);
}

#[test]
fn a_mod_rs_re_exporting_its_child_is_no_circle() {
    let files = [
        ("lib.rs", "mod m;\nmod user;\n"),
        ("m/mod.rs", "mod child;\npub use child::Y;\npub struct X;\n"),
        ("m/child.rs", "use super::X;\npub struct Y(X);\n"),
        ("user.rs", "fn f(_: crate::m::Y) {}\n"),
    ];
    assert_eq!(
        edges(&files),
        ["m/child.rs -> m/mod.rs: X", "user.rs -> m/child.rs: Y"],
        "the re-export is followed to the file defining Y, and is no use of its own"
    );
    assert!(circles(&files).is_empty());
}

#[test]
fn a_mod_rs_calling_its_child_that_uses_it_back_is_a_circle() {
    let files = [
        ("lib.rs", "mod m;\n"),
        (
            "m/mod.rs",
            "mod child;\npub struct X;\npub fn run() { child::helper(); }\n",
        ),
        (
            "m/child.rs",
            "use super::X;\npub fn helper() -> Option<X> { None }\n",
        ),
    ];
    assert_eq!(circles(&files), [vec!["m/child.rs", "m/mod.rs"]]);
}

#[test]
fn a_re_export_the_file_itself_uses_is_a_use() {
    let files = [
        ("lib.rs", "mod m;\n"),
        (
            "m/mod.rs",
            "mod child;\npub use child::Y;\npub struct X;\npub fn make() -> Y { Y(X) }\n",
        ),
        ("m/child.rs", "pub struct Y(pub super::X);\n"),
    ];
    assert_eq!(circles(&files), [vec!["m/child.rs", "m/mod.rs"]]);
}

#[test]
fn grouped_uses_and_renames_are_resolved() {
    let files = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        (
            "a.rs",
            "use crate::{\n    b::{B1, inner::{B2 as Two}},\n    c::C as See,\n};\nfn f(_: Two, _: See, _: B1) {}\n",
        ),
        ("b.rs", "pub mod inner;\npub struct B1;\n"),
        ("b/inner.rs", "pub struct B2;\n"),
        ("c.rs", "pub const C: u8 = 1;\n"),
    ];
    assert_eq!(
        edges(&files),
        [
            "a.rs -> b.rs: B1",
            "a.rs -> b/inner.rs: B2",
            "a.rs -> c.rs: C"
        ]
    );
}

#[test]
fn a_module_import_is_an_edge_only_when_its_paths_do_not_resolve() {
    let files = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        (
            "a.rs",
            "use crate::b as bee;\nuse crate::c;\nfn f(_: &dyn c::Dbg) { bee::g(); }\n",
        ),
        ("b.rs", "pub fn g() {}\n"),
        ("c.rs", "pub use std::fmt::Debug as Dbg;\n"),
    ];
    assert_eq!(edges(&files), ["a.rs -> b.rs: g", "a.rs -> c.rs: mod c"]);
}

#[test]
fn test_code_is_skipped() {
    let files = [
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "pub fn f() {}\n#[cfg(test)]\nuse crate::b::B2;\n#[cfg(test)]\n#[allow(unused)]\nmod more;\n\
             #[cfg(test)]\nmod tests {\n    use crate::b::B;\n    fn t() { let _ = crate::b::B2; }\n}\n\
             #[cfg(test)]\nfn helper<T, U>(_: T, _: U) -> crate::b::B { crate::b::B }\npub fn g() {}\n",
        ),
        ("a/more.rs", "use crate::b::B;\n"),
        ("b.rs", "mod tests;\npub struct B;\npub struct B2;\npub fn uses_a() { crate::a::g() }\n"),
        ("b/tests.rs", "use crate::a::f;\n"),
    ];
    assert_eq!(edges(&files), ["b.rs -> a.rs: g"]);
}

#[test]
fn paths_in_code_and_attributes_count_comments_and_strings_do_not() {
    let files = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        (
            "a.rs",
            "/// See [`crate::c::Gone`].\n#[schema(value_type = Vec<super::b::Doc>)]\npub struct A;\n\
             fn f() { let _ = \"crate::c::Gone\"; crate::c::Kind::Long; }\n",
        ),
        ("b.rs", "pub struct Doc;\npub(in crate::c) fn limited() {}\n"),
        ("c.rs", "pub enum Kind { Long }\npub struct Gone;\n"),
    ];
    assert_eq!(edges(&files), ["a.rs -> b.rs: Doc", "a.rs -> c.rs: Kind"]);
}

#[test]
fn globs_and_chains_of_re_exports_reach_the_defining_file() {
    let files = [
        ("lib.rs", "mod m;\nmod user;\npub use m::Z as Zed;\n"),
        ("m/mod.rs", "mod child;\npub(crate) use self::child::*;\n"),
        ("m/child.rs", "pub struct Z;\npub fn make() {}\n"),
        (
            "user.rs",
            "use crate::Zed;\nfn f(_: Zed) { crate::m::make() }\n",
        ),
    ];
    assert_eq!(edges(&files), ["user.rs -> m/child.rs: Z, make"]);
}

#[test]
fn inline_modules_and_uses_in_function_bodies_count_for_their_file() {
    let files = [
        ("lib.rs", "mod a;\nmod error;\nmod routes;\n"),
        (
            "a.rs",
            "mod erased {\n    use crate::error::E;\n    pub trait J { fn w(&self) -> E; }\n}\n\
             fn f() { use crate::routes as r; r::list(); }\n",
        ),
        ("error.rs", "pub struct E;\n"),
        ("routes.rs", "pub fn list() {}\n"),
    ];
    assert_eq!(
        edges(&files),
        ["a.rs -> error.rs: E", "a.rs -> routes.rs: list"]
    );
}

#[test]
fn a_missing_module_file_and_a_path_attribute_are_reported() {
    let map: BTreeMap<String, String> = [
        ("lib.rs", "mod gone;\n#[path = \"x.rs\"]\nmod moved;\n"),
        ("x.rs", ""),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), t.to_string()))
    .collect();
    let problems = CrateGraph::build(&map, "lib.rs").problems;
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("#[path]"), "{problems:?}");
    assert!(problems[1].contains("`mod gone`"), "{problems:?}");
}

#[test]
fn a_name_made_by_a_macro_belongs_to_the_module_naming_it() {
    let files = [
        ("lib.rs", "mod position;\nmod record;\npub use position::Offset;\n"),
        (
            "position.rs",
            "use serde_json::Value;\nmacro_rules! canonical { ($n:ident) => { pub struct $n; } }\ncanonical!(Offset);\n",
        ),
        (
            "record.rs",
            "use crate::position::Offset;\nuse crate::position::Value;\nuse crate::Offset as Again;\n",
        ),
    ];
    assert_eq!(
        edges(&files),
        ["record.rs -> position.rs: Offset"],
        "a name imported from another crate is not made by the macro"
    );
}
