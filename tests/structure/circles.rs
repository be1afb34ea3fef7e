//! Import circles: the strongly connected components of a file graph (Tarjan's algorithm),
//! with the edges that tie each one.
//!
//! Contract: only components of two or more files are circles (an edge from a file to
//! itself is never recorded). The output is sorted, so the report is stable.

use std::collections::{BTreeMap, BTreeSet};

use crate::rust_graph::Edges;

/// One import circle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circle {
    /// The files of the circle, sorted.
    pub files: Vec<String>,
    /// Each edge between two files of the circle: (from, to, the names from takes from to).
    pub ties: Vec<(String, String, Vec<String>)>,
}

/// Tarjan's state over node indices.
struct Tarjan<'a> {
    next: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    counter: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.counter);
        self.low[v] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.next[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

/// Every circle of `edges`, sorted by its files.
pub fn find_circles(edges: &Edges) -> Vec<Circle> {
    let nodes: Vec<&String> = edges
        .keys()
        .flat_map(|(a, b)| [a, b])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let id: BTreeMap<&String, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut next = vec![Vec::new(); nodes.len()];
    for (a, b) in edges.keys() {
        next[id[a]].push(id[b]);
    }
    let mut tarjan = Tarjan {
        next: &next,
        index: vec![None; nodes.len()],
        low: vec![0; nodes.len()],
        on_stack: vec![false; nodes.len()],
        stack: Vec::new(),
        counter: 0,
        components: Vec::new(),
    };
    for v in 0..nodes.len() {
        if tarjan.index[v].is_none() {
            tarjan.visit(v);
        }
    }
    let mut circles: Vec<Circle> = tarjan
        .components
        .into_iter()
        .filter(|c| c.len() >= 2)
        .map(|c| {
            let files: BTreeSet<String> = c.iter().map(|&i| nodes[i].clone()).collect();
            let ties = edges
                .iter()
                .filter(|((a, b), _)| files.contains(a) && files.contains(b))
                .map(|((a, b), names)| (a.clone(), b.clone(), names.iter().cloned().collect()))
                .collect();
            Circle {
                files: files.into_iter().collect(),
                ties,
            }
        })
        .collect();
    circles.sort_by(|a, b| a.files.cmp(&b.files));
    circles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &str)]) -> Edges {
        pairs
            .iter()
            .map(|(a, b)| {
                (
                    (a.to_string(), b.to_string()),
                    BTreeSet::from([format!("{a}{b}")]),
                )
            })
            .collect()
    }

    #[test]
    fn finds_each_component_of_two_or_more_files() {
        let e = edges(&[
            ("a", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "d"),
            ("f", "a"),
        ]);
        let circles = find_circles(&e);
        let files: Vec<Vec<String>> = circles.iter().map(|c| c.files.clone()).collect();
        assert_eq!(files, [vec!["a", "b", "c"], vec!["d", "e"]]);
        assert_eq!(circles[0].ties.len(), 3, "c -> d leaves the circle");
    }

    #[test]
    fn a_chain_is_no_circle() {
        assert!(find_circles(&edges(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }
}
