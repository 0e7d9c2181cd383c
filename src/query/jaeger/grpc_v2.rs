//! Jaeger's gRPC query API, `jaeger.api_v2.QueryService` (port 16685): traces as api_v2 spans
//! streamed in chunks, search with Jaeger's single-span rule, services, operations and the
//! dependency graph. Archiving is refused: tracehound has no archive store.

use tonic::codegen::tokio_stream;
use tonic::{Request, Response, Status};

use super::grpc_params::{duration_bounds, nanos, search_depth, status, tag_filters};
use super::params::span_kind_filter;
use super::proto::trace_to_proto;
use crate::model::query::{MatchRule, TraceQuery};
use crate::model::{Trace, TraceId, UnixNanos};
use crate::proto::jaeger::api_v2::query_service_server::{QueryService, QueryServiceServer};
use crate::proto::jaeger::api_v2::{
    ArchiveTraceRequest, ArchiveTraceResponse, DependencyLink, FindTracesRequest, GetDependenciesRequest,
    GetDependenciesResponse, GetOperationsRequest, GetOperationsResponse, GetServicesRequest, GetServicesResponse,
    GetTraceRequest, Operation, SpansResponseChunk,
};
use crate::query::{QueryError, QueryState, View};

/// Spans per streamed chunk, as Jaeger sends them.
pub const SPANS_PER_CHUNK: usize = 10;
/// Traces a search returns when `search_depth` is 0, as Jaeger.
const DEFAULT_SEARCH_DEPTH: usize = 20;

/// The api_v2 query service over the query state.
#[derive(Clone)]
pub struct JaegerQueryV2 {
    state: QueryState,
}

impl JaegerQueryV2 {
    /// The service, ready to add to a tonic server.
    pub fn server(state: QueryState) -> QueryServiceServer<Self> {
        QueryServiceServer::new(Self { state })
    }
}

/// The spans of traces as stream chunks of at most [`SPANS_PER_CHUNK`] spans each.
fn chunks(traces: &[Trace]) -> Vec<Result<SpansResponseChunk, Status>> {
    let mut out = Vec::new();
    for trace in traces {
        let spans = trace_to_proto(trace);
        for chunk in spans.chunks(SPANS_PER_CHUNK) {
            out.push(Ok(SpansResponseChunk { spans: chunk.to_vec() }));
        }
    }
    out
}

/// Parses api_v2 `TraceQueryParameters` into a query with Jaeger's single-span rule.
pub fn parse_query(request: FindTracesRequest) -> Result<TraceQuery, QueryError> {
    let q = request.query.ok_or_else(|| QueryError::BadRequest("missing query parameters".into()))?;
    let start_min = q.start_time_min.as_ref().map(nanos).unwrap_or(UnixNanos(0));
    let start_max = q.start_time_max.as_ref().map(nanos).unwrap_or(UnixNanos(u64::MAX));
    if start_max < start_min {
        return Err(QueryError::BadRequest("start_time_max is before start_time_min".into()));
    }
    let (min_duration, max_duration) = duration_bounds(q.duration_min, q.duration_max)?;
    let limit = search_depth(q.search_depth, DEFAULT_SEARCH_DEPTH)?;
    let tags = tag_filters(q.tags);
    Ok(TraceQuery {
        service: Some(q.service_name).filter(|s| !s.is_empty()),
        operation: Some(q.operation_name).filter(|s| !s.is_empty()),
        span_kind: None,
        remote_service: None,
        tags,
        min_duration,
        max_duration,
        start_min,
        start_max,
        limit,
        rule: MatchRule::SingleSpan,
        ignore_case: false,
    })
}

type ChunkStream = tokio_stream::Iter<std::vec::IntoIter<Result<SpansResponseChunk, Status>>>;

#[tonic::async_trait]
impl QueryService for JaegerQueryV2 {
    type GetTraceStream = ChunkStream;

    async fn get_trace(&self, request: Request<GetTraceRequest>) -> Result<Response<Self::GetTraceStream>, Status> {
        let id = TraceId::try_from(&request.get_ref().trace_id[..])
            .map_err(|e| Status::invalid_argument(format!("malformed trace_id: {e}")))?;
        let view = View::raw_if(request.get_ref().raw_traces);
        let trace =
            self.state.trace(id, view).await.map_err(status)?.ok_or_else(|| Status::not_found("trace not found"))?;
        Ok(Response::new(tokio_stream::iter(chunks(&[trace]))))
    }

    async fn archive_trace(
        &self,
        _request: Request<ArchiveTraceRequest>,
    ) -> Result<Response<ArchiveTraceResponse>, Status> {
        Err(Status::unimplemented("archive storage not configured: tracehound keeps no archive"))
    }

    type FindTracesStream = ChunkStream;

    async fn find_traces(
        &self,
        request: Request<FindTracesRequest>,
    ) -> Result<Response<Self::FindTracesStream>, Status> {
        let request = request.into_inner();
        let view = View::raw_if(request.query.as_ref().is_some_and(|q| q.raw_traces));
        let query = parse_query(request).map_err(status)?;
        let traces = self.state.find_traces(query, view).await.map_err(status)?;
        Ok(Response::new(tokio_stream::iter(chunks(&traces))))
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
        let kind = span_kind_filter(&request.span_kind).map_err(status)?;
        let operations = self.state.operations(request.service, kind).await.map_err(status)?;
        let mut operation_names: Vec<String> = operations.iter().map(|o| o.name.clone()).collect();
        operation_names.dedup();
        Ok(Response::new(GetOperationsResponse {
            operation_names,
            operations: operations
                .into_iter()
                .map(|o| Operation { span_kind: o.kind.as_lower_str().to_owned(), name: o.name })
                .collect(),
        }))
    }

    async fn get_dependencies(
        &self,
        request: Request<GetDependenciesRequest>,
    ) -> Result<Response<GetDependenciesResponse>, Status> {
        let request = request.into_inner();
        let end = request.end_time.as_ref().map(nanos).unwrap_or_else(UnixNanos::now);
        let start = request.start_time.as_ref().map(nanos).unwrap_or(UnixNanos(0));
        if end < start {
            return Err(Status::invalid_argument("end_time is before start_time"));
        }
        let (end_ms, lookback_ms) = (end.0 / 1_000_000, (end.0 - start.0) / 1_000_000);
        let dependencies = self
            .state
            .dependencies(end_ms, lookback_ms)
            .await
            .into_iter()
            .map(|d| DependencyLink {
                parent: d.caller,
                child: d.callee,
                call_count: d.bucket.calls,
                source: String::new(),
            })
            .collect();
        Ok(Response::new(GetDependenciesResponse { dependencies }))
    }
}
