//! Integration tests: the real server in-process on ephemeral ports, spoken to over sockets with
//! real wire encodings.

mod cli;
mod clock_skew;
mod common;
mod conformance;
mod conversion_props;
mod crash;
mod cross_format;
mod dependencies;
mod disk_full;
mod golden;
mod grafana;
mod jaeger_ingest;
mod legacy_clients;
mod otlp_grpc;
mod otlp_http;
mod query_api_traces;
mod query_jaeger;
mod query_jaeger_grpc;
mod query_jaeger_v3;
mod query_zipkin;
mod sdk_python;
mod span_metrics;
mod stats_accuracy;
mod stats_api;
mod ui;
mod ui_browser;
mod zipkin_ingest;
