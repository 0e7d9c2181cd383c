//! Golden tests: each `tests/fixtures/<format>/<case>.in.json` is sent to the receiver of its
//! format (OTLP/HTTP JSON; Zipkin v2 JSON; Zipkin v1 JSON; Jaeger, written in Jaeger's UI JSON
//! model and sent as api_v2 protobuf over gRPC) and read back through the Zipkin and Jaeger APIs;
//! the answers must equal `<case>.zipkin.json` and `<case>.jaeger.json` exactly (one case per
//! mapping rule). `TRACEHOUND_BLESS=1` writes missing or changed expectations for review.

use std::path::{Path, PathBuf};

use tracehound::testkit::TestServer;

use crate::common::*;

fn fixtures_in(format: &str) -> Vec<(String, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format);
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".in.json")?.to_owned();
            Some((name, dir.clone()))
        })
        .collect();
    cases.sort();
    cases
}

/// Compares an answer with its expected file. With `TRACEHOUND_BLESS=1`, a missing or different
/// expected file is rewritten from the answer instead (review the diff before committing).
pub fn check_golden(path: PathBuf, got: &serde_json::Value, failures: &mut Vec<String>, what: &str) {
    let expected = if path.exists() { read_json(path.clone()) } else { serde_json::Value::Null };
    if *got != expected && std::env::var_os("TRACEHOUND_BLESS").is_some() {
        let text = serde_json::to_string_pretty(got).unwrap() + "\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    if *got != expected {
        failures.push(format!("{what}:\n  got      {got}\n  expected {expected}"));
    }
}

/// Reads a trace back through the Zipkin and the Jaeger API and compares both with the case's
/// `<case>.zipkin.json` and `<case>.jaeger.json`.
async fn check_views(server: &TestServer, dir: &Path, case: &str, trace_id: &str, failures: &mut Vec<String>) {
    let (_, zipkin) = get_json(&format!("http://{}/api/v2/trace/{trace_id}", server.addrs.zipkin)).await;
    check_golden(dir.join(format!("{case}.zipkin.json")), &zipkin, failures, &format!("{case} (zipkin)"));
    let (_, jaeger) = get_json(&format!("http://{}/api/traces/{trace_id}?raw=true", server.addrs.query)).await;
    check_golden(dir.join(format!("{case}.jaeger.json")), &jaeger["data"][0], failures, &format!("{case} (jaeger)"));
}

