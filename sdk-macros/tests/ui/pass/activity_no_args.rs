//! Activities without arguments take `()` as their input.
use chronicle::prelude::*;
use chronicle::ActivityDefinition;

#[activity]
async fn ping() -> Result<(), ActivityError> {
    Ok(())
}

#[activity]
async fn current_attempt(_ctx: ActivityContext) -> Result<u32, ActivityError> {
    Ok(1)
}

#[activity]
async fn double(x: u32) -> Result<u32, ActivityError> {
    Ok(x * 2)
}

fn main() {
    let no_input: <ping as ActivityDefinition>::Input = ();
    let payloads = <ping as ActivityDefinition>::encode_input(&no_input).unwrap();
    assert!(payloads.is_empty());
    <ping as ActivityDefinition>::decode_input(payloads).unwrap();

    let extra = <ping as ActivityDefinition>::encode_input(&()).unwrap();
    assert!(<current_attempt as ActivityDefinition>::decode_input(extra).is_ok());
    let one = <double as ActivityDefinition>::encode_input(&1).unwrap();
    assert_eq!(one.len(), 1);
    let error = <current_attempt as ActivityDefinition>::decode_input(one).unwrap_err();
    assert_eq!(
        error.to_string(),
        "current_attempt expects 0 argument(s) but received 1"
    );
    let _: Option<u32> = None::<<current_attempt as ActivityDefinition>::Output>;
}
