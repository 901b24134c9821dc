//! Copies Temporal's protobuf descriptors into this crate's `OUT_DIR`.
//!
//! `temporalio-protos` declares `links = "temporalio_protos"` and its build script prints
//! `cargo:descriptor_path=...` (the `FileDescriptorSet` it compiled the API from), so Cargo hands
//! that path to this script as `DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH`. `history::json` embeds the
//! copy with `include_bytes!` and drives proto3 JSON conversion from it.

use std::env;
use std::path::PathBuf;

const DESCRIPTOR_ENV: &str = "DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH";

fn main() {
    println!("cargo:rerun-if-env-changed={DESCRIPTOR_ENV}");
    let source = match env::var_os(DESCRIPTOR_ENV) {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "{DESCRIPTOR_ENV} is not set: temporalio-protos must be a direct dependency \
             (it exports its descriptor set through `links = \"temporalio_protos\"`)"
        ),
    };
    println!("cargo:rerun-if-changed={}", source.display());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = out_dir.join("temporal_descriptors.bin");
    if let Err(e) = std::fs::copy(&source, &target) {
        panic!(
            "could not copy {} to {}: {e}",
            source.display(),
            target.display()
        );
    }
}
