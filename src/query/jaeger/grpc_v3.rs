//! Jaeger's OTLP-shaped gRPC query API, `jaeger.api_v3.QueryService` (port 16685, beside api_v2):
//! traces streamed as OpenTelemetry `TracesData`, one message per trace, search with Jaeger's
//! single-span rule (attributes matched on the span or its resource), services and operations.
//! Both ends of the time range are required; the experimental `filter` is refused.

use opentelemetry_proto::tonic::trace::v1::TracesData;
use tonic::codegen::tokio_stream;
use tonic::{Request, Response, Status};

use super::grpc_params::{duration_bounds, nanos, search_depth, status, tag_filters};
use super::params::{span_kind_filter, v3_kind_name};
use crate::model::query::{MatchRule, TraceQuery};
use crate::model::{Trace, TraceId, UnixNanos};
use crate::proto::jaeger::api_v3::query_service_server::{QueryService, QueryServiceServer};
use crate::proto::jaeger::api_v3::{
    FindTracesRequest, GetOperationsRequest, GetOperationsResponse, GetServicesRequest, GetServicesResponse,
    GetTraceRequest, Operation,
};
use crate::query::{otlp, QueryError, QueryState, View};

/// Traces a search returns when `search_depth` is 0, as Jaeger.
pub const DEFAULT_SEARCH_DEPTH: usize = 100;

/// The api_v3 query service over the query state.
#[derive(Clone)]
pub struct JaegerQueryV3 {
    state: QueryState,
}

impl JaegerQueryV3 {
    /// The service, ready to add to a tonic server.
    pub fn server(state: QueryState) -> QueryServiceServer<Self> {
        QueryServiceServer::new(Self { state })
    }
}

fn traces_data(traces: &[Trace]) -> Vec<Result<TracesData, Status>> {
    traces.iter().map(|t| Ok(TracesData { resource_spans: otlp::encode_spans(&t.spans).resource_spans })).collect()
}

/// Parses api_v3 `TraceQueryParameters` into a query with Jaeger's single-span rule.
pub fn parse_query(request: FindTracesRequest) -> Result<TraceQuery, QueryError> {
    let q = request.query.ok_or_else(|| QueryError::BadRequest("missing query parameters".into()))?;
    if !q.filter.is_empty() {
        return Err(QueryError::BadRequest("filter is not supported: use the other query parameters".into()));
    }
    let required = |t: Option<prost_types::Timestamp>, name: &str| {
        t.as_ref().map(nanos).ok_or_else(|| QueryError::BadRequest(format!("{name} is required")))
    };
    let start_min = required(q.start_time_min, "start_time_min")?;
    let start_max = required(q.start_time_max, "start_time_max")?;
    if start_max <= start_min {
        return Err(QueryError::BadRequest("start_time_max must be after start_time_min".into()));
    }
    let (min_duration, max_duration) = duration_bounds(q.duration_min, q.duration_max)?;
    let limit = search_depth(q.search_depth, DEFAULT_SEARCH_DEPTH)?;
    let tags = tag_filters(q.attributes);
    Ok(TraceQuery {
        service: Some(q.service_name).filter(|s| !s.is_empty()),
        operation: Some(q.operation_name).filter(|s| !s.is_empty()),
        span_kind: None,
        remote_service: None,
        tags,
        min_duration,
        max_duration,
        start_min,
        // api_v3: the upper bound is exclusive.
        start_max: UnixNanos(start_max.0 - 1),
        limit,
        rule: MatchRule::SingleSpan,
        ignore_case: false,
    })
}

type TracesStream = tokio_stream::Iter<std::vec::IntoIter<Result<TracesData, Status>>>;

#[tonic::async_trait]
impl QueryService for JaegerQueryV3 {
    type GetTraceStream = TracesStream;

    async fn get_trace(&self, request: Request<GetTraceRequest>) -> Result<Response<Self::GetTraceStream>, Status> {
        let id = TraceId::from_hex(request.get_ref().trace_id.trim())
            .map_err(|e| Status::invalid_argument(format!("malformed trace_id: {e}")))?;
        let view = View::raw_if(request.get_ref().raw_traces);
        let trace =
            self.state.trace(id, view).await.map_err(status)?.ok_or_else(|| Status::not_found("trace not found"))?;
        Ok(Response::new(tokio_stream::iter(traces_data(&[trace]))))
    }

    type FindTracesStream = TracesStream;

    async fn find_traces(
        &self,
        request: Request<FindTracesRequest>,
    ) -> Result<Response<Self::FindTracesStream>, Status> {
        let request = request.into_inner();
        let view = View::raw_if(request.query.as_ref().is_some_and(|q| q.raw_traces));
        let query = parse_query(request).map_err(status)?;
        let traces = self.state.find_traces(query, view).await.map_err(status)?;
        Ok(Response::new(tokio_stream::iter(traces_data(&traces))))
    }

    async fn get_services(
        &self,
        _request: Request<GetServicesRequest>,
    ) -> Result<Response<GetServicesResponse>, Status> {
        let services = self.state.services().await.map_err(status)?;
        Ok(Response::new(GetServicesResponse { services }))
    }

    async fn get_operations(
        &self,
        request: Request<GetOperationsRequest>,
    ) -> Result<Response<GetOperationsResponse>, Status> {
        let request = request.into_inner();
        if request.service.is_empty() {
            return Err(Status::invalid_argument("service is required"));
        }
        let kind = span_kind_filter(&request.span_kind).map_err(status)?;
        let operations = self.state.operations(request.service, kind).await.map_err(status)?;
        Ok(Response::new(GetOperationsResponse {
            operations: operations
                .into_iter()
                .map(|o| Operation { span_kind: v3_kind_name(o.kind).to_owned(), name: o.name })
                .collect(),
        }))
    }
}
