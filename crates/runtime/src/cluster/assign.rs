//! Balanced, sticky task assignment: every task to exactly one live worker, task counts
//! per worker differing by at most one, and as few tasks as possible moved from the
//! previous assignment.
//!
//! Deterministic: the same members, tasks and previous assignment always give the same
//! result, whichever worker computes it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One task of one connector.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskKey {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

impl TaskKey {
    /// Task `task` of `connector`.
    pub fn new(connector: &str, task: u32) -> Self {
        Self {
            connector: connector.to_owned(),
            task,
        }
    }
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// Worker id → the tasks it runs (every member has an entry, maybe empty).
pub type Assignment = BTreeMap<String, BTreeSet<TaskKey>>;

/// Assigns `tasks` to `members`.
///
/// Each member first keeps the tasks it had in `previous` that still exist, up to its
/// quota; members over quota give up their highest tasks; the tasks left over go, in
/// order, to the member with the fewest tasks (ties by worker id). With `m` members and
/// `n` tasks, `n mod m` members get `n / m + 1` tasks and the others `n / m`; the
/// members allowed the larger share are those that already hold the most.
pub fn assign(
    members: &BTreeSet<String>,
    tasks: &BTreeSet<TaskKey>,
    previous: &Assignment,
) -> Assignment {
    let mut out: Assignment = members
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    if members.is_empty() {
        return out;
    }
    let m = members.len();
    let n = tasks.len();
    let floor = n / m;
    let extra = n % m;

    // What each member kept from before (a task is kept by one member at most).
    let mut kept: BTreeMap<&String, Vec<&TaskKey>> = BTreeMap::new();
    let mut taken = BTreeSet::new();
    for member in members {
        let mine: Vec<&TaskKey> = previous
            .get(member)
            .into_iter()
            .flatten()
            .filter(|t| tasks.contains(*t) && taken.insert(*t))
            .collect();
        kept.insert(member, mine);
    }
    // The larger share goes to the members holding the most already.
    let mut by_held: Vec<&String> = members.iter().collect();
    by_held.sort_by(|a, b| kept[b].len().cmp(&kept[a].len()).then(a.cmp(b)));
    let quota: BTreeMap<&String, usize> = by_held
        .iter()
        .enumerate()
        .map(|(i, member)| (*member, floor + usize::from(i < extra)))
        .collect();

    let mut placed = BTreeSet::new();
    for (member, set) in out.iter_mut() {
        for t in kept[member].iter().take(quota[member]) {
            set.insert((*t).clone());
            placed.insert(*t);
        }
    }
    for task in tasks.iter().filter(|t| !placed.contains(t)) {
        let least = out
            .iter_mut()
            .filter(|(member, set)| set.len() < quota[member])
            .min_by(|(a, x), (b, y)| x.len().cmp(&y.len()).then(a.cmp(b)));
        if let Some((_, set)) = least {
            set.insert(task.clone());
        }
    }
    out
}

/// How many tasks change owner between two assignments (new or removed tasks count
/// once).
pub fn moved(before: &Assignment, after: &Assignment) -> usize {
    let owners = |a: &Assignment| -> BTreeMap<TaskKey, String> {
        a.iter()
            .flat_map(|(w, ts)| ts.iter().map(move |t| (t.clone(), w.clone())))
            .collect()
    };
    let (b, a) = (owners(before), owners(after));
    let keys: BTreeSet<&TaskKey> = b.keys().chain(a.keys()).collect();
    keys.into_iter().filter(|k| b.get(*k) != a.get(*k)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn tasks(spec: &[(&str, u32)]) -> BTreeSet<TaskKey> {
        spec.iter()
            .flat_map(|(c, n)| (0..*n).map(move |t| TaskKey::new(c, t)))
            .collect()
    }

    fn counts(a: &Assignment) -> Vec<usize> {
        a.values().map(BTreeSet::len).collect()
    }

    fn check_balanced_and_complete(a: &Assignment, all: &BTreeSet<TaskKey>) {
        let c = counts(a);
        let (min, max) = (c.iter().min().unwrap(), c.iter().max().unwrap());
        assert!(max - min <= 1, "unbalanced: {c:?}");
        let mut seen = BTreeSet::new();
        for t in a.values().flatten() {
            assert!(seen.insert(t.clone()), "{t} assigned twice");
        }
        assert_eq!(&seen, all, "every task exactly once");
    }

    #[test]
    fn a_first_assignment_is_balanced_and_complete() {
        let all = tasks(&[("a", 4), ("b", 3)]);
        let a = assign(&workers(&["w1", "w2", "w3"]), &all, &Assignment::new());
        check_balanced_and_complete(&a, &all);
    }

    #[test]
    fn no_members_assigns_nothing_and_no_tasks_gives_empty_sets() {
        let all = tasks(&[("a", 2)]);
        assert!(assign(&BTreeSet::new(), &all, &Assignment::new()).is_empty());
        let a = assign(
            &workers(&["w1", "w2"]),
            &BTreeSet::new(),
            &Assignment::new(),
        );
        assert_eq!(counts(&a), [0, 0]);
    }

    #[test]
    fn a_dead_workers_tasks_move_and_nothing_else_does() {
        let all = tasks(&[("a", 6)]);
        let before = assign(&workers(&["w1", "w2", "w3"]), &all, &Assignment::new());
        let after = assign(&workers(&["w1", "w3"]), &all, &before);
        check_balanced_and_complete(&after, &all);
        assert_eq!(moved(&before, &after), 2, "only w2's two tasks move");
        for w in ["w1", "w3"] {
            assert!(before[w].is_subset(&after[w]), "{w} keeps what it had");
        }
    }

    #[test]
    fn a_joining_worker_takes_a_balanced_share_with_minimal_movement() {
        let all = tasks(&[("a", 4), ("b", 4)]);
        let before = assign(&workers(&["w1", "w2", "w3"]), &all, &Assignment::new());
        let after = assign(&workers(&["w1", "w2", "w3", "w4"]), &all, &before);
        check_balanced_and_complete(&after, &all);
        // 8 tasks over 4 workers: w4 takes 2, taken from the two workers that had 3.
        assert_eq!(after["w4"].len(), 2);
        assert_eq!(moved(&before, &after), 2);
    }

    #[test]
    fn new_and_removed_tasks_rebalance_without_moving_kept_ones_needlessly() {
        let before = assign(
            &workers(&["w1", "w2"]),
            &tasks(&[("a", 2), ("b", 2)]),
            &Assignment::new(),
        );
        let all = tasks(&[("a", 2), ("c", 2)]);
        let after = assign(&workers(&["w1", "w2"]), &all, &before);
        check_balanced_and_complete(&after, &all);
        // The two a-tasks stay where they were.
        for t in tasks(&[("a", 2)]) {
            let owner = |x: &Assignment| {
                x.iter()
                    .find(|(_, s)| s.contains(&t))
                    .map(|(w, _)| w.clone())
            };
            assert_eq!(owner(&before), owner(&after));
        }
    }

    #[test]
    fn the_result_does_not_depend_on_who_computes_it() {
        let all = tasks(&[("x", 5), ("y", 2)]);
        let members = workers(&["b", "a", "c"]);
        let prev = assign(&workers(&["a", "b"]), &all, &Assignment::new());
        assert_eq!(assign(&members, &all, &prev), assign(&members, &all, &prev));
    }

    #[test]
    fn a_task_claimed_twice_in_the_previous_assignment_ends_up_once() {
        let all = tasks(&[("a", 2)]);
        let mut prev = Assignment::new();
        prev.insert("w1".into(), all.clone());
        prev.insert("w2".into(), all.clone());
        let after = assign(&workers(&["w1", "w2"]), &all, &prev);
        check_balanced_and_complete(&after, &all);
    }
}
