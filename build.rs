//! Compiles the Jaeger and Zipkin protos under `proto/` with protox (pure Rust, no `protoc`); the
//! OTLP messages Jaeger's api_v3 names map onto the opentelemetry-proto crate's types.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/jaeger/api_v2/model.proto",
        "proto/jaeger/api_v2/collector.proto",
        "proto/jaeger/api_v2/sampling.proto",
        "proto/jaeger/api_v2/query.proto",
        "proto/jaeger/api_v3/query_service.proto",
        "proto/zipkin/zipkin.proto",
    ];
    let descriptors = protox::compile(files, ["proto"])?;
    // The encoded descriptors, for gRPC server reflection on the query port.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("descriptors.bin"), prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        // Zipkin tags: sorted on decode, no hashing (a proto3 map has no order of its own).
        .btree_map(".zipkin.proto3.Span.tags")
        // OTLP messages are the opentelemetry-proto crate's; proto/opentelemetry only names them.
        .extern_path(".opentelemetry.proto", "::opentelemetry_proto::tonic")
        .compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
