//! Compiles `proto/` into Rust types (prost) and their canonical proto3 JSON
//! mapping (pbjson), with protox so no `protoc` is needed on the build machine.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "dmumatch/v1/enums.proto",
    "dmumatch/v1/contact.proto",
    "dmumatch/v1/campaign.proto",
    "dmumatch/v1/events.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=migrations");

    let out = PathBuf::from(env::var("OUT_DIR")?);
    let fds = protox::compile(PROTOS, ["proto"])?;
    let descriptor_path = out.join("dmumatch_descriptor.bin");
    fs::write(&descriptor_path, fds.encode_to_vec())?;

    prost_build::Config::new()
        // Our own Timestamp: pbjson-types writes "+00:00", the canonical
        // mapping wants Z-normalised RFC 3339.
        .extern_path(".google.protobuf.Timestamp", "crate::pb::Timestamp")
        .compile_fds(fds)?;

    // Unknown JSON fields are ignored, as the binary encoding ignores unknown
    // fields: a CRM that adds a field must not send every event to the DLQ.
    // Defaults are written out (the mapping's "emit default values" option):
    // the contract shows `"channelGround": "NONE"` and `"obligations": []`, and
    // a reader should not have to know that an absent field means NONE.
    pbjson_build::Builder::new()
        .register_descriptors(&fs::read(&descriptor_path)?)?
        .ignore_unknown_fields()
        .emit_fields()
        .build(&[".dmumatch.v1"])?;
    Ok(())
}