pub fn read_json(path: PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

#[tokio::test]
async fn otlp_json_converts_to_zipkin_and_jaeger_exactly() {
    let cases = fixtures_in("otlp");
    assert!(cases.len() >= 10, "expected a golden case per mapping rule, found {}", cases.len());
    let server = TestServer::start().await;
    let mut failures = Vec::new();
    for (case, dir) in &cases {
        let input = read_json(dir.join(format!("{case}.in.json")));
        let trace_id = input["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"].as_str().unwrap().to_owned();
        let response = post(
            &format!("http://{}/v1/traces", server.addrs.otlp_http),
            "application/json",
            None,
            input.to_string().into_bytes(),
        )
        .await;
        assert_eq!(response.status(), 200, "{case}: export refused: {}", response.text().await.unwrap());
        check_views(&server, dir, case, &trace_id, &mut failures).await;
    }
    server.stop().await;
    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Sends each Zipkin fixture to `path` and compares both views of its trace.
async fn zipkin_golden(format: &str, path: &str) {
    let cases = fixtures_in(format);
    assert!(cases.len() >= 5, "expected a golden case per mapping rule, found {}", cases.len());
    let server = TestServer::start().await;
    let mut failures = Vec::new();
    for (case, dir) in &cases {
        let input = read_json(dir.join(format!("{case}.in.json")));
        let trace_id = input[0]["traceId"].as_str().unwrap().to_ascii_lowercase();
        let url = format!("http://{}{path}", server.addrs.zipkin);
        let response = post(&url, "application/json", None, input.to_string().into_bytes()).await;
        assert_eq!(response.status(), 202, "{case}: refused: {}", response.text().await.unwrap());
        check_views(&server, dir, case, &trace_id, &mut failures).await;
    }
    server.stop().await;
    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn zipkin_v2_json_converts_to_zipkin_and_jaeger_exactly() {
    zipkin_golden("zipkin", "/api/v2/spans").await;
}

#[tokio::test]
async fn zipkin_v1_json_converts_to_zipkin_and_jaeger_exactly() {
    zipkin_golden("zipkin_v1", "/api/v1/spans").await;
}

#[tokio::test]
async fn jaeger_converts_to_zipkin_and_jaeger_exactly() {
    use tracehound::proto::jaeger::api_v2::collector_service_client::CollectorServiceClient;
    use tracehound::proto::jaeger::api_v2::PostSpansRequest;
    let cases = fixtures_in("jaeger");
    assert!(cases.len() >= 5, "expected a golden case per mapping rule, found {}", cases.len());
    let server = TestServer::start().await;
    let mut client = CollectorServiceClient::new(channel(server.addrs.jaeger_grpc).await);
    let mut failures = Vec::new();
    for (case, dir) in &cases {
        let input = read_json(dir.join(format!("{case}.in.json")));
        let trace_id = input["traceID"].as_str().unwrap().to_owned();
        for batch in jaeger_ui::batches(&input) {
            client.post_spans(PostSpansRequest { batch: Some(batch) }).await.unwrap_or_else(|e| panic!("{case}: {e}"));
        }
        check_views(&server, dir, case, &trace_id, &mut failures).await;
    }
    server.stop().await;
    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Jaeger's UI JSON model (what `/api/traces/{id}` returns) → api_v2 batches, one per process.
mod jaeger_ui {
    use base64::Engine;
    use serde_json::Value;
    use tracehound::proto::jaeger::api_v2::{Batch, KeyValue, Log, Process, Span, SpanRef, ValueType};

    fn id_bytes(hex_text: &str, width: usize) -> Vec<u8> {
        let padded = format!("{hex_text:0>width$}", width = width * 2);
        hex::decode(padded).unwrap()
    }

    fn micros(value: &Value) -> (i64, i32) {
        let us = value.as_u64().unwrap();
        ((us / 1_000_000) as i64, (us % 1_000_000 * 1_000) as i32)
    }

    fn key_value(tag: &Value) -> KeyValue {
        let mut kv = KeyValue { key: tag["key"].as_str().unwrap().into(), ..KeyValue::default() };
        let value = &tag["value"];
        match tag["type"].as_str().unwrap() {
            "string" => {
                kv.v_type = ValueType::String as i32;
                kv.v_str = value.as_str().unwrap().into();
            }
            "bool" => {
                kv.v_type = ValueType::Bool as i32;
                kv.v_bool = value.as_bool().unwrap();
            }
            "int64" => {
                kv.v_type = ValueType::Int64 as i32;
                kv.v_int64 = value.as_i64().unwrap_or_else(|| value.as_str().unwrap().parse().unwrap());
            }
            "float64" => {
                kv.v_type = ValueType::Float64 as i32;
                kv.v_float64 = value.as_f64().unwrap();
            }
            "binary" => {
                kv.v_type = ValueType::Binary as i32;
                kv.v_binary = base64::engine::general_purpose::STANDARD.decode(value.as_str().unwrap()).unwrap();
            }
            other => panic!("unknown tag type {other}"),
        }
        kv
    }

    pub fn batches(trace: &Value) -> Vec<Batch> {
        let trace_id = trace["traceID"].as_str().unwrap();
        let processes = trace["processes"].as_object().unwrap();
        let mut ids: Vec<&String> = processes.keys().collect();
        ids.sort();
        ids.into_iter()
            .map(|id| {
                let process = &processes[id];
                let spans = trace["spans"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["processID"] == id.as_str())
                    .map(|s| {
                        let (seconds, nanos) = micros(&s["startTime"]);
                        let (d_seconds, d_nanos) = micros(&s["duration"]);
                        Span {
                            trace_id: id_bytes(trace_id, 16),
                            span_id: id_bytes(s["spanID"].as_str().unwrap(), 8),
                            operation_name: s["operationName"].as_str().unwrap().into(),
                            references: s["references"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|r| SpanRef {
                                    trace_id: id_bytes(r["traceID"].as_str().unwrap(), 16),
                                    span_id: id_bytes(r["spanID"].as_str().unwrap(), 8),
                                    ref_type: i32::from(r["refType"] == "FOLLOWS_FROM"),
                                })
                                .collect(),
                            flags: s["flags"].as_u64().unwrap_or(0) as u32,
                            start_time: Some(prost_types::Timestamp { seconds, nanos }),
                            duration: Some(prost_types::Duration { seconds: d_seconds, nanos: d_nanos }),
                            tags: s["tags"].as_array().unwrap().iter().map(key_value).collect(),
                            logs: s["logs"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|l| {
                                    let (seconds, nanos) = micros(&l["timestamp"]);
                                    Log {
                                        timestamp: Some(prost_types::Timestamp { seconds, nanos }),
                                        fields: l["fields"].as_array().unwrap().iter().map(key_value).collect(),
                                    }
                                })
                                .collect(),
                            ..Span::default()
                        }
                    })
                    .collect();
                Batch {
                    spans,
                    process: Some(Process {
                        service_name: process["serviceName"].as_str().unwrap().into(),
                        tags: process["tags"].as_array().unwrap().iter().map(key_value).collect(),
                    }),
                }
            })
            .collect()
    }
}

/// Writes protobuf fuzz seeds from the golden inputs: `cargo test --test it write_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "writes fuzz seeds under fuzz/seeds"]
fn write_fuzz_seeds() {
    use prost::Message;
    use tracehound::proto::jaeger::api_v2::PostSpansRequest;
    use tracehound::receiver::zipkin::{v2_json, v2_proto};
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (case, dir) in fixtures_in("zipkin") {
        let body = std::fs::read(dir.join(format!("{case}.in.json"))).unwrap();
        let spans: Vec<_> = v2_json::decode_spans(&body).unwrap().into_iter().filter_map(Result::ok).collect();
        let out = seeds.join("zipkin_proto");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(&case), v2_proto::encode_spans(&spans)).unwrap();
    }
    for (case, dir) in fixtures_in("jaeger") {
        let input = read_json(dir.join(format!("{case}.in.json")));
        let out = seeds.join("jaeger_proto");
        std::fs::create_dir_all(&out).unwrap();
        for (i, batch) in jaeger_ui::batches(&input).into_iter().enumerate() {
            std::fs::write(out.join(format!("{case}_{i}")), PostSpansRequest { batch: Some(batch) }.encode_to_vec())
                .unwrap();
        }
    }
}
