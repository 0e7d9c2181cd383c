//! OTLP receivers: gRPC `TraceService/Export` and HTTP `POST /v1/traces` (protobuf and JSON).

pub mod convert;
pub mod grpc;
pub mod http;

pub use convert::{request_into_model, Converted};
