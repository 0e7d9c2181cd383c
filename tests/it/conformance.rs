//! Search conformance: the fixture traces under `tests/fixtures/conformance/`, each with the
//! queries that must and must not find it, asked through every API that can express each query
//! (see that folder's README for the format and which API asks what).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Value};
use tracehound::proto::jaeger::{api_v2, api_v3};
use tracehound::testkit::TestServer;

use crate::common::*;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    trace_id: String,
    spans: Vec<FixtureSpan>,
    queries: Vec<FixtureQuery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureSpan {
    id: String,
    parent: Option<String>,
    service: String,
    name: String,
    kind: String,
    start_ms: f64,
    duration_ms: f64,
    #[serde(default)]
    attributes: BTreeMap<String, Value>,
    #[serde(default)]
    resource: BTreeMap<String, Value>,
    status: Option<String>,
    status_message: Option<String>,
    #[serde(default)]
    events: Vec<String>,
    scope: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureQuery {
    name: String,
    service: Option<String>,
    operation: Option<String>,
    span_kind: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    bare_tags: Vec<String>,
    remote_service: Option<String>,
    min_duration_us: Option<u64>,
    max_duration_us: Option<u64>,
    window: Option<[i64; 2]>,
    jaeger: Option<bool>,
    zipkin: Option<bool>,
}

fn load_fixtures() -> Vec<(String, Fixture)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let fixture = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, fixture)
        })
        .collect()
}

/// The run's base time T, ten minutes ago, in Unix nanoseconds.
fn base_time() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now - Duration::from_secs(600)).as_nanos() as u64
}

fn at(base: u64, ms: f64) -> u64 {
    (base as i128 + (ms * 1e6) as i128) as u64
}

fn otlp_value(v: &Value) -> Value {
    match v {
        Value::String(s) => json!({"stringValue": s}),
        Value::Bool(b) => json!({"boolValue": b}),
        Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n.as_f64()}),
        other => panic!("unsupported attribute value {other}"),
    }
}

fn otlp_attributes(map: &BTreeMap<String, Value>) -> Vec<Value> {
    map.iter().map(|(k, v)| json!({"key": k, "value": otlp_value(v)})).collect()
}

/// The fixture's trace as an OTLP/JSON export request, one resource per span.
fn export_body(fixture: &Fixture, base: u64) -> Value {
    let resource_spans: Vec<Value> = fixture
        .spans
        .iter()
        .map(|s| {
            let mut resource = s.resource.clone();
            resource.insert("service.name".into(), Value::String(s.service.clone()));
            let kind = match s.kind.as_str() {
                "internal" => 1,
                "server" => 2,
                "client" => 3,
                "producer" => 4,
                "consumer" => 5,
                other => panic!("unknown kind {other}"),
            };
            let start = at(base, s.start_ms);
            let mut span = json!({
                "traceId": fixture.trace_id,
                "spanId": s.id,
                "name": s.name,
                "kind": kind,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": (start + (s.duration_ms * 1e6) as u64).to_string(),
                "attributes": otlp_attributes(&s.attributes),
                "events": s.events.iter().map(|e| json!({"timeUnixNano": start.to_string(), "name": e})).collect::<Vec<_>>(),
            });
            if let Some(parent) = &s.parent {
                span["parentSpanId"] = json!(parent);
            }
            match s.status.as_deref() {
                None => {}
                Some("ok") => span["status"] = json!({"code": 1}),
                Some("error") => span["status"] = json!({"code": 2, "message": s.status_message.clone().unwrap_or_default()}),
                Some(other) => panic!("unknown status {other}"),
            }
            json!({
                "resource": {"attributes": otlp_attributes(&resource)},
                "scopeSpans": [{"scope": {"name": s.scope.clone().unwrap_or_else(|| "conformance".into())}, "spans": [span]}],
            })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

/// A query with its window in absolute nanoseconds.
struct Asked<'a> {
    q: &'a FixtureQuery,
    start: u64,
    end: u64,
}

fn rfc3339(nanos: u64) -> String {
    humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(nanos)).to_string()
}

fn go_micros(us: u64) -> String {
    format!("{us}us")
}

fn url(base: String, params: Vec<(&str, String)>) -> String {
    format!("{base}?{}", serde_urlencoded::to_string(params).unwrap())
}

fn tags_json(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap()
}

async fn json_ids(url: &str, pick: impl Fn(&Value) -> Vec<String>) -> Result<BTreeSet<String>, String> {
    let (status, body) = get_json(url).await;
    match status {
        200 => Ok(pick(&body).into_iter().map(|id| format!("{:0>32}", id.to_ascii_lowercase())).collect()),
        // api_v3 answers an empty search with 404.
        404 if url.contains("/api/v3/") => Ok(BTreeSet::new()),
        _ => Err(format!("{status} {body}")),
    }
}

fn otlp_trace_ids(result: &Value) -> Vec<String> {
    otlp_spans(result).map(|s| s["traceId"].as_str().unwrap().to_owned()).collect()
}

fn timestamp(nanos: u64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: (nanos / 1_000_000_000) as i64, nanos: (nanos % 1_000_000_000) as i32 }
}

