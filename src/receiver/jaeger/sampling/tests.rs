use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use proptest::prelude::*;
use tower::ServiceExt;

use super::*;
use crate::proto::jaeger::api_v2::sampling_manager_server::SamplingManager;
use crate::proto::jaeger::api_v2::{
    OperationSamplingStrategy, PerOperationSamplingStrategies, ProbabilisticSamplingStrategy,
    RateLimitingSamplingStrategy, SamplingStrategyParameters, SamplingStrategyResponse, SamplingStrategyType,
};

/// A strategies file in the shape Jaeger's sampling documentation shows.
const EXAMPLE: &str = r#"{
  "service_strategies": [
    {
      "service": "checkout",
      "type": "probabilistic",
      "param": 0.8,
      "operation_strategies": [
        { "operation": "POST /pay", "type": "probabilistic", "param": 1 },
        { "operation": "/health", "type": "probabilistic", "param": 0.5 }
      ]
    },
    { "service": "inventory", "type": "ratelimiting", "param": 5 },
    { "service": "search", "type": "probabilistic", "param": 0.25 }
  ],
  "default_strategy": {
    "type": "probabilistic",
    "param": 0.1,
    "operation_strategies": [
      { "operation": "/health", "type": "probabilistic", "param": 0.0 },
      { "operation": "/metrics", "type": "probabilistic", "param": 0.0 }
    ]
  }
}"#;

fn example() -> SamplingStrategies {
    SamplingStrategies::from_json(EXAMPLE).expect("example parses")
}

fn probabilistic(rate: f64) -> Option<ProbabilisticSamplingStrategy> {
    Some(ProbabilisticSamplingStrategy { sampling_rate: rate })
}

fn operation(name: &str, rate: f64) -> OperationSamplingStrategy {
    OperationSamplingStrategy { operation: name.into(), probabilistic_sampling: probabilistic(rate) }
}

fn per_operation(default: f64, ops: Vec<OperationSamplingStrategy>) -> Option<PerOperationSamplingStrategies> {
    Some(PerOperationSamplingStrategies {
        default_sampling_probability: default,
        default_lower_bound_traces_per_second: 0.0,
        per_operation_strategies: ops,
        default_upper_bound_traces_per_second: 0.0,
    })
}

fn operation_names(response: &SamplingStrategyResponse) -> Vec<&str> {
    response
        .operation_sampling
        .as_ref()
        .map(|ops| ops.per_operation_strategies.iter().map(|op| op.operation.as_str()).collect())
        .unwrap_or_default()
}

fn error_of(text: &str) -> String {
    SamplingStrategies::from_json(text).expect_err("strategies are refused").to_string()
}

// --- strategies: Jaeger's file-provider semantics ---

#[test]
fn parses_documented_example() {
    let strategies = example();
    assert_eq!(strategies.service_count(), 3);

    let checkout = strategies.strategy_for("checkout");
    assert_eq!(
        checkout,
        SamplingStrategyResponse {
            strategy_type: SamplingStrategyType::Probabilistic as i32,
            probabilistic_sampling: probabilistic(0.8),
            rate_limiting_sampling: None,
            // Own operations first, then the default's that it does not name.
            operation_sampling: per_operation(
                0.8,
                vec![operation("POST /pay", 1.0), operation("/health", 0.5), operation("/metrics", 0.0)]
            ),
        }
    );

    let unknown = strategies.strategy_for("unlisted");
    assert_eq!(unknown.probabilistic_sampling, probabilistic(0.1));
    assert_eq!(
        unknown.operation_sampling,
        per_operation(0.1, vec![operation("/health", 0.0), operation("/metrics", 0.0)])
    );
}

#[test]
fn probabilistic_service_without_operations_inherits_default_operations_with_its_own_rate() {
    let search = example().strategy_for("search");
    assert_eq!(search.probabilistic_sampling, probabilistic(0.25));
    assert_eq!(
        search.operation_sampling,
        per_operation(0.25, vec![operation("/health", 0.0), operation("/metrics", 0.0)])
    );
}

