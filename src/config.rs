//! Configuration: the documented flags (also `TRACEHOUND_*` environment variables and keys of a
//! TOML file) parsed into [`Config`], then validated once into ready-to-use [`Settings`].
//!
//! Precedence: flag, then environment variable, then config file, then built-in default.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use bytesize::ByteSize;
use clap::Parser;
use serde::Deserialize;

/// Why configuration could not be turned into settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these keys.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: Box<toml::de::Error>,
    },
    /// A value is out of its allowed range.
    #[error("invalid value for {key}: {reason}")]
    Invalid {
        /// Flag name.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// A listen address: `PORT`, `:PORT` (host from `--bind`) or `HOST:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ListenAddr {
    /// Only a port; the host comes from `--bind`.
    Port(u16),
    /// A full socket address.
    Full(SocketAddr),
}

impl FromStr for ListenAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let port_text = s.strip_prefix(':').unwrap_or(s);
        if let Ok(port) = port_text.parse::<u16>() {
            return Ok(Self::Port(port));
        }
        s.parse::<SocketAddr>()
            .map(Self::Full)
            .map_err(|_| format!("{s:?} is not PORT, :PORT or HOST:PORT (e.g. 4317, 0.0.0.0:4317, [::1]:4317)"))
    }
}

impl TryFrom<String> for ListenAddr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl ListenAddr {
    fn resolve(self, bind: IpAddr) -> SocketAddr {
        match self {
            Self::Port(port) => SocketAddr::new(bind, port),
            Self::Full(addr) => addr,
        }
    }
}

/// A duration written the human way (`5s`, `1m 30s`, `250ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = humantime::DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s).map(Self)
    }
}

