//! Zipkin receivers on the Zipkin port: `POST /api/v2/spans` (JSON, proto3) and
//! `POST /api/v1/spans` (JSON, thrift), all mapped through one v2 span shape to the model.

pub mod span;
pub mod v1;
