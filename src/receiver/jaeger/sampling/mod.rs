//! Jaeger remote sampling: the strategies each client polls for at start and then periodically,
//! read from a Jaeger strategies file (or Jaeger's built-in default, probabilistic 0.001) and
//! served over HTTP as proto-JSON and over gRPC as `jaeger.api_v2.SamplingManager`.
//!
//! Strategies are validated once at load; answering a request cannot fail. The HTTP and gRPC
//! adapters only decode the service name and encode [`SamplingStrategies::strategy_for`].

mod grpc;
mod http;
mod json;
mod strategies;

pub use grpc::SamplingManagerService;
pub use http::{collector_routes, router, sampling_strategy, COLLECTOR_SAMPLING_PATH};
pub use json::to_proto_json;
pub use strategies::{
    SamplingError, SamplingStrategies, DEFAULT_SAMPLING_PROBABILITY, MAX_FILE_BYTES, MAX_OPERATION_STRATEGIES,
    MAX_SERVICE_STRATEGIES,
};

#[cfg(test)]
mod tests;