fn duration(us: Option<u64>) -> Option<prost_types::Duration> {
    us.map(|us| prost_types::Duration { seconds: (us / 1_000_000) as i64, nanos: (us % 1_000_000 * 1_000) as i32 })
}

/// Every Jaeger-family API's answer to the query, by API name.
async fn ask_jaeger(server: &TestServer, a: &Asked<'_>) -> Vec<(&'static str, Result<BTreeSet<String>, String>)> {
    let q = a.q;
    let query = format!("http://{}", server.addrs.query);
    let mut answers = Vec::new();
    let mut rest = vec![("start", rfc3339(a.start)), ("end", rfc3339(a.end)), ("limit", "1000".into())];
    let common = |params: &mut Vec<(&str, String)>, service: &'static str, operation: &'static str| {
        if let Some(s) = &q.service {
            params.push((service, s.clone()));
        }
        if let Some(o) = &q.operation {
            params.push((operation, o.clone()));
        }
    };
    common(&mut rest, "service", "operation");
    if !q.tags.is_empty() {
        rest.push(("tags", tags_json(&q.tags)));
    }
    if let Some(kind) = &q.span_kind {
        rest.push(("spanKind", kind.clone()));
    }
    rest.extend(q.min_duration_us.map(|d| ("minDuration", go_micros(d))));
    rest.extend(q.max_duration_us.map(|d| ("maxDuration", go_micros(d))));
    let pick_rest =
        |b: &Value| b["traces"].as_array().unwrap().iter().map(|t| t["traceId"].as_str().unwrap().to_owned()).collect();
    answers.push(("REST /api/v1/traces", json_ids(&url(format!("{query}/api/v1/traces"), rest), pick_rest).await));
    if q.span_kind.is_some() {
        // Only our REST API can search by span kind.
        return answers;
    }

    let mut legacy =
        vec![("start", (a.start / 1_000).to_string()), ("end", (a.end / 1_000).to_string()), ("limit", "1000".into())];
    common(&mut legacy, "service", "operation");
    if !q.tags.is_empty() {
        legacy.push(("tags", tags_json(&q.tags)));
    }
    legacy.extend(q.min_duration_us.map(|d| ("minDuration", go_micros(d))));
    legacy.extend(q.max_duration_us.map(|d| ("maxDuration", go_micros(d))));
    let pick_legacy =
        |b: &Value| b["data"].as_array().unwrap().iter().map(|t| t["traceID"].as_str().unwrap().to_owned()).collect();
    answers.push(("Jaeger /api/traces", json_ids(&url(format!("{query}/api/traces"), legacy), pick_legacy).await));

    let mut v3 = vec![
        ("query.start_time_min", rfc3339(a.start)),
        ("query.start_time_max", rfc3339(a.end + 1)),
        ("query.search_depth", "1000".into()),
    ];
    common(&mut v3, "query.service_name", "query.operation_name");
    if !q.tags.is_empty() {
        v3.push(("query.attributes", tags_json(&q.tags)));
    }
    v3.extend(q.min_duration_us.map(|d| ("query.duration_min", go_micros(d))));
    v3.extend(q.max_duration_us.map(|d| ("query.duration_max", go_micros(d))));
    let traces = url(format!("{query}/api/v3/traces"), v3.clone());
    answers.push(("Jaeger api_v3 /api/v3/traces", json_ids(&traces, |b| otlp_trace_ids(&b["result"])).await));
    let summaries = url(format!("{query}/api/v3/trace-summaries"), v3);
    let pick_summaries = |b: &Value| {
        b["summaries"].as_array().unwrap().iter().map(|s| s["traceId"].as_str().unwrap().to_owned()).collect()
    };
    answers.push(("Jaeger api_v3 /api/v3/trace-summaries", json_ids(&summaries, pick_summaries).await));

    let channel = channel(server.addrs.jaeger_query_grpc).await;
    let mut v2 = api_v2::query_service_client::QueryServiceClient::new(channel.clone());
    let request = api_v2::FindTracesRequest {
        query: Some(api_v2::TraceQueryParameters {
            service_name: q.service.clone().unwrap_or_default(),
            operation_name: q.operation.clone().unwrap_or_default(),
            tags: q.tags.clone().into_iter().collect(),
            start_time_min: Some(timestamp(a.start)),
            start_time_max: Some(timestamp(a.end)),
            duration_min: duration(q.min_duration_us),
            duration_max: duration(q.max_duration_us),
            search_depth: 1000,
            raw_traces: false,
        }),
    };
    let v2_ids = async {
        let mut stream = v2.find_traces(request).await.map_err(|s| s.to_string())?.into_inner();
        let mut ids = BTreeSet::new();
        while let Some(chunk) = stream.message().await.map_err(|s| s.to_string())? {
            ids.extend(chunk.spans.iter().map(|s| hex(&s.trace_id)));
        }
        Ok(ids)
    };
    answers.push(("Jaeger gRPC api_v2 FindTraces", v2_ids.await));

    let mut v3_grpc = api_v3::query_service_client::QueryServiceClient::new(channel);
    let request = api_v3::FindTracesRequest {
        query: Some(api_v3::TraceQueryParameters {
            service_name: q.service.clone().unwrap_or_default(),
            operation_name: q.operation.clone().unwrap_or_default(),
            attributes: q.tags.clone().into_iter().collect(),
            start_time_min: Some(timestamp(a.start)),
            start_time_max: Some(timestamp(a.end + 1)),
            duration_min: duration(q.min_duration_us),
            duration_max: duration(q.max_duration_us),
            search_depth: 1000,
            raw_traces: false,
            filter: Vec::new(),
        }),
    };
    let v3_ids = async {
        let mut stream = v3_grpc.find_traces(request).await.map_err(|s| s.to_string())?.into_inner();
        let mut ids = BTreeSet::new();
        while let Some(data) = stream.message().await.map_err(|s| s.to_string())? {
            for rs in &data.resource_spans {
                for ss in &rs.scope_spans {
                    ids.extend(ss.spans.iter().map(|s| hex(&s.trace_id)));
                }
            }
        }
        Ok(ids)
    };
    answers.push(("Jaeger gRPC api_v3 FindTraces", v3_ids.await));
    answers
}