impl TryFrom<String> for HumanDuration {
    type Error = humantime::DurationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Every setting as given by flags, environment or config file; absent means "use the default".
#[derive(Debug, Default, Parser, Deserialize)]
#[command(
    name = "tracehound",
    version,
    about = "Distributed tracing collector and query server: OTLP in; Zipkin v2 and Jaeger APIs out.",
    after_help = "Every flag can also be set as an environment variable (TRACEHOUND_ plus the flag name in \
                  upper case with underscores, e.g. TRACEHOUND_BIND=0.0.0.0) or as a key in the --config file \
                  (the flag name without dashes in front, e.g. bind = \"0.0.0.0\")."
)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Read settings from this TOML file; its keys are the long flag names (`otlp-grpc-addr = "4317"`)
    #[arg(long, env = "TRACEHOUND_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// IP address every listener binds to unless its own address names a host [default: 127.0.0.1]
    #[arg(long, env = "TRACEHOUND_BIND", value_name = "IP")]
    pub bind: Option<IpAddr>,

    /// OTLP/gRPC receiver (TraceService/Export) [default: 4317]
    #[arg(long, env = "TRACEHOUND_OTLP_GRPC_ADDR", value_name = "[HOST:]PORT")]
    pub otlp_grpc_addr: Option<ListenAddr>,

    /// OTLP/HTTP receiver (POST /v1/traces, protobuf and JSON) [default: 4318]
    #[arg(long, env = "TRACEHOUND_OTLP_HTTP_ADDR", value_name = "[HOST:]PORT")]
    pub otlp_http_addr: Option<ListenAddr>,

    /// Zipkin API: ingest (POST /api/v2/spans, /api/v1/spans) and the v2 query API (also under /zipkin) [default: 9411]
    #[arg(long, env = "TRACEHOUND_ZIPKIN_ADDR", value_name = "[HOST:]PORT")]
    pub zipkin_addr: Option<ListenAddr>,

    /// Query port: the web UI (/), Jaeger HTTP API (/api/...), our REST API (/api/v1/...) and Prometheus /metrics [default: 16686]
    #[arg(long, env = "TRACEHOUND_QUERY_ADDR", value_name = "[HOST:]PORT")]
    pub query_addr: Option<ListenAddr>,

    /// Jaeger query gRPC (jaeger.api_v2 and jaeger.api_v3 QueryService, with server reflection) [default: 16685]
    #[arg(long, env = "TRACEHOUND_JAEGER_QUERY_GRPC_ADDR", value_name = "[HOST:]PORT")]
    pub jaeger_query_grpc_addr: Option<ListenAddr>,

    /// Jaeger collector gRPC (api_v2 CollectorService/PostSpans and SamplingManager) [default: 14250]
    #[arg(long, env = "TRACEHOUND_JAEGER_GRPC_ADDR", value_name = "[HOST:]PORT")]
    pub jaeger_grpc_addr: Option<ListenAddr>,

    /// Jaeger collector thrift over HTTP (POST /api/traces; also GET /api/sampling) [default: 14268]
    #[arg(long, env = "TRACEHOUND_JAEGER_HTTP_ADDR", value_name = "[HOST:]PORT")]
    pub jaeger_http_addr: Option<ListenAddr>,

    /// Jaeger agent UDP, compact thrift emitBatch [default: 6831]
    #[arg(long, env = "TRACEHOUND_JAEGER_COMPACT_ADDR", value_name = "[HOST:]PORT")]
    pub jaeger_compact_addr: Option<ListenAddr>,

    /// Jaeger agent UDP, binary thrift emitBatch [default: 6832]
    #[arg(long, env = "TRACEHOUND_JAEGER_BINARY_ADDR", value_name = "[HOST:]PORT")]
    pub jaeger_binary_addr: Option<ListenAddr>,

    /// Jaeger remote sampling HTTP (GET /sampling?service= and /api/sampling?service=) [default: 5778]
    #[arg(long, env = "TRACEHOUND_SAMPLING_ADDR", value_name = "[HOST:]PORT")]
    pub sampling_addr: Option<ListenAddr>,

    /// Sampling strategies served to Jaeger clients, in Jaeger's strategies-file JSON format [default: probabilistic 0.001 for every service]
    #[arg(long, env = "TRACEHOUND_SAMPLING_STRATEGIES", value_name = "FILE")]
    pub sampling_strategies: Option<PathBuf>,

    /// Largest request body a receiver accepts, measured after decompression (413 / RESOURCE_EXHAUSTED above it) [default: 64MiB]
    #[arg(long, env = "TRACEHOUND_MAX_REQUEST_BYTES", value_name = "SIZE")]
    pub max_request_bytes: Option<ByteSize>,

    /// Requests the receivers read and decode at once (each up to --max-request-bytes); more are refused as retryable [default: 64]
    #[arg(long, env = "TRACEHOUND_MAX_CONCURRENT_REQUESTS", value_name = "N")]
    pub max_concurrent_requests: Option<usize>,

    /// Spans the ingest pipeline holds at once; requests beyond it are refused as retryable (503 / UNAVAILABLE) [default: 1000000]
    #[arg(long, env = "TRACEHOUND_INGEST_QUEUE_SPANS", value_name = "N")]
    pub ingest_queue_spans: Option<usize>,

    /// Memory the in-memory store may use for spans; the oldest traces are evicted beyond it [default: 1GiB]
    #[arg(long, env = "TRACEHOUND_MEMORY_STORE_BYTES", value_name = "SIZE")]
    pub memory_store_bytes: Option<ByteSize>,

    /// Distinct services the store indexes; spans of further services are stored but not listed [default: 10000]
    #[arg(long, env = "TRACEHOUND_MAX_SERVICES", value_name = "N")]
    pub max_services: Option<usize>,

    /// Distinct operations indexed per service [default: 10000]
    #[arg(long, env = "TRACEHOUND_MAX_OPERATIONS_PER_SERVICE", value_name = "N")]
    pub max_operations_per_service: Option<usize>,

    /// Tag keys whose values Zipkin's autocomplete offers (comma-separated, e.g. `environment,http.method`); values are indexed as spans arrive [default: none]
    #[arg(long, env = "TRACEHOUND_AUTOCOMPLETE_KEYS", value_name = "KEYS")]
    pub autocomplete_keys: Option<String>,

    /// Largest shift the Jaeger APIs and the web UI apply to correct clock skew between hosts; larger skews only get a warning, 0s turns adjustment off [default: 5m]
    #[arg(long, env = "TRACEHOUND_MAX_CLOCK_SKEW_ADJUSTMENT", value_name = "DURATION")]
    pub max_clock_skew_adjustment: Option<HumanDuration>,

    /// Where traces are kept: disk (under --data-dir, kept across restarts within --retention and --max-disk-bytes) or memory (within --memory-store-bytes, gone on restart) [default: disk]
    #[arg(long, env = "TRACEHOUND_STORAGE", value_name = "KIND")]
    pub storage: Option<StorageKind>,

    /// Directory of the disk store [default: ./tracehound-data]
    #[arg(long, env = "TRACEHOUND_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// When the disk store acknowledges spans: strict (after they are synced to disk: a crash loses nothing acknowledged) or relaxed (once written; synced within --durability-window, which is what a crash may lose) [default: strict]
    #[arg(long, env = "TRACEHOUND_DURABILITY", value_name = "MODE")]
    pub durability: Option<DurabilityKind>,

    /// How long the disk store keeps spans; older time partitions are dropped whole [default: 7d]
    #[arg(long, env = "TRACEHOUND_RETENTION", value_name = "DURATION")]
    pub retention: Option<HumanDuration>,

    /// Size the disk store's directory may reach; beyond it the oldest time partitions are dropped (never the newest) [default: no cap]
    #[arg(long, env = "TRACEHOUND_MAX_DISK_BYTES", value_name = "SIZE")]
    pub max_disk_bytes: Option<ByteSize>,

    /// With --durability relaxed, the longest time acknowledged spans may wait for a sync [default: 1s]
    #[arg(long, env = "TRACEHOUND_DURABILITY_WINDOW", value_name = "DURATION")]
    pub durability_window: Option<HumanDuration>,

    /// Time without new spans after which a trace counts as complete [default: 10s]
    #[arg(long, env = "TRACEHOUND_TRACE_IDLE_TIMEOUT", value_name = "DURATION")]
    pub trace_idle_timeout: Option<HumanDuration>,

    /// Traces the assembler tracks at once; the oldest are marked complete early beyond it [default: 500000]
    #[arg(long, env = "TRACEHOUND_MAX_TRACES_IN_FLIGHT", value_name = "N")]
    pub max_traces_in_flight: Option<usize>,

    /// How long live statistics (latency percentiles, RED figures) are kept [default: 24h]
    #[arg(long, env = "TRACEHOUND_STATS_RETENTION", value_name = "DURATION")]
    pub stats_retention: Option<HumanDuration>,

    /// Services the live statistics track; spans of further services are not counted (and are counted as dropped) [default: 10000]
    #[arg(long, env = "TRACEHOUND_STATS_MAX_SERVICES", value_name = "N")]
    pub stats_max_services: Option<usize>,

    /// Operations the live statistics track per service; further ones are counted under __overflow__ [default: 1000]
    #[arg(long, env = "TRACEHOUND_STATS_MAX_OPERATIONS_PER_SERVICE", value_name = "N")]
    pub stats_max_operations_per_service: Option<usize>,

    /// Series per family of the Prometheus span metrics and service-graph metrics on /metrics; further ones are folded into one otel_metric_overflow series [default: 10000]
    #[arg(long, env = "TRACEHOUND_STATS_MAX_METRIC_SERIES", value_name = "N")]
    pub stats_max_metric_series: Option<usize>,

    /// Turn the live statistics off (no percentiles, RED figures or span metrics)
    #[arg(long, env = "TRACEHOUND_DISABLE_STATS")]
    #[serde(default)]
    pub disable_stats: bool,

    /// Lock shards in the assembler and the memory store [default: 8 per CPU core]
    #[arg(long, env = "TRACEHOUND_SHARDS", value_name = "N")]
    pub shards: Option<usize>,

    /// Log filter: a level or comma-separated target=level pairs [default: info]
    #[arg(long, env = "TRACEHOUND_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

