use std::sync::Arc;

use super::*;
use crate::receiver::otlp::convert::{decode_json, request_into_model};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/otlp");

fn records(request: ExportTraceServiceRequest) -> Vec<Arc<SpanRecord>> {
    let converted = request_into_model(request);
    assert_eq!(converted.rejected, 0);
    let mut out = Vec::new();
    for rs in converted.batch.resource_spans {
        for ss in rs.scope_spans {
            for span in ss.spans {
                out.push(Arc::new(SpanRecord { resource: rs.resource.clone(), scope: ss.scope.clone(), span }));
            }
        }
    }
    out
}

/// Every OTLP golden input goes in and comes out as the same spans, resources and scopes.
#[test]
fn golden_inputs_come_back_out_as_they_went_in() {
    let mut seen = 0;
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".in.json") {
            continue;
        }
        seen += 1;
        let request = decode_json(&std::fs::read(&path).unwrap()).unwrap();
        let spans = records(request.clone());
        let encoded = encode_spans(&spans);
        // Compare in the model, where OTLP's equivalent spellings (absent vs empty parent, an
        // absent status vs UNSET) are one value.
        // Equal resources that arrived apart are grouped, so only the order may change.
        let mut again = records(encoded.clone());
        let mut want = spans.clone();
        let by_id = |r: &Arc<SpanRecord>| (r.span.span_id, r.span.start, r.span.name.clone());
        want.sort_by_key(by_id);
        again.sort_by_key(by_id);
        assert_eq!(want, again, "{}", path.display());
        // And the JSON decodes as OTLP/JSON.
        let json = encode_spans_json(&spans);
        assert_eq!(decode_json(&json).unwrap(), encoded, "{}", path.display());
    }
    assert!(seen >= 5, "expected the OTLP golden inputs in {FIXTURES}");
}

#[test]
fn json_uses_otlp_json_spellings() {
    let spans = records(
        decode_json(
            br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
            "scopeSpans":[{"scope":{"name":"lib","version":"1"},"spans":[{"traceId":"0123456789abcdef0123456789abcdef",
            "spanId":"0123456789abcdef","parentSpanId":"1111111111111111","name":"GET /","kind":2,
            "startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"1700000000000000002",
            "attributes":[{"key":"n","value":{"intValue":"9007199254740993"}}],"status":{"code":2,"message":"boom"}}]}]}]}"#,
        )
        .unwrap(),
    );
    let json: serde_json::Value = serde_json::from_slice(&encode_spans_json(&spans)).unwrap();
    let span = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], "0123456789abcdef0123456789abcdef");
    assert_eq!(span["spanId"], "0123456789abcdef");
    assert_eq!(span["parentSpanId"], "1111111111111111");
    assert_eq!(span["kind"], 2);
    assert_eq!(span["status"]["code"], 2);
    assert_eq!(json["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"], "lib");
    // 64-bit integers are strings, so JavaScript keeps every digit.
    assert_eq!(span["startTimeUnixNano"], "1700000000000000001");
    assert_eq!(span["attributes"][0]["value"]["intValue"], "9007199254740993");
}

#[test]
fn spans_of_two_resources_sharing_a_scope_name_stay_apart() {
    let json = br#"{"resourceSpans":[
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[
          {"traceId":"0123456789abcdef0123456789abcdef","spanId":"0000000000000001","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]},
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[
          {"traceId":"0123456789abcdef0123456789abcdef","spanId":"0000000000000002","name":"y","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]},
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[
          {"traceId":"0123456789abcdef0123456789abcdef","spanId":"0000000000000003","name":"z","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
    let encoded = encode_spans(&records(decode_json(json).unwrap()));
    // Equal resources that arrived apart are one group; different ones stay apart.
    assert_eq!(encoded.resource_spans.len(), 2);
    let names: Vec<Vec<&str>> = encoded
        .resource_spans
        .iter()
        .map(|rs| rs.scope_spans.iter().flat_map(|ss| ss.spans.iter().map(|s| s.name.as_str())).collect())
        .collect();
    assert_eq!(names, [vec!["x", "z"], vec!["y"]]);
}
