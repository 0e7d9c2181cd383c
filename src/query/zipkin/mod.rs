//! The Zipkin v2 query API (port 9411, also under `/zipkin`).

mod http;
pub mod json;

pub use http::router;