/// Zipkin's answer, or `None` when Zipkin's API cannot express the query.
async fn ask_zipkin(server: &TestServer, a: &Asked<'_>) -> Option<Result<BTreeSet<String>, String>> {
    let q = a.q;
    if q.span_kind.is_some() || (q.max_duration_us.is_some() && q.min_duration_us.is_none()) {
        return None;
    }
    let end_ms = a.end / 1_000_000;
    let mut params = vec![
        ("endTs", end_ms.to_string()),
        ("lookback", (end_ms - a.start / 1_000_000).to_string()),
        ("limit", "1000".into()),
    ];
    params.extend(q.service.clone().map(|s| ("serviceName", s)));
    params.extend(q.operation.clone().map(|s| ("spanName", s)));
    params.extend(q.remote_service.clone().map(|s| ("remoteServiceName", s)));
    params.extend(q.min_duration_us.map(|d| ("minDuration", d.to_string())));
    params.extend(q.max_duration_us.map(|d| ("maxDuration", d.to_string())));
    let terms: Vec<String> =
        q.tags.iter().map(|(k, v)| format!("{k}={v}")).chain(q.bare_tags.iter().cloned()).collect();
    if !terms.is_empty() {
        params.push(("annotationQuery", terms.join(" and ")));
    }
    let pick = |b: &Value| b.as_array().unwrap().iter().map(|t| t[0]["traceId"].as_str().unwrap().to_owned()).collect();
    Some(json_ids(&url(format!("http://{}/api/v2/traces", server.addrs.zipkin), params), pick).await)
}