/// Which store keeps traces (`--storage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// In memory, within `--memory-store-bytes`; gone on restart.
    Memory,
    /// On disk under `--data-dir`.
    #[default]
    Disk,
}

/// The store to run, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// The in-memory store.
    Memory,
    /// The disk store in this directory.
    Disk {
        /// The data directory.
        dir: PathBuf,
        /// When writes are acknowledged.
        durability: Durability,
        /// Retention and disk cap.
        limits: crate::store::DiskLimits,
    },
}

/// `--durability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityKind {
    /// Acknowledge after the sync.
    #[default]
    Strict,
    /// Acknowledge once written; sync within the window.
    Relaxed,
}

/// When the disk store acknowledges a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After it is synced to disk.
    Strict,
    /// Once it is in the operating system's buffers; synced at most `window` later.
    Relaxed {
        /// Longest wait for a sync.
        window: Duration,
    },
}

/// Where each listener binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSettings {
    /// OTLP/gRPC.
    pub otlp_grpc: SocketAddr,
    /// OTLP/HTTP.
    pub otlp_http: SocketAddr,
    /// Zipkin API.
    pub zipkin: SocketAddr,
    /// Jaeger HTTP API and metrics.
    pub query: SocketAddr,
    /// Jaeger collector gRPC.
    pub jaeger_grpc: SocketAddr,
    /// Jaeger query gRPC.
    pub jaeger_query_grpc: SocketAddr,
    /// Jaeger collector thrift over HTTP.
    pub jaeger_http: SocketAddr,
    /// Jaeger agent UDP, compact thrift.
    pub jaeger_compact: SocketAddr,
    /// Jaeger agent UDP, binary thrift.
    pub jaeger_binary: SocketAddr,
    /// Jaeger remote sampling HTTP.
    pub sampling: SocketAddr,
}

