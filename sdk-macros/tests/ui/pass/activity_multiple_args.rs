//! An activity with a context and several arguments, and one without a context.
use chronicle::prelude::*;
use chronicle::ActivityDefinition;
use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Composes a greeting.
#[activity]
pub async fn compose_greeting(
    _ctx: ActivityContext,
    greeting: String,
    name: String,
    times: u32,
) -> Result<String, ActivityError> {
    Ok(format!("{greeting}, {name}!").repeat(times as usize))
}

#[activity(name = "add")]
async fn add_numbers(a: i64, b: i64) -> Result<i64, ActivityError> {
    #![allow(unused_variables)]
    let unused = ();
    Ok(a + b)
}

/// Polls a future that never waits.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future is not ready"),
    }
}

fn main() {
    assert_eq!(<compose_greeting as ActivityDefinition>::NAME, "compose_greeting");
    assert_eq!(<add_numbers as ActivityDefinition>::NAME, "add");

    // The input of several arguments is a tuple, one payload per argument.
    let input = ("Hello".to_string(), "World".to_string(), 2u32);
    let payloads = <compose_greeting as ActivityDefinition>::encode_input(&input).unwrap();
    assert_eq!(payloads.len(), 3);
    assert_eq!(payloads[1].data, b"\"World\"");
    let decoded = <compose_greeting as ActivityDefinition>::decode_input(payloads).unwrap();
    assert_eq!(decoded, input);

    // The argument count is checked, naming the activity.
    let one = <add_numbers as ActivityDefinition>::encode_input(&(1, 2)).unwrap();
    let error = <add_numbers as ActivityDefinition>::decode_input(one[..1].to_vec()).unwrap_err();
    assert_eq!(error.to_string(), "add expects 2 argument(s) but received 1");

    // The body stays callable, and the activity is a `Copy` value.
    assert_eq!(now(add_numbers::call(40, 2)).unwrap(), 42);
    let activity = add_numbers;
    let _copy = activity;
    assert_eq!(format!("{activity:?}"), "add_numbers");
}
