//! Zipkin receivers on the Zipkin port: `POST /api/v2/spans` (JSON, proto3) and
//! `POST /api/v1/spans` (JSON, thrift), all mapped through one v2 span shape to the model.

pub mod convert;
pub mod http;
mod json;
pub mod span;
pub mod v1;
pub mod v1_json;
pub mod v1_thrift;
pub mod v2_json;
pub mod v2_proto;