/// Limits of the ingest path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSettings {
    /// Largest decompressed request body.
    pub max_request_bytes: usize,
    /// Spans the pipeline holds at once.
    pub queue_spans: NonZeroUsize,
    /// Requests read and decoded at once across all receivers.
    pub max_concurrent_requests: NonZeroUsize,
}

/// Assembler behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssemblerSettings {
    /// Lock shards.
    pub shards: NonZeroUsize,
    /// Idle time after which a trace is complete.
    pub idle_timeout: Duration,
    /// Traces tracked at once.
    pub max_traces: NonZeroUsize,
    /// Live statistics: limits and retention.
    pub stats: crate::stats::red::StatsSettings,
}

/// In-memory store limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryStoreSettings {
    /// Byte budget for spans.
    pub max_bytes: usize,
    /// Lock shards.
    pub shards: NonZeroUsize,
    /// Distinct services indexed.
    pub max_services: usize,
    /// Distinct operations indexed per service.
    pub max_operations_per_service: usize,
    /// Tag keys whose values are indexed for Zipkin's autocomplete.
    pub autocomplete_keys: Vec<String>,
}

/// Validated, ready-to-use settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Listen addresses.
    pub listen: ListenSettings,
    /// Ingest limits.
    pub ingest: IngestSettings,
    /// Assembler behaviour.
    pub assembler: AssemblerSettings,
    /// Store limits.
    pub store: MemoryStoreSettings,
    /// Largest clock-skew correction applied to traces shown adjusted.
    pub max_clock_skew_adjustment: Duration,
    /// Where traces are kept.
    pub storage: Storage,
    /// Jaeger sampling strategies file; `None` serves the built-in default.
    pub sampling_strategies: Option<PathBuf>,
    /// Log filter.
    pub log: String,
}

fn non_zero(key: &'static str, n: usize) -> Result<NonZeroUsize, ConfigError> {
    NonZeroUsize::new(n).ok_or(ConfigError::Invalid { key, reason: "must be at least 1".into() })
}

fn bytes_usize(key: &'static str, size: ByteSize) -> Result<usize, ConfigError> {
    usize::try_from(size.as_u64())
        .map_err(|_| ConfigError::Invalid { key, reason: "too large for this machine".into() })
}

