//! The fix the HashMap-iteration error suggests compiles: collect into a `Vec` and sort it in
//! the next statement.
use chronicle::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct Cart {
    prices: HashMap<String, u64>,
    tags: HashSet<String>,
}

#[workflow]
impl Cart {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        ctx.wait_until(|s| !s.prices.is_empty()).await?;
        let mut names: Vec<_> = ctx.state(|s| s.prices.keys().cloned().collect::<Vec<_>>());
        names.sort();
        let report = ctx.state(|s| {
            let mut lines: Vec<String> = s
                .prices
                .iter()
                .map(|(name, cents)| format!("{name}: {cents}"))
                .collect();
            lines.sort_unstable();
            let mut tags: Vec<&String> = s.tags.iter().collect();
            tags.sort_by(|a, b| b.cmp(a));
            let mut cents = s.prices.values().copied().collect::<Vec<u64>>();
            cents.sort_by_key(|c| std::cmp::Reverse(*c));
            lines.extend(tags.into_iter().cloned());
            lines.extend(cents.iter().map(u64::to_string));
            lines
        });
        names.extend(report);
        Ok(names)
    }

    #[signal]
    pub fn add(&mut self, item: String, cents: u64) {
        self.prices.insert(item, cents);
    }
}

fn main() {}
