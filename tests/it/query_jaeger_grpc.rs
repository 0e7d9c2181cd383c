//! Jaeger's gRPC query APIs (`jaeger.api_v2.QueryService` and `jaeger.api_v3.QueryService`, port
//! 16685) over a real socket with the generated tonic clients, and gRPC server reflection on the
//! same port.

use std::time::{Duration, SystemTime};

use tonic::Code;
use tracehound::proto::jaeger::api_v2::query_service_client::QueryServiceClient;
use tracehound::proto::jaeger::api_v2::{
    ArchiveTraceRequest, FindTracesRequest, GetDependenciesRequest, GetOperationsRequest, GetServicesRequest,
    GetTraceRequest, Operation, TraceQueryParameters,
};

use crate::common::*;

async fn client(server: &tracehound::testkit::TestServer) -> QueryServiceClient<tonic::transport::Channel> {
    QueryServiceClient::new(channel(server.addrs.jaeger_query_grpc).await)
}

async fn collect(
    mut stream: tonic::Streaming<tracehound::proto::jaeger::api_v2::SpansResponseChunk>,
) -> Vec<Vec<tracehound::proto::jaeger::api_v2::Span>> {
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await.unwrap() {
        chunks.push(chunk.spans);
    }
    chunks
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    t.into()
}