impl Config {
    /// Reads the `--config` file, if any, and fills every setting the flags and environment left unset.
    pub fn load(self) -> Result<Self, ConfigError> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let file = Self::from_file(&path)?;
        Ok(self.or(file))
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source: Box::new(source) })
    }

    /// Each setting from `self`, else from `fallback`.
    fn or(self, fallback: Self) -> Self {
        Self {
            config: self.config,
            bind: self.bind.or(fallback.bind),
            otlp_grpc_addr: self.otlp_grpc_addr.or(fallback.otlp_grpc_addr),
            otlp_http_addr: self.otlp_http_addr.or(fallback.otlp_http_addr),
            zipkin_addr: self.zipkin_addr.or(fallback.zipkin_addr),
            query_addr: self.query_addr.or(fallback.query_addr),
            jaeger_grpc_addr: self.jaeger_grpc_addr.or(fallback.jaeger_grpc_addr),
            jaeger_query_grpc_addr: self.jaeger_query_grpc_addr.or(fallback.jaeger_query_grpc_addr),
            jaeger_http_addr: self.jaeger_http_addr.or(fallback.jaeger_http_addr),
            jaeger_compact_addr: self.jaeger_compact_addr.or(fallback.jaeger_compact_addr),
            jaeger_binary_addr: self.jaeger_binary_addr.or(fallback.jaeger_binary_addr),
            sampling_addr: self.sampling_addr.or(fallback.sampling_addr),
            sampling_strategies: self.sampling_strategies.or(fallback.sampling_strategies),
            max_request_bytes: self.max_request_bytes.or(fallback.max_request_bytes),
            max_concurrent_requests: self.max_concurrent_requests.or(fallback.max_concurrent_requests),
            ingest_queue_spans: self.ingest_queue_spans.or(fallback.ingest_queue_spans),
            memory_store_bytes: self.memory_store_bytes.or(fallback.memory_store_bytes),
            max_services: self.max_services.or(fallback.max_services),
            max_operations_per_service: self.max_operations_per_service.or(fallback.max_operations_per_service),
            trace_idle_timeout: self.trace_idle_timeout.or(fallback.trace_idle_timeout),
            autocomplete_keys: self.autocomplete_keys.or(fallback.autocomplete_keys),
            max_clock_skew_adjustment: self.max_clock_skew_adjustment.or(fallback.max_clock_skew_adjustment),
            storage: self.storage.or(fallback.storage),
            data_dir: self.data_dir.or(fallback.data_dir),
            durability: self.durability.or(fallback.durability),
            retention: self.retention.or(fallback.retention),
            max_disk_bytes: self.max_disk_bytes.or(fallback.max_disk_bytes),
            durability_window: self.durability_window.or(fallback.durability_window),
            max_traces_in_flight: self.max_traces_in_flight.or(fallback.max_traces_in_flight),
            shards: self.shards.or(fallback.shards),
            stats_retention: self.stats_retention.or(fallback.stats_retention),
            stats_max_services: self.stats_max_services.or(fallback.stats_max_services),
            stats_max_operations_per_service: self
                .stats_max_operations_per_service
                .or(fallback.stats_max_operations_per_service),
            stats_max_metric_series: self.stats_max_metric_series.or(fallback.stats_max_metric_series),
            disable_stats: self.disable_stats || fallback.disable_stats,
            log: self.log.or(fallback.log),
        }
    }

    /// Applies defaults and checks ranges, failing fast with a message naming the setting.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let bind = self.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let listen = |addr: Option<ListenAddr>, port: u16| addr.unwrap_or(ListenAddr::Port(port)).resolve(bind);
        let cores = std::thread::available_parallelism().map(NonZeroUsize::get).unwrap_or(2);
        let shards = non_zero("shards", self.shards.unwrap_or(cores * 8))?;
        let max_request_bytes = bytes_usize("max-request-bytes", self.max_request_bytes.unwrap_or(ByteSize::mib(64)))?;
        if max_request_bytes < 1024 {
            return Err(ConfigError::Invalid { key: "max-request-bytes", reason: "must be at least 1KiB".into() });
        }
        let idle_timeout = self.trace_idle_timeout.map_or(Duration::from_secs(10), |d| d.0);
        if idle_timeout.is_zero() {
            return Err(ConfigError::Invalid { key: "trace-idle-timeout", reason: "must be longer than zero".into() });
        }
        let stats_retention = self.stats_retention.map_or(Duration::from_secs(24 * 3600), |d| d.0);
        if stats_retention < Duration::from_secs(60) {
            return Err(ConfigError::Invalid { key: "stats-retention", reason: "must be at least 1m".into() });
        }
        let stats_retention_minutes = stats_retention.as_secs() / 60;
        let log = self.log.unwrap_or_else(|| "info".into());
        if log.parse::<tracing_subscriber::filter::Targets>().is_err() {
            return Err(ConfigError::Invalid {
                key: "log",
                reason: format!("{log:?} is not a level or target=level list"),
            });
        }
        Ok(Settings {
            listen: ListenSettings {
                otlp_grpc: listen(self.otlp_grpc_addr, 4317),
                otlp_http: listen(self.otlp_http_addr, 4318),
                zipkin: listen(self.zipkin_addr, 9411),
                query: listen(self.query_addr, 16686),
                jaeger_grpc: listen(self.jaeger_grpc_addr, 14250),
                jaeger_query_grpc: listen(self.jaeger_query_grpc_addr, 16685),
                jaeger_http: listen(self.jaeger_http_addr, 14268),
                jaeger_compact: listen(self.jaeger_compact_addr, 6831),
                jaeger_binary: listen(self.jaeger_binary_addr, 6832),
                sampling: listen(self.sampling_addr, 5778),
            },
            sampling_strategies: self.sampling_strategies,
            storage: match self.storage.unwrap_or_default() {
                StorageKind::Memory => Storage::Memory,
                StorageKind::Disk => Storage::Disk {
                    dir: self.data_dir.unwrap_or_else(|| PathBuf::from("tracehound-data")),
                    limits: crate::store::DiskLimits {
                        retention: {
                            let retention = self.retention.map_or(Duration::from_secs(7 * 24 * 3600), |d| d.0);
                            if retention < Duration::from_secs(3600) {
                                return Err(ConfigError::Invalid {
                                    key: "retention",
                                    reason: "must be at least 1h".into(),
                                });
                            }
                            retention
                        },
                        max_disk_bytes: self.max_disk_bytes.map(|b| b.as_u64()),
                    },
                    durability: match self.durability.unwrap_or_default() {
                        DurabilityKind::Strict => Durability::Strict,
                        DurabilityKind::Relaxed => {
                            let window = self.durability_window.map_or(Duration::from_secs(1), |d| d.0);
                            if window.is_zero() {
                                return Err(ConfigError::Invalid {
                                    key: "durability-window",
                                    reason: "must be longer than zero".into(),
                                });
                            }
                            Durability::Relaxed { window }
                        }
                    },
                },
            },
            max_clock_skew_adjustment: self
                .max_clock_skew_adjustment
                .map_or(crate::query::adjust::DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT, |d| d.0),
            ingest: IngestSettings {
                max_request_bytes,
                queue_spans: non_zero("ingest-queue-spans", self.ingest_queue_spans.unwrap_or(1_000_000))?,
                max_concurrent_requests: non_zero(
                    "max-concurrent-requests",
                    self.max_concurrent_requests.unwrap_or(64),
                )?,
            },
            assembler: AssemblerSettings {
                shards,
                idle_timeout,
                max_traces: non_zero("max-traces-in-flight", self.max_traces_in_flight.unwrap_or(500_000))?,
                stats: crate::stats::red::StatsSettings {
                    enabled: !self.disable_stats,
                    max_services: non_zero("stats-max-services", self.stats_max_services.unwrap_or(10_000))?.get(),
                    max_operations_per_service: self.stats_max_operations_per_service.unwrap_or(1_000).max(2),
                    max_metric_series: non_zero(
                        "stats-max-metric-series",
                        self.stats_max_metric_series.unwrap_or(10_000),
                    )?
                    .get(),
                    resolution: crate::stats::series::Resolution {
                        retention_minutes: stats_retention_minutes,
                        ..crate::stats::series::Resolution::default()
                    },
                },
            },
            store: MemoryStoreSettings {
                max_bytes: bytes_usize("memory-store-bytes", self.memory_store_bytes.unwrap_or(ByteSize::gib(1)))?,
                shards,
                max_services: self.max_services.unwrap_or(10_000),
                max_operations_per_service: self.max_operations_per_service.unwrap_or(10_000),
                autocomplete_keys: self
                    .autocomplete_keys
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            log,
        })
    }
}

