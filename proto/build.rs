//! Compiles `accord/**/*.proto` with protox (pure Rust, no system protoc) and generates tonic
//! clients and servers with tonic-prost-build. The file descriptor set is exported for gRPC
//! reflection.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=accord");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let files = [
        "accord/provisioner/v1/provisioner.proto",
        "accord/addons/v1/addons.proto",
        "accord/support/v1/support.proto",
    ];
    let fds = protox::compile(files, ["."])?;
    fs::write(
        out.join("accord_descriptor.bin"),
        protox::prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