#[tokio::test]
async fn services_operations_and_traces_by_id() {
    let (server, _) = seeded().await;
    let mut client = client(&server).await;
    let services = client.get_services(GetServicesRequest {}).await.unwrap().into_inner().services;
    assert_eq!(services, ["cart", "frontend"]);
    let ops = client
        .get_operations(GetOperationsRequest { service: "frontend".into(), span_kind: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert!(ops.operations.contains(&Operation { name: "call cart".into(), span_kind: "client".into() }));
    assert!(ops.operation_names.contains(&"GET /cart".to_owned()));
    let servers = client
        .get_operations(GetOperationsRequest { service: "frontend".into(), span_kind: "server".into() })
        .await
        .unwrap()
        .into_inner();
    assert!(servers.operations.iter().all(|o| o.span_kind == "server"), "{servers:?}");

    let chunks = collect(
        client
            .get_trace(GetTraceRequest { trace_id: CHECKOUT.to_vec(), ..Default::default() })
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    let spans: Vec<_> = chunks.concat();
    assert_eq!(spans.len(), 3);
    assert!(spans.iter().all(|s| s.trace_id == CHECKOUT && s.process.is_some()));

    let missing = client.get_trace(GetTraceRequest { trace_id: vec![7; 16], ..Default::default() }).await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
    let malformed = client.get_trace(GetTraceRequest { trace_id: vec![7; 3], ..Default::default() }).await;
    assert_eq!(malformed.unwrap_err().code(), Code::InvalidArgument);
    let archive = client.archive_trace(ArchiveTraceRequest { trace_id: CHECKOUT.to_vec(), ..Default::default() }).await;
    assert_eq!(archive.unwrap_err().code(), Code::Unimplemented);
}

#[tokio::test]
async fn find_traces_streams_chunks_of_at_most_ten_spans() {
    let server = tracehound::testkit::TestServer::start().await;
    let start = recent_nanos();
    let trace = [0x3c; 16];
    let spans = (1..=25u64)
        .map(|i| span(trace, i, (i > 1).then_some(1), &format!("op-{i}"), 1, start + i * 1_000, 50_000_000))
        .collect();
    export_grpc(server.addrs.otlp_grpc, request(vec![resource_spans("batch", spans)]), false).await.unwrap();
    export_grpc(server.addrs.otlp_grpc, seed_request(start), false).await.unwrap();
    let mut client = client(&server).await;
    let now = SystemTime::now();
    let query = |service: &str, tags: &[(&str, &str)], min: Option<Duration>| FindTracesRequest {
        query: Some(TraceQueryParameters {
            service_name: service.into(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            start_time_min: Some(timestamp(now - Duration::from_secs(3_600))),
            start_time_max: Some(timestamp(now + Duration::from_secs(60))),
            duration_min: min.map(|d| d.try_into().unwrap()),
            ..Default::default()
        }),
    };
    let chunks = collect(client.find_traces(query("batch", &[], None)).await.unwrap().into_inner()).await;
    assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    // Jaeger's rule: one span carries the tag and lasts long enough.
    let found = collect(
        client
            .find_traces(query("frontend", &[("peer.service", "cart")], Some(Duration::from_millis(15))))
            .await
            .unwrap()
            .into_inner(),
    )
    .await
    .concat();
    assert!(!found.is_empty() && found.iter().all(|s| s.trace_id == CHECKOUT));
    let none = collect(
        client
            .find_traces(query("frontend", &[("peer.service", "cart")], Some(Duration::from_millis(25))))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert!(none.is_empty());
    let bad = client.find_traces(FindTracesRequest { query: None }).await;
    assert_eq!(bad.unwrap_err().code(), Code::InvalidArgument);

    // Dependencies once the checkout trace completes (2 s idle in tests).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let deps = client
            .get_dependencies(GetDependenciesRequest {
                start_time: Some(timestamp(now - Duration::from_secs(3_600))),
                end_time: Some(timestamp(SystemTime::now() + Duration::from_secs(60))),
            })
            .await
            .unwrap()
            .into_inner()
            .dependencies;
        if let Some(link) = deps.iter().find(|d| d.parent == "frontend") {
            assert_eq!((link.child.as_str(), link.call_count), ("cart", 1));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no frontend → cart dependency: {deps:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn reflection_lists_the_query_service() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let server = tracehound::testkit::TestServer::start().await;
    let mut client = ServerReflectionClient::new(channel(server.addrs.jaeger_query_grpc).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client.server_reflection_info(tokio_stream_once(request)).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in ["jaeger.api_v2.QueryService", "jaeger.api_v3.QueryService"] {
        assert!(names.contains(&service.to_owned()), "{service} not in {names:?}");
    }
}

fn tokio_stream_once<T: Send + 'static>(item: T) -> impl tonic::codegen::tokio_stream::Stream<Item = T> {
    tonic::codegen::tokio_stream::iter(vec![item])
}

mod v3 {
    use std::time::{Duration, SystemTime};

    use tonic::Code;
    use tracehound::proto::jaeger::api_v3::query_service_client::QueryServiceClient;
    use tracehound::proto::jaeger::api_v3::{
        FindTracesRequest, GetOperationsRequest, GetServicesRequest, GetTraceRequest, TraceQueryParameters,
    };

    use super::timestamp;
    use crate::common::*;

    async fn client(server: &tracehound::testkit::TestServer) -> QueryServiceClient<tonic::transport::Channel> {
        QueryServiceClient::new(channel(server.addrs.jaeger_query_grpc).await)
    }

    fn names(data: &[opentelemetry_proto::tonic::trace::v1::TracesData]) -> Vec<String> {
        let mut names: Vec<String> = data
            .iter()
            .flat_map(|d| d.resource_spans.iter())
            .flat_map(|rs| rs.scope_spans.iter())
            .flat_map(|ss| ss.spans.iter().map(|s| s.name.clone()))
            .collect();
        names.sort();
        names
    }

    async fn collect(
        mut stream: tonic::Streaming<opentelemetry_proto::tonic::trace::v1::TracesData>,
    ) -> Vec<opentelemetry_proto::tonic::trace::v1::TracesData> {
        let mut out = Vec::new();
        while let Some(message) = stream.message().await.unwrap() {
            out.push(message);
        }
        out
    }

    #[tokio::test]
    async fn traces_come_back_as_the_otlp_they_were_sent_as() {
        let (server, start) = seeded().await;
        let mut client = client(&server).await;
        assert_eq!(
            client.get_services(GetServicesRequest {}).await.unwrap().into_inner().services,
            ["cart", "frontend"]
        );
        let ops = client
            .get_operations(GetOperationsRequest { service: "frontend".into(), span_kind: "client".into() })
            .await
            .unwrap()
            .into_inner()
            .operations;
        assert_eq!(
            ops.iter().map(|o| (o.name.as_str(), o.span_kind.as_str())).collect::<Vec<_>>(),
            [("call cart", "client")]
        );

        let data = collect(
            client
                .get_trace(GetTraceRequest { trace_id: hex(&CHECKOUT), ..Default::default() })
                .await
                .unwrap()
                .into_inner(),
        )
        .await;
        assert_eq!(names(&data), ["GET /cart", "call cart", "load"]);
        let sent = &seed_request(start).resource_spans[0].scope_spans[0].spans[1];
        let got = data[0]
            .resource_spans
            .iter()
            .flat_map(|rs| rs.scope_spans.iter().flat_map(|ss| ss.spans.iter()))
            .find(|s| s.name == "call cart")
            .unwrap();
        assert_eq!(got, sent);
        let missing = client.get_trace(GetTraceRequest { trace_id: "ab".repeat(16), ..Default::default() }).await;
        assert_eq!(missing.unwrap_err().code(), Code::NotFound);

        let now = SystemTime::now();
        let query = |attrs: &[(&str, &str)], filter: Vec<u8>, with_range: bool| FindTracesRequest {
            query: Some(TraceQueryParameters {
                service_name: "frontend".into(),
                attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                start_time_min: with_range.then(|| timestamp(now - Duration::from_secs(3_600))),
                start_time_max: with_range.then(|| timestamp(now + Duration::from_secs(60))),
                filter,
                ..Default::default()
            }),
        };
        let found = collect(client.find_traces(query(&[], Vec::new(), true)).await.unwrap().into_inner()).await;
        assert_eq!(found.len(), 2, "one TracesData per trace");
        // Resource attributes match too (api_v3).
        let found = collect(
            client
                .find_traces(query(&[("host.name", "box-1"), ("peer.service", "cart")], Vec::new(), true))
                .await
                .unwrap()
                .into_inner(),
        )
        .await;
        assert_eq!(names(&found), ["GET /cart", "call cart", "load"]);
        let no_range = client.find_traces(query(&[], Vec::new(), false)).await;
        assert_eq!(no_range.unwrap_err().code(), Code::InvalidArgument);
        let filtered = client.find_traces(query(&[], vec![1, 2, 3], true)).await;
        assert_eq!(filtered.unwrap_err().code(), Code::InvalidArgument);
    }
}
