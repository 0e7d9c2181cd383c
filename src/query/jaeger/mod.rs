//! The Jaeger HTTP query API that Jaeger UI and Grafana use (port 16686): the legacy `/api/...`
//! endpoints and api_v3 over HTTP (`/api/v3/...`).

mod grpc_params;
pub mod grpc_v2;
pub mod grpc_v3;
mod http;
pub mod json;
pub mod params;
pub mod proto;
mod spm;
mod v3_http;

pub use http::router;