#[test]
fn rate_limiting_service_inherits_default_operations_with_the_default_rate() {
    let inventory = example().strategy_for("inventory");
    assert_eq!(inventory.strategy_type, SamplingStrategyType::RateLimiting as i32);
    assert_eq!(inventory.rate_limiting_sampling, Some(RateLimitingSamplingStrategy { max_traces_per_second: 5 }));
    assert_eq!(inventory.probabilistic_sampling, None);
    assert_eq!(
        inventory.operation_sampling,
        per_operation(0.1, vec![operation("/health", 0.0), operation("/metrics", 0.0)])
    );
}

#[test]
fn rate_limiting_service_with_own_operations_falls_back_to_the_built_in_probability() {
    let strategies = SamplingStrategies::from_json(
        r#"{"service_strategies":[{"service":"s","type":"ratelimiting","param":5,
            "operation_strategies":[{"operation":"a","type":"probabilistic","param":0.3}]}],
            "default_strategy":{"type":"probabilistic","param":0.5,
            "operation_strategies":[{"operation":"b","type":"probabilistic","param":0.2}]}}"#,
    )
    .unwrap();
    let s = strategies.strategy_for("s");
    assert_eq!(s.operation_sampling, per_operation(0.001, vec![operation("a", 0.3), operation("b", 0.2)]));
}

#[test]
fn rate_limiting_operation_strategies_are_dropped() {
    let strategies = SamplingStrategies::from_json(
        r#"{"service_strategies":[{"service":"s","type":"probabilistic","param":0.8,
            "operation_strategies":[
              {"operation":"a","type":"ratelimiting","param":10},
              {"operation":"b","type":"probabilistic","param":0.2}]}],
            "default_strategy":{"type":"probabilistic","param":0.5,
            "operation_strategies":[{"operation":"a","type":"probabilistic","param":0.9},
                                    {"operation":"c","type":"ratelimiting","param":1}]}}"#,
    )
    .unwrap();
    // The dropped "a" does not shadow the default's "a"; the default's rate-limited "c" is gone.
    assert_eq!(operation_names(&strategies.strategy_for("s")), ["b", "a"]);
    assert_eq!(operation_names(&strategies.strategy_for("other")), ["a"]);
}

#[test]
fn only_rate_limited_operations_still_give_operation_sampling() {
    let strategies = SamplingStrategies::from_json(
        r#"{"default_strategy":{"type":"probabilistic","param":0.5,
            "operation_strategies":[{"operation":"a","type":"ratelimiting","param":1}]}}"#,
    )
    .unwrap();
    assert_eq!(strategies.strategy_for("x").operation_sampling, per_operation(0.5, vec![]));
}

#[test]
fn default_without_operations_leaves_services_as_written() {
    let strategies = SamplingStrategies::from_json(
        r#"{"service_strategies":[{"service":"s","type":"probabilistic","param":0.4},
            {"service":"t","type":"probabilistic","param":0.4,"operation_strategies":[]}],
            "default_strategy":{"type":"ratelimiting","param":3}}"#,
    )
    .unwrap();
    assert_eq!(strategies.strategy_for("s").operation_sampling, None);
    assert_eq!(strategies.strategy_for("t").operation_sampling, None);
    let other = strategies.strategy_for("other");
    assert_eq!(other.rate_limiting_sampling, Some(RateLimitingSamplingStrategy { max_traces_per_second: 3 }));
}

#[test]
fn built_in_default_without_a_file() {
    let response = SamplingStrategies::default().strategy_for("anything");
    assert_eq!(
        response,
        SamplingStrategyResponse {
            strategy_type: SamplingStrategyType::Probabilistic as i32,
            probabilistic_sampling: probabilistic(DEFAULT_SAMPLING_PROBABILITY),
            rate_limiting_sampling: None,
            operation_sampling: None,
        }
    );
    assert_eq!(DEFAULT_SAMPLING_PROBABILITY, 0.001);
}

#[test]
fn null_empty_or_default_less_files_use_the_built_in_default() {
    for text in ["null", "{}", r#"{"service_strategies":null,"default_strategy":null}"#] {
        assert_eq!(SamplingStrategies::from_json(text).unwrap(), SamplingStrategies::default(), "{text}");
    }
    let strategies =
        SamplingStrategies::from_json(r#"{"service_strategies":[{"service":"s","type":"ratelimiting","param":1}]}"#)
            .unwrap();
    assert_eq!(strategies.strategy_for("other"), SamplingStrategies::default().strategy_for("other"));
}

#[test]
fn unknown_keys_are_ignored_and_the_last_entry_for_a_service_wins() {
    let strategies = SamplingStrategies::from_json(
        r#"{"comment":"x","service_strategies":[
            {"service":"s","type":"probabilistic","param":0.1,"note":true},
            {"service":"s","type":"probabilistic","param":0.2}]}"#,
    )
    .unwrap();
    assert_eq!(strategies.strategy_for("s").probabilistic_sampling, probabilistic(0.2));
}

