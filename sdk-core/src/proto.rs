//! Short paths to the Temporal API messages Chronicle uses.
//!
//! The messages themselves come from `temporalio-protos`, Temporal's generated API.

pub use temporalio_protos::temporal::api::schedule::v1 as schedule;
pub use temporalio_protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
pub use temporalio_protos::temporal::api::{
    command::v1 as command, common::v1 as common, enums::v1 as enums, failure::v1 as failure,
    history::v1 as history, protocol::v1 as protocol, query::v1 as query, sdk::v1 as sdk,
    taskqueue::v1 as taskqueue, update::v1 as update, workflow::v1 as workflow,
    workflowservice::v1 as workflowservice,
};

/// Converts a `std::time::Duration` to the protobuf duration Temporal expects.
pub fn duration(d: std::time::Duration) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// Converts a protobuf duration back; negative durations become zero.
pub fn std_duration(d: &prost_wkt_types::Duration) -> std::time::Duration {
    if d.seconds < 0 || d.nanos < 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(d.seconds as u64, d.nanos as u32)
}

/// Converts a protobuf timestamp to `SystemTime`.
pub fn system_time(t: &prost_wkt_types::Timestamp) -> std::time::SystemTime {
    let base = std::time::UNIX_EPOCH;
    if t.seconds >= 0 {
        base + std::time::Duration::new(t.seconds as u64, t.nanos.max(0) as u32)
    } else {
        base - std::time::Duration::from_secs(t.seconds.unsigned_abs())
            + std::time::Duration::from_nanos(t.nanos.max(0) as u64)
    }
}

/// Converts `SystemTime` to a protobuf timestamp.
pub fn timestamp(t: std::time::SystemTime) -> prost_wkt_types::Timestamp {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => prost_wkt_types::Timestamp {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        },
        Err(e) => prost_wkt_types::Timestamp {
            seconds: -(e.duration().as_secs() as i64),
            nanos: 0,
        },
    }
}
