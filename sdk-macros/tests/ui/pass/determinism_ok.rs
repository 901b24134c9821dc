//! Workflow code the determinism checks accept: iteration over ordered collections, a biased
//! `select!`, opt-outs with a reason, and mutable iteration in a signal handler, which must
//! still borrow-check.
use chronicle::prelude::*;
use chronicle::WorkflowDefinition;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Stands in for tokio, which these tests do not depend on: only the macro's name matters.
mod tokio {
    macro_rules! select {
        (biased; $(_ = $future:expr => $value:expr),* $(,)?) => {{
            $(let _ = $future;)*
            "first"
        }};
    }
    pub(crate) use select;
}

#[derive(Default)]
pub struct Ledger {
    balances: BTreeMap<String, i64>,
    tags: BTreeSet<String>,
    entries: Vec<i64>,
    /// Hash collections are fine to hold, look up and count.
    index: HashMap<String, usize>,
    seen: HashSet<u64>,
}

#[workflow]
impl Ledger {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        ctx.wait_until(|s| !s.balances.is_empty()).await?;
        let report = ctx.state(|s| {
            let mut lines = Vec::new();
            for (name, balance) in &s.balances {
                lines.push(format!("{name}: {balance}"));
            }
            for tag in s.tags.iter() {
                lines.push(tag.clone());
            }
            let total: i64 = s.entries.iter().sum();
            lines.push(total.to_string());
            lines.extend(s.balances.keys().cloned());
            for (i, entry) in s.entries.iter().enumerate() {
                lines.push(format!("{i}: {entry}"));
            }
            for i in 0..s.entries.len() {
                lines.push(i.to_string());
            }
            // Order-insensitive questions about a hash collection are not reported.
            if s.index.values().any(|&i| i > 100) || s.seen.iter().count() > 3 {
                lines.push(s.index.len().to_string());
            }
            lines
        });
        // Temporaries of the iterated expression live as long as before.
        for word in "a b".to_string().split(' ') {
            let _ = word;
        }
        for x in &vec![1, 2] {
            let _ = x;
        }
        let first = tokio::select! {
            biased;
            _ = ctx.sleep(Duration::from_secs(1)) => "first",
            _ = ctx.sleep(Duration::from_secs(2)) => "second",
        };
        let _ = first;
        Ok(report)
    }

    #[signal]
    pub fn credit(&mut self, name: String, cents: i64) {
        *self.balances.entry(name.clone()).or_default() += cents;
        self.entries.push(cents);
        for entry in self.entries.iter_mut() {
            *entry += 1;
        }
        for entry in &mut self.entries {
            *entry -= 1;
        }
        for (_, balance) in self.balances.iter_mut() {
            *balance += 0;
        }
        self.balances.values_mut().for_each(|b| *b += 0);
        let index = self.entries.len();
        self.index.insert(name, index);
        self.entries.drain(..0).for_each(drop);
    }

    #[query]
    pub fn total(&self) -> i64 {
        self.balances.values().sum::<i64>() + Self::sum_all(self.entries.clone())
    }

    /// A whole method may opt out, with a reason.
    #[nondeterministic(reason = "the order does not matter for a sum of integers")]
    pub fn hashed_total(&self) -> usize {
        let started = std::time::Instant::now();
        let total = self.index.values().sum::<usize>();
        for seen in &self.seen {
            let _ = seen;
        }
        let _ = started.elapsed();
        total
    }

    /// So may a statement.
    pub fn largest_index(&self) -> usize {
        let mut largest = 0;
        #[nondeterministic(reason = "max is the same in any order")]
        for (_, &i) in &self.index {
            largest = largest.max(i);
        }
        #[nondeterministic(reason = "debug output only")]
        let _now = std::time::SystemTime::now();
        largest
    }

    /// Generic iteration is not mistaken for a hash collection.
    fn sum_all<I: IntoIterator<Item = i64>>(items: I) -> i64 {
        let mut total = 0;
        for item in items.into_iter() {
            total += item;
        }
        total
    }
}

fn main() {
    assert_eq!(<Ledger as WorkflowDefinition>::NAME, "Ledger");
    let mut ledger = Ledger::default();
    ledger.credit("ada".into(), 5);
    ledger.credit("bob".into(), 7);
    assert_eq!(ledger.total(), 12 + 12);
    assert_eq!(ledger.hashed_total(), 3);
    assert_eq!(ledger.largest_index(), 2);
}
