//! Generates tonic *server* traits for Temporal's WorkflowService and TestService.
//!
//! `temporalio-protos` generates the messages and clients but no servers. It declares
//! `links = "temporalio_protos"` and publishes the path of the descriptor set it compiled
//! (`cargo:descriptor_path`), so this script reads that set, keeps only the service files, and
//! generates their server traits against the message types `temporalio-protos` already has
//! (`extern_path`). No protoc, no copied proto files.

use prost::Message;
use std::error::Error;

/// The service files whose servers we generate.
const SERVICES: &[&str] = &[
    "temporal/api/workflowservice/v1/service.proto",
    "temporal/api/testservice/v1/service.proto",
    "temporal/api/operatorservice/v1/service.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH")
        .map_err(|_| "temporalio-protos did not publish its descriptor set")?;
    println!("cargo:rerun-if-changed={path}");
    let bytes = std::fs::read(&path)?;
    let mut set = prost_types::FileDescriptorSet::decode(bytes.as_slice())?;
    set.file
        .retain(|file| SERVICES.contains(&file.name.as_deref().unwrap_or_default()));
    if set.file.len() != SERVICES.len() {
        return Err(format!("the descriptor set lacks one of {SERVICES:?}").into());
    }
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        // Methods we do not serve answer UNIMPLEMENTED, as the real server does for unknown ones.
        .generate_default_stubs(true)
        .extern_path(".temporal", "::temporalio_protos::temporal")
        .compile_fds(set)?;
    Ok(())
}