impl Settings {
    /// Defaults with every listener on an ephemeral loopback port, for tests.
    pub fn for_tests() -> Self {
        let zero = Some(ListenAddr::Port(0));
        let config = Config {
            otlp_grpc_addr: zero,
            otlp_http_addr: zero,
            zipkin_addr: zero,
            query_addr: zero,
            jaeger_grpc_addr: zero,
            jaeger_query_grpc_addr: zero,
            jaeger_http_addr: zero,
            jaeger_compact_addr: zero,
            jaeger_binary_addr: zero,
            sampling_addr: zero,
            shards: Some(4),
            memory_store_bytes: Some(ByteSize::mib(256)),
            trace_idle_timeout: Some(HumanDuration(Duration::from_secs(2))),
            // Tests that want the disk store give it a directory of their own.
            storage: Some(StorageKind::Memory),
            ..Config::default()
        };
        match config.validate() {
            Ok(settings) => settings,
            Err(e) => unreachable!("test defaults are valid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("tracehound").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_bind_loopback_on_standard_ports() {
        let s = parse(&[]).validate().unwrap();
        assert_eq!(s.listen.otlp_grpc, "127.0.0.1:4317".parse().unwrap());
        assert_eq!(s.listen.otlp_http, "127.0.0.1:4318".parse().unwrap());
        assert_eq!(s.listen.zipkin, "127.0.0.1:9411".parse().unwrap());
        assert_eq!(s.listen.query, "127.0.0.1:16686".parse().unwrap());
        assert_eq!(s.listen.jaeger_grpc, "127.0.0.1:14250".parse().unwrap());
        assert_eq!(s.listen.jaeger_http, "127.0.0.1:14268".parse().unwrap());
        assert_eq!(s.listen.jaeger_compact, "127.0.0.1:6831".parse().unwrap());
        assert_eq!(s.listen.jaeger_binary, "127.0.0.1:6832".parse().unwrap());
        assert_eq!(s.listen.sampling, "127.0.0.1:5778".parse().unwrap());
        assert_eq!(s.ingest.max_request_bytes, 64 << 20);
    }

    #[test]
    fn bind_opens_every_listener_and_each_address_can_differ() {
        let s = parse(&["--bind", "0.0.0.0", "--zipkin-addr", "127.0.0.1:19411", "--query-addr", ":26686"])
            .validate()
            .unwrap();
        assert_eq!(s.listen.otlp_grpc, "0.0.0.0:4317".parse().unwrap());
        assert_eq!(s.listen.zipkin, "127.0.0.1:19411".parse().unwrap());
        assert_eq!(s.listen.query, "0.0.0.0:26686".parse().unwrap());
    }

    #[test]
    fn file_fills_what_flags_leave_unset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracehound.toml");
        std::fs::write(
            &path,
            "bind = \"0.0.0.0\"\notlp-http-addr = \"14318\"\nmax-request-bytes = \"8MiB\"\ntrace-idle-timeout = \"30s\"\n",
        )
        .unwrap();
        let s = parse(&["--config", path.to_str().unwrap(), "--otlp-http-addr", "24318"])
            .load()
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(s.listen.otlp_http, "0.0.0.0:24318".parse().unwrap(), "flag beats file");
        assert_eq!(s.listen.otlp_grpc, "0.0.0.0:4317".parse().unwrap(), "file bind applies");
        assert_eq!(s.ingest.max_request_bytes, 8 << 20);
        assert_eq!(s.assembler.idle_timeout, Duration::from_secs(30));
    }

    #[test]
    fn storage_is_disk_unless_memory_is_asked_for() {
        assert_eq!(parse(&["--storage", "memory"]).validate().unwrap().storage, Storage::Memory);
        let disk = parse(&[]).validate().unwrap();
        assert_eq!(
            disk.storage,
            Storage::Disk {
                dir: PathBuf::from("tracehound-data"),
                durability: Durability::Strict,
                limits: crate::store::DiskLimits {
                    retention: Duration::from_secs(7 * 24 * 3600),
                    max_disk_bytes: None
                },
            }
        );
        let relaxed = parse(&["--storage", "disk", "--durability", "relaxed"]).validate().unwrap();
        assert!(matches!(
            relaxed.storage,
            Storage::Disk { durability: Durability::Relaxed { window }, .. } if window == Duration::from_secs(1)
        ));
        assert!(parse(&["--storage", "disk", "--durability", "relaxed", "--durability-window", "0s"])
            .validate()
            .is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tracehound.toml");
        std::fs::write(&path, "storage = \"disk\"\ndata-dir = \"/var/lib/tracehound\"\n").unwrap();
        let s = parse(&["--config", path.to_str().unwrap()]).load().unwrap().validate().unwrap();
        assert!(
            matches!(&s.storage, Storage::Disk { dir, durability: Durability::Strict, .. } if dir == Path::new("/var/lib/tracehound"))
        );
        let capped =
            parse(&["--storage", "disk", "--retention", "2d", "--max-disk-bytes", "10GiB"]).validate().unwrap();
        assert!(matches!(
            capped.storage,
            Storage::Disk { limits: crate::store::DiskLimits { retention, max_disk_bytes: Some(cap) }, .. }
                if retention == Duration::from_secs(2 * 86_400) && cap == 10 << 30
        ));
        assert!(parse(&["--storage", "disk", "--retention", "5m"]).validate().is_err());
        assert!(Config::try_parse_from(["tracehound", "--storage", "tape"]).is_err());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "bnd = \"0.0.0.0\"\n").unwrap();
        let err = parse(&["--config", path.to_str().unwrap()]).load().unwrap_err();
        assert!(err.to_string().contains("bnd"), "{err}");
    }

    #[test]
    fn rejects_zero_shards_and_bad_addresses() {
        assert!(parse(&["--shards", "0"]).validate().is_err());
        assert!(Config::try_parse_from(["tracehound", "--otlp-grpc-addr", "nowhere"]).is_err());
    }
}