#[test]
fn fractional_rate_is_truncated_like_jaeger() {
    let strategies =
        SamplingStrategies::from_json(r#"{"default_strategy":{"type":"ratelimiting","param":3.9}}"#).unwrap();
    assert_eq!(
        strategies.strategy_for("x").rate_limiting_sampling,
        Some(RateLimitingSamplingStrategy { max_traces_per_second: 3 })
    );
}

#[test]
fn empty_service_name_is_an_ordinary_key() {
    let strategies =
        SamplingStrategies::from_json(r#"{"service_strategies":[{"service":"","type":"probabilistic","param":1}]}"#)
            .unwrap();
    assert_eq!(strategies.strategy_for("").probabilistic_sampling, probabilistic(1.0));
}

// --- strategies: refusals name what is wrong and where ---

#[test]
fn rejects_unknown_type_naming_the_service() {
    let message = error_of(r#"{"service_strategies":[{"service":"checkout","type":"const","param":1}]}"#);
    assert_eq!(message, r#"service "checkout": unknown type "const", expected "probabilistic" or "ratelimiting""#);
}

#[test]
fn rejects_negative_probability_naming_the_service() {
    let message = error_of(r#"{"service_strategies":[{"service":"checkout","type":"probabilistic","param":-0.1}]}"#);
    assert_eq!(message, r#"service "checkout": probabilistic param -0.1 is outside [0, 1]"#);
}

#[test]
fn rejects_probability_above_one_naming_the_service() {
    let message = error_of(r#"{"service_strategies":[{"service":"checkout","type":"probabilistic","param":1.5}]}"#);
    assert_eq!(message, r#"service "checkout": probabilistic param 1.5 is outside [0, 1]"#);
}

#[test]
fn rejects_bad_operation_probability_naming_service_and_operation() {
    let message = error_of(
        r#"{"service_strategies":[{"service":"checkout","type":"probabilistic","param":0.5,
            "operation_strategies":[{"operation":"GET /cart","type":"probabilistic","param":2}]}]}"#,
    );
    assert_eq!(message, r#"service "checkout" operation "GET /cart": probabilistic param 2 is outside [0, 1]"#);
}

#[test]
fn rejects_bad_default_strategy_naming_it() {
    let message = error_of(r#"{"default_strategy":{"type":"probabilistic","param":7}}"#);
    assert_eq!(message, "default_strategy: probabilistic param 7 is outside [0, 1]");
}

#[test]
fn rejects_negative_or_huge_rates() {
    let message = error_of(r#"{"service_strategies":[{"service":"s","type":"ratelimiting","param":-1}]}"#);
    assert_eq!(message, r#"service "s": ratelimiting param -1 is outside [0, 2147483647]"#);
    let message = error_of(r#"{"service_strategies":[{"service":"s","type":"ratelimiting","param":1e10}]}"#);
    assert!(message.starts_with(r#"service "s": ratelimiting param"#), "{message}");
}

#[test]
fn rejects_missing_keys_naming_the_entry() {
    assert_eq!(error_of(r#"{"service_strategies":[{"service":"s","param":1}]}"#), r#"service "s": missing "type""#);
    assert_eq!(
        error_of(r#"{"service_strategies":[{"service":"s","type":"probabilistic"}]}"#),
        r#"service "s": missing "param""#
    );
    assert_eq!(
        error_of(
            r#"{"service_strategies":[{"service":"a","type":"ratelimiting","param":1},{"type":"ratelimiting","param":1}]}"#
        ),
        r#"service_strategies[1]: missing "service""#
    );
    assert_eq!(
        error_of(
            r#"{"default_strategy":{"type":"probabilistic","param":1,
                "operation_strategies":[{"type":"probabilistic","param":1}]}}"#
        ),
        r#"default_strategy operation_strategies[0]: missing "operation""#
    );
}

#[test]
fn rejects_malformed_json() {
    let malformed = [
        "",
        "[]",
        "{",
        r#"{"service_strategies":{}}"#,
        r#"{"service_strategies":[["s","probabilistic",0.5]]}"#,
        r#"{"default_strategy":["probabilistic",0.5]}"#,
        r#"{"default_strategy":{"param":"0.5"}}"#,
        r#"{"service_strategies":[null]}"#,
    ];
    for text in malformed {
        let error = SamplingStrategies::from_json(text).expect_err(text);
        assert!(matches!(error, SamplingError::Syntax(_)), "{text}: {error}");
    }
}

#[test]
fn rejects_more_services_than_the_limit() {
    let entry = r#"{"service":"s","type":"probabilistic","param":0.5}"#;
    let text = format!(r#"{{"service_strategies":[{}]}}"#, vec![entry; MAX_SERVICE_STRATEGIES + 1].join(","));
    assert!(matches!(
        SamplingStrategies::from_json(&text),
        Err(SamplingError::TooManyServices { count, .. }) if count == MAX_SERVICE_STRATEGIES + 1
    ));
    let text = format!(r#"{{"service_strategies":[{}]}}"#, vec![entry; MAX_SERVICE_STRATEGIES].join(","));
    assert!(SamplingStrategies::from_json(&text).is_ok());
}

#[test]
fn rejects_more_operations_than_the_limit() {
    let entry = r#"{"operation":"o","type":"probabilistic","param":0.5}"#;
    let text = format!(
        r#"{{"service_strategies":[{{"service":"big","type":"probabilistic","param":1,"operation_strategies":[{}]}}]}}"#,
        vec![entry; MAX_OPERATION_STRATEGIES + 1].join(",")
    );
    let message = error_of(&text);
    assert_eq!(message, r#"service "big": 10001 operation strategies, more than the limit of 10000"#);
}

#[test]
fn reads_a_file_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strategies.json");
    std::fs::write(&path, EXAMPLE).unwrap();
    assert_eq!(SamplingStrategies::from_file(&path).unwrap(), example());

    let missing = dir.path().join("absent.json");
    let message = SamplingStrategies::from_file(&missing).unwrap_err().to_string();
    assert!(message.starts_with("cannot read sampling strategies file "), "{message}");
    assert!(message.contains("absent.json"), "{message}");
}

// --- proto-JSON ---

#[test]
fn default_strategy_json_is_exactly_jaegers() {
    let json = to_proto_json(&SamplingStrategies::default().strategy_for("x"));
    assert_eq!(json, r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}"#);
}

#[test]
fn rate_limiting_json_is_exactly_jaegers() {
    let response = SamplingStrategyResponse {
        strategy_type: SamplingStrategyType::RateLimiting as i32,
        rate_limiting_sampling: Some(RateLimitingSamplingStrategy { max_traces_per_second: 42 }),
        ..Default::default()
    };
    assert_eq!(
        to_proto_json(&response),
        r#"{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":42}}"#
    );
}

#[test]
fn per_operation_json_writes_zero_scalars_and_drops_absent_messages() {
    let json = to_proto_json(&example().strategy_for("inventory"));
    assert_eq!(
        json,
        concat!(
            r#"{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":5},"#,
            r#""operationSampling":{"defaultSamplingProbability":0.1,"defaultLowerBoundTracesPerSecond":0,"#,
            r#""perOperationStrategies":[{"operation":"/health","probabilisticSampling":{"samplingRate":0}},"#,
            r#"{"operation":"/metrics","probabilisticSampling":{"samplingRate":0}}],"#,
            r#""defaultUpperBoundTracesPerSecond":0}}"#
        )
    );
    let empty = SamplingStrategyResponse {
        operation_sampling: per_operation(
            1.0,
            vec![OperationSamplingStrategy { operation: "x".into(), probabilistic_sampling: None }],
        ),
        ..Default::default()
    };
    assert_eq!(
        to_proto_json(&empty),
        concat!(
            r#"{"strategyType":"PROBABILISTIC","operationSampling":{"defaultSamplingProbability":1,"#,
            r#""defaultLowerBoundTracesPerSecond":0,"perOperationStrategies":[{"operation":"x"}],"#,
            r#""defaultUpperBoundTracesPerSecond":0}}"#
        )
    );
}

#[test]
fn json_numbers_are_formatted_as_go_does() {
    let rate = |r: f64| {
        to_proto_json(&SamplingStrategyResponse { probabilistic_sampling: probabilistic(r), ..Default::default() })
    };
    let cases = [
        (1.0, "1"),
        (0.0, "0"),
        (0.5, "0.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e21, "1e+21"),
        (123456.0, "123456"),
        (f64::NAN, r#""NaN""#),
        (f64::NEG_INFINITY, r#""-Infinity""#),
    ];
    for (value, text) in cases {
        assert_eq!(
            rate(value),
            format!(r#"{{"strategyType":"PROBABILISTIC","probabilisticSampling":{{"samplingRate":{text}}}}}"#)
        );
    }
}

#[test]
fn json_strings_are_escaped_as_go_does() {
    let response = SamplingStrategyResponse {
        operation_sampling: per_operation(0.0, vec![operation("a\"b\\c\n<d>&\u{1}\u{2028}é", 0.0)]),
        ..Default::default()
    };
    let json = to_proto_json(&response);
    assert!(json.contains(r#""operation":"a\"b\\c\n\u003cd\u003e\u0026\u0001\u2028é""#), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["operationSampling"]["perOperationStrategies"][0]["operation"], "a\"b\\c\n<d>&\u{1}\u{2028}é");
}

#[test]
fn unnamed_strategy_type_is_written_as_a_number() {
    let response = SamplingStrategyResponse { strategy_type: 7, ..Default::default() };
    assert_eq!(to_proto_json(&response), r#"{"strategyType":7}"#);
}

// --- HTTP ---

async fn get(router: axum::Router, uri: &str) -> (StatusCode, Option<String>, String) {
    send(router, Method::GET, uri).await
}

async fn send(router: axum::Router, method: Method, uri: &str) -> (StatusCode, Option<String>, String) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn sampling_port_answers_on_any_path() {
    let strategies = Arc::new(example());
    let expected = to_proto_json(&strategies.strategy_for("checkout"));
    for uri in
        ["/sampling?service=checkout", "/api/sampling?service=checkout", "/?service=checkout", "/x/y?service=checkout"]
    {
        let (status, content_type, body) = get(router(strategies.clone()), uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{uri}");
        assert_eq!(body, expected, "{uri}");
    }
}

#[tokio::test]
async fn unknown_or_encoded_service_names_are_looked_up_decoded() {
    let strategies = Arc::new(
        SamplingStrategies::from_json(
            r#"{"service_strategies":[{"service":"my svc","type":"ratelimiting","param":2}]}"#,
        )
        .unwrap(),
    );
    let (_, _, body) = get(router(strategies.clone()), "/sampling?service=my%20svc").await;
    assert_eq!(body, r#"{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":2}}"#);
    let (status, _, body) = get(router(strategies), "/sampling?service=").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}"#);
}

#[tokio::test]
async fn missing_or_repeated_service_is_bad_request() {
    let strategies = Arc::new(example());
    for uri in ["/sampling", "/sampling?svc=a", "/sampling?service=a&service=b", "/?service=a&service=a"] {
        let (status, content_type, body) = get(router(strategies.clone()), uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(content_type.as_deref(), Some("text/plain; charset=utf-8"), "{uri}");
        assert_eq!(body, "'service' parameter must be provided once\n", "{uri}");
    }
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let strategies = Arc::new(example());
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let (status, _, _) = send(router(strategies.clone()), method.clone(), "/sampling?service=a").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let (status, _, _) = send(router(strategies.clone()), Method::POST, "/?service=a").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = send(collector_routes(strategies), Method::POST, "/api/sampling?service=a").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn collector_port_serves_only_api_sampling() {
    let strategies = Arc::new(example());
    let (status, content_type, body) = get(collector_routes(strategies.clone()), "/api/sampling?service=search").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body, to_proto_json(&strategies.strategy_for("search")));
    let (status, _, _) = get(collector_routes(strategies), "/sampling?service=search").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// --- gRPC ---

#[tokio::test]
async fn grpc_answers_the_service_strategy_and_the_default_for_an_empty_name() {
    let strategies = Arc::new(example());
    let service = SamplingManagerService::new(strategies.clone());
    for name in ["inventory", "unlisted", ""] {
        let request = tonic::Request::new(SamplingStrategyParameters { service_name: name.into() });
        let response = service.get_sampling_strategy(request).await.expect("never fails").into_inner();
        assert_eq!(response, strategies.strategy_for(name), "{name:?}");
    }
    let _server = service.server();
}

// --- properties ---

/// A valid strategy's `type` and `param`, with a param anywhere in its valid range.
fn arb_sampler() -> impl Strategy<Value = (&'static str, f64)> {
    prop_oneof![
        (0.0..=1.0f64).prop_map(|p| ("probabilistic", p)),
        prop_oneof![Just(0.0), Just(1.0), Just(0.001)].prop_map(|p| ("probabilistic", p)),
        (0u32..100_000).prop_map(|n| ("ratelimiting", f64::from(n))),
    ]
}

fn arb_entry(name_key: &'static str) -> impl Strategy<Value = serde_json::Value> {
    ("[a-c/ ]{0,3}", arb_sampler())
        .prop_map(move |(name, (kind, param))| serde_json::json!({ name_key: name, "type": kind, "param": param }))
}

fn arb_strategy(with_service: bool) -> impl Strategy<Value = serde_json::Value> {
    ("[a-d]{0,2}", arb_sampler(), proptest::option::of(proptest::collection::vec(arb_entry("operation"), 0..5)))
        .prop_map(move |(service, (kind, param), ops)| {
            let mut value = serde_json::json!({ "type": kind, "param": param });
            if with_service {
                value["service"] = service.into();
            }
            if let Some(ops) = ops {
                value["operation_strategies"] = ops.into();
            }
            value
        })
}

fn arb_file() -> impl Strategy<Value = serde_json::Value> {
    (proptest::option::of(arb_strategy(false)), proptest::collection::vec(arb_strategy(true), 0..6)).prop_map(
        |(default, services)| {
            let mut file = serde_json::json!({ "service_strategies": services });
            if let Some(default) = default {
                file["default_strategy"] = default;
            }
            file
        },
    )
}

fn check_ranges(response: &SamplingStrategyResponse) -> Result<(), TestCaseError> {
    let unit = 0.0..=1.0;
    if let Some(p) = &response.probabilistic_sampling {
        prop_assert!(unit.contains(&p.sampling_rate), "sampling rate {}", p.sampling_rate);
    }
    if let Some(r) = &response.rate_limiting_sampling {
        prop_assert!(r.max_traces_per_second >= 0);
    }
    if let Some(ops) = &response.operation_sampling {
        prop_assert!(unit.contains(&ops.default_sampling_probability));
        for op in &ops.per_operation_strategies {
            let rate = op.probabilistic_sampling.map(|p| p.sampling_rate);
            prop_assert!(rate.is_some_and(|r| unit.contains(&r)), "{}: {rate:?}", op.operation);
        }
    }
    prop_assert!(
        (response.probabilistic_sampling.is_some()) != (response.rate_limiting_sampling.is_some()),
        "exactly one of probabilistic and rate-limiting"
    );
    Ok(())
}

proptest! {
    #[test]
    fn from_json_never_panics(text in ".{0,512}") {
        let _ = SamplingStrategies::from_json(&text);
    }

    #[test]
    fn from_json_never_panics_on_near_valid_files(
        file in arb_file(),
        key in "[a-z_]{1,20}",
        junk in prop_oneof![Just(serde_json::Value::Null), any::<f64>().prop_map(serde_json::Value::from),
            "[a-z]{0,8}".prop_map(serde_json::Value::from), Just(serde_json::json!([])), Just(serde_json::json!({}))],
    ) {
        let mut file = file;
        if let Some(first) = file["service_strategies"].get_mut(0) {
            first[key.as_str()] = junk.clone();
        }
        file["default_strategy"]["param"] = junk;
        let _ = SamplingStrategies::from_json(&file.to_string());
    }

    #[test]
    fn valid_files_give_probabilities_within_unit_range(file in arb_file(), probe in "[a-d]{0,2}") {
        let text = file.to_string();
        let strategies = SamplingStrategies::from_json(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        let mut names: Vec<String> = file["service_strategies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["service"].as_str().map(str::to_owned))
            .collect();
        names.push(probe);
        for name in &names {
            let response = strategies.strategy_for(name);
            check_ranges(&response)?;
            let json: serde_json::Value = serde_json::from_str(&to_proto_json(&response))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(json["strategyType"].is_string());
        }
    }
}
