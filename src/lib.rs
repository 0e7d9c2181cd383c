//! tracehound: a distributed tracing collector and query server.
//!
//! Data flows one way: wire → [`receiver`] → [`model`] → [`pipeline`] → [`assembler`] → [`store`]
//! → [`query`] → wire; [`stats`] computes live percentiles and the service graph on the way;
//! [`ui`] serves the embedded web UI; [`proto`] holds the generated Jaeger and Zipkin protobuf
//! types. [`server`] wires the stages together; [`config`] turns flags into settings.

pub mod assembler;
pub mod config;
pub mod model;
pub mod pipeline;
pub mod proto;
pub mod query;
pub mod receiver;
pub mod server;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod testkit;
pub mod ui;
