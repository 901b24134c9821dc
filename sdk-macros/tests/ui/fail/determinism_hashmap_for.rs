use chronicle::prelude::*;
use std::collections::HashMap;

#[derive(Default)]
pub struct Tally {
    votes: HashMap<String, u32>,
}

#[workflow]
impl Tally {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        ctx.wait_until(|s| s.votes.len() >= 3).await?;
        Ok(ctx.state(|s| {
            let mut winners = Vec::new();
            for (name, count) in &s.votes {
                if *count > 1 {
                    winners.push(name.clone());
                }
            }
            winners
        }))
    }

    #[signal]
    pub fn vote(&mut self, name: String) {
        *self.votes.entry(name).or_default() += 1;
    }
}

fn main() {}
