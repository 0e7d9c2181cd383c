//! The Jaeger HTTP query API that Jaeger UI and Grafana use (port 16686).

mod http;
pub mod json;
pub mod params;
pub mod proto;
mod spm;

pub use http::router;
