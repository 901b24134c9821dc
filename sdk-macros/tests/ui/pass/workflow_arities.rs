//! Workflows with no argument and with two, the `#[chronicle::run]` spelling, and `#[run]` alone.
use chronicle::prelude::*;
use chronicle::WorkflowDefinition;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    id: u64,
    items: Vec<String>,
}

#[derive(Default)]
pub struct Tick;

#[workflow]
impl Tick {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

#[derive(Default)]
pub struct Ship;

#[workflow]
impl Ship {
    #[chronicle::run]
    pub async fn ship(
        _ctx: WorkflowContext<Self>,
        order: Order,
        express: bool,
    ) -> WorkflowResult<u64> {
        Ok(if express { order.id } else { 0 })
    }
}

/// `#[run]` outside a `#[workflow]` block changes nothing.
#[run]
fn untouched() -> u8 {
    7
}

#[allow(dead_code)]
async fn start(client: &Client) {
    let _ = client.start(Tick::run, (), "tick", "queue").await;
    let order = Order { id: 1, items: vec![] };
    let _ = client.start(Ship::ship, (order, true), "ship", "queue").await;
}

fn main() {
    assert_eq!(<Tick as WorkflowDefinition>::NAME, "Tick");
    assert_eq!(<Ship as WorkflowDefinition>::NAME, "Ship");
    assert!(<Tick as WorkflowDefinition>::encode_input(&()).unwrap().is_empty());

    let input = (Order { id: 7, items: vec!["tea".into()] }, true);
    let payloads = <Ship as WorkflowDefinition>::encode_input(&input).unwrap();
    assert_eq!(payloads.len(), 2);
    assert_eq!(payloads[1].data, b"true");
    assert_eq!(<Ship as WorkflowDefinition>::decode_input(payloads).unwrap(), input);
    assert_eq!(untouched(), 7);
}
