// Compiles proto/ (in the repository a link to the root proto/, in the published crate a copy) with the
// pure-Rust `protox` compiler, so building needs no system `protoc`.
use std::path::PathBuf;

const FILES: &[&str] = &[
    "flux/apikeys/v1/api_key.proto",
    "flux/apikeys/v1/validation.proto",
    "flux/apikeys/v1/usage.proto",
    "flux/apikeys/v1/api_key_service.proto",
    "flux/apikeys/v1/admin_key_service.proto",
    "flux/apikeys/v1/ping_service.proto",
    "flux/apikeys/v1/error_reason.proto",
    "flux/apikeys/v1/organization.proto",
    "flux/apikeys/v1/local_validation.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let files: Vec<PathBuf> = FILES.iter().map(|f| root.join(f)).collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    // google/protobuf/*.proto (Timestamp, FieldMask) are bundled inside protox.
    let fds = protox::compile(&files, [&root])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
