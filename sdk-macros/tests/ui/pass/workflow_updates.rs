//! Updates with and without validators, async signals, and the client calls that use them.
use chronicle::client::{UpdateOptions, UpdateStage};
use chronicle::prelude::*;

#[chronicle::activity]
async fn check(_ctx: ActivityContext, item: String) -> Result<String, ActivityError> {
    Ok(item)
}

#[derive(Default)]
pub struct Cart {
    pub items: Vec<String>,
    pub total: u64,
}

#[derive(Debug)]
pub struct TooMany(usize);

impl std::fmt::Display for TooMany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} items already", self.0)
    }
}

#[workflow]
impl Cart {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_until(|s| s.items.len() > 2).await?;
        ctx.wait_until_handlers_finished().await;
        Ok(ctx.state(|s| s.total))
    }

    #[update(name = "add-item", validator = validate_add)]
    pub async fn add(ctx: WorkflowContext<Self>, item: String, price: u64) -> WorkflowResult<u64> {
        let item = ctx.activity(check, item).await?;
        Ok(ctx.update(|s| {
            s.items.push(item);
            s.total += price;
            s.total
        }))
    }

    fn validate_add(&self, _item: &String, price: &u64) -> Result<(), TooMany> {
        if self.items.len() > 10 || *price == 0 {
            return Err(TooMany(self.items.len()));
        }
        Ok(())
    }

    #[update]
    pub async fn clear(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.update(|s| s.items.clear());
        Ok(())
    }

    #[signal]
    pub async fn add_later(ctx: WorkflowContext<Self>, item: String) {
        if ctx.sleep(Duration::from_secs(1)).await.is_ok() {
            ctx.update(|s| s.items.push(item));
        }
    }

    #[signal]
    pub async fn add_checked(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<()> {
        let item = ctx.activity(check, item).await?;
        ctx.update(|s| s.items.push(item));
        Ok(())
    }
}

async fn client_calls(client: Client, handle: chronicle::WorkflowHandle<Cart>) {
    let _total: Result<u64, _> = handle.update(Cart::add, ("pen".to_string(), 3)).await;
    let started = handle
        .start_update_with(
            Cart::clear,
            (),
            UpdateOptions::new().id("clear-1").wait_for(UpdateStage::Completed),
        )
        .await;
    if let Ok(started) = started {
        let _: Result<(), _> = started.result().await;
    }
    let _ = handle.update_handle::<u64>("clear-1").result().await;
    let _ = handle.signal(Cart::add_later, "ink".to_string()).await;
    let _ = client
        .start(Cart::run, (), "cart-1", "shop")
        .with_update(Cart::add, ("pad".to_string(), 2), UpdateOptions::new())
        .await;
}

fn main() {
    let _ = client_calls;
}
