//! Protobuf wire types generated at build time from `proto/` (Jaeger api_v2, Zipkin proto3), with
//! their gRPC service stubs. Wire types only: receivers and query APIs convert them to the model.

/// Encoded `FileDescriptorSet` of every proto under `proto/` (with its imports), for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

/// Jaeger's protobuf packages.
pub mod jaeger {
    /// `jaeger.api_v2`: span model, collector, sampling and query services.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod api_v2 {
        include!(concat!(env!("OUT_DIR"), "/jaeger.api_v2.rs"));
    }

    /// `jaeger.api_v3`: the OTLP-shaped query service.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod api_v3 {
        include!(concat!(env!("OUT_DIR"), "/jaeger.api_v3.rs"));
    }
}

/// Zipkin's protobuf packages.
pub mod zipkin {
    /// `zipkin.proto3`: `ListOfSpans` and the span model.
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod proto3 {
        include!(concat!(env!("OUT_DIR"), "/zipkin.proto3.rs"));
    }
}
