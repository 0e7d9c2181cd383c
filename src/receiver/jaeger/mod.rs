//! Jaeger receivers: collector gRPC (`PostSpans`), thrift over HTTP, agent UDP (compact and
//! binary thrift), and remote sampling. Thrift is decoded into the api_v2 protobuf types so one
//! conversion maps every Jaeger format to the model.

pub mod agent_udp;
pub mod convert;
pub mod grpc;
pub mod sampling;
pub mod thrift;
pub mod thrift_http;
