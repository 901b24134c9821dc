use chronicle::prelude::*;
use std::collections::HashMap;

#[derive(Default)]
pub struct Cart {
    prices: HashMap<String, u64>,
}

#[workflow]
impl Cart {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<u64>> {
        ctx.wait_until(|s| !s.prices.is_empty()).await?;
        Ok(ctx.state(|s| s.prices.values().copied().collect()))
    }

    #[signal]
    pub fn add(&mut self, item: String, cents: u64) {
        self.prices.insert(item, cents);
    }
}

fn main() {}