#[tokio::test]
async fn every_fixture_query_answers_alike_in_every_api() {
    conformance(TestServer::start().await).await;
}

#[tokio::test]
async fn the_disk_store_answers_every_fixture_query_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let server = TestServer::start_with_store(move |telemetry| {
        let settings = tracehound::config::Settings::for_tests().store;
        Arc::new(
            tracehound::store::DiskStore::open(
                &path,
                &settings,
                tracehound::config::Durability::Strict,
                tracehound::store::DiskLimits {
                    retention: std::time::Duration::from_secs(7 * 24 * 3600),
                    max_disk_bytes: None,
                },
                telemetry,
            )
            .unwrap(),
        )
    })
    .await;
    conformance(server).await;
}

/// Stores every fixture's trace in `server`, then asks every query of every fixture.
async fn conformance(server: TestServer) {
    let fixtures = load_fixtures();
    assert!(fixtures.len() >= 6, "fixtures missing: {}", fixtures.len());
    let base = base_time();
    for (name, fixture) in &fixtures {
        let response = post(
            &format!("http://{}/v1/traces", server.addrs.otlp_http),
            "application/json",
            None,
            export_body(fixture, base).to_string().into_bytes(),
        )
        .await;
        assert_eq!(response.status(), 200, "{name}: {}", response.text().await.unwrap());
    }

    let mut failures = Vec::new();
    let mut asked: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut expectations = (0, 0);
    for (name, fixture) in &fixtures {
        let id = fixture.trace_id.to_ascii_lowercase();
        for q in &fixture.queries {
            let [from, to] = q.window.unwrap_or([-3_600_000, 3_600_000]);
            let a = Asked { q, start: at(base, from as f64), end: at(base, to as f64) };
            let mut answers = Vec::new();
            if let Some(want) = q.jaeger {
                assert!(q.bare_tags.is_empty() && q.remote_service.is_none(), "{name}/{}: not a Jaeger query", q.name);
                answers.extend(ask_jaeger(&server, &a).await.into_iter().map(|(api, got)| (api, got, want)));
            }
            if let Some(want) = q.zipkin {
                if let Some(got) = ask_zipkin(&server, &a).await {
                    answers.push(("Zipkin /api/v2/traces", got, want));
                }
            }
            assert!(!answers.is_empty(), "{name}/{}: no API can ask it", q.name);
            for (api, got, want) in answers {
                *asked.entry(api).or_default() += 1;
                if want {
                    expectations.0 += 1;
                } else {
                    expectations.1 += 1;
                }
                match got {
                    Ok(ids) if ids.contains(&id) == want => {}
                    Ok(_) => failures.push(format!(
                        "{name} / {}: {api} {} the trace",
                        q.name,
                        if want { "did not find" } else { "found" }
                    )),
                    Err(e) => failures.push(format!("{name} / {}: {api} failed: {e}", q.name)),
                }
            }
        }
    }
    server.stop().await;
    assert!(failures.is_empty(), "{} conformance failures:\n{}", failures.len(), failures.join("\n"));
    // Every API was really asked, and both kinds of expectation occur.
    assert_eq!(asked.len(), 7, "{asked:?}");
    assert!(asked.values().all(|n| *n >= 10), "{asked:?}");
    assert!(expectations.0 >= 20 && expectations.1 >= 20, "{expectations:?}");
    eprintln!("conformance: {asked:?}; {} must-find and {} must-not-find checks", expectations.0, expectations.1);
}
