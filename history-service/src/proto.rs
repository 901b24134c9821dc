//! Short paths to the Temporal API messages, and time conversions.

pub use prost_wkt_types::{Duration, Timestamp};
pub use temporalio_protos::temporal::api::{
    command::v1 as command, common::v1 as common, enums::v1 as enums,
    errordetails::v1 as errordetails, failure::v1 as failure, history::v1 as history,
    namespace::v1 as namespace, query::v1 as query, taskqueue::v1 as taskqueue,
    testservice::v1 as testservice, workflow::v1 as workflow, workflowservice::v1 as wfs,
};

/// Milliseconds since the Unix epoch as a protobuf timestamp.
pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A protobuf timestamp in milliseconds since the Unix epoch.
pub fn timestamp_ms(t: &Timestamp) -> i64 {
    t.seconds.saturating_mul(1000) + i64::from(t.nanos) / 1_000_000
}

/// A protobuf duration in milliseconds; `None` for absent or non-positive durations (Temporal
/// reads zero as "not set").
pub fn duration_ms(d: Option<&Duration>) -> Option<i64> {
    let d = d?;
    let ms = d.seconds.saturating_mul(1000) + i64::from(d.nanos) / 1_000_000;
    (ms > 0).then_some(ms)
}

/// Milliseconds as a protobuf duration.
pub fn duration(ms: i64) -> Duration {
    Duration {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}
