//! Remote sampling over gRPC: `jaeger.api_v2.SamplingManager/GetSamplingStrategy` (Jaeger v2
//! port 5779; v1 served it on the collector's 14250).

use std::sync::Arc;

use crate::proto::jaeger::api_v2::sampling_manager_server::{SamplingManager, SamplingManagerServer};
use crate::proto::jaeger::api_v2::{SamplingStrategyParameters, SamplingStrategyResponse};

use super::strategies::SamplingStrategies;

/// Requests carry one service name: anything near this size is not a sampling request.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The `SamplingManager` gRPC service over a set of strategies.
#[derive(Debug, Clone)]
pub struct SamplingManagerService {
    strategies: Arc<SamplingStrategies>,
}

impl SamplingManagerService {
    /// A service answering from `strategies`.
    pub fn new(strategies: Arc<SamplingStrategies>) -> Self {
        Self { strategies }
    }

    /// The tonic server for this service, refusing requests above 64 KiB.
    pub fn server(self) -> SamplingManagerServer<Self> {
        SamplingManagerServer::new(self).max_decoding_message_size(MAX_REQUEST_BYTES)
    }
}

#[tonic::async_trait]
impl SamplingManager for SamplingManagerService {
    /// The strategy for `serviceName`; an empty or unknown name gets the default strategy, as
    /// Jaeger answers it (no INVALID_ARGUMENT).
    async fn get_sampling_strategy(
        &self,
        request: tonic::Request<SamplingStrategyParameters>,
    ) -> Result<tonic::Response<SamplingStrategyResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.strategies.strategy_for(&request.into_inner().service_name)))
    }
}
