//! Sampling strategies read from a file in Jaeger's strategies-file format, answered per service
//! with the semantics of Jaeger's file-based strategy provider.
//!
//! Invariants of a [`SamplingStrategies`] value: every probability is in `[0, 1]`, every rate is
//! a non-negative `i32`, and per-operation strategies are probabilistic only. Inherited
//! per-operation strategies are merged when a service is asked for, so memory stays linear in
//! the size of the file however many services inherit the default's operations.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::proto::jaeger::api_v2::{
    OperationSamplingStrategy, PerOperationSamplingStrategies, ProbabilisticSamplingStrategy,
    RateLimitingSamplingStrategy, SamplingStrategyResponse, SamplingStrategyType,
};

/// The probability Jaeger answers with when no file, or no default strategy, is given.
pub const DEFAULT_SAMPLING_PROBABILITY: f64 = 0.001;
/// The most service strategies a file may hold.
pub const MAX_SERVICE_STRATEGIES: usize = 10_000;
/// The most operation strategies one service (or the default strategy) may hold.
pub const MAX_OPERATION_STRATEGIES: usize = 10_000;
/// The largest strategies file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a strategies file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SamplingError {
    /// The file could not be read.
    #[error("cannot read sampling strategies file {}: {source}", path.display())]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("sampling strategies file {} is larger than the limit of {limit} bytes", path.display())]
    FileTooLarge {
        /// The file asked for.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The text is not JSON of the strategies-file shape.
    #[error("sampling strategies are not valid: {0}")]
    Syntax(#[source] serde_json::Error),
    /// More service strategies than [`MAX_SERVICE_STRATEGIES`].
    #[error("sampling strategies list {count} services, more than the limit of {limit}")]
    TooManyServices {
        /// How many the file lists.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// More operation strategies in one strategy than [`MAX_OPERATION_STRATEGIES`].
    #[error("{at}: {count} operation strategies, more than the limit of {limit}")]
    TooManyOperations {
        /// Which strategy, e.g. `service "checkout"` or `default_strategy`.
        at: String,
        /// How many it lists.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A required key is missing or null.
    #[error("{at}: missing {key:?}")]
    Missing {
        /// Which strategy, e.g. `service_strategies[3]` or `service "checkout" operation "GET /"`.
        at: String,
        /// The key, e.g. `type`.
        key: &'static str,
    },
    /// `type` is neither `probabilistic` nor `ratelimiting`.
    #[error("{at}: unknown type {found:?}, expected \"probabilistic\" or \"ratelimiting\"")]
    UnknownType {
        /// Which strategy.
        at: String,
        /// The type the file gave.
        found: String,
    },
    /// A probabilistic `param` outside `[0, 1]`.
    #[error("{at}: probabilistic param {param} is outside [0, 1]")]
    ProbabilityOutOfRange {
        /// Which strategy.
        at: String,
        /// The param the file gave.
        param: f64,
    },
    /// A rate-limiting `param` that is negative or does not fit in an `i32`.
    #[error("{at}: ratelimiting param {param} is outside [0, {}]", i32::MAX)]
    RateOutOfRange {
        /// Which strategy.
        at: String,
        /// The param the file gave.
        param: f64,
    },
}

/// Sampling strategies per service plus a default, as a Jaeger file-based provider serves them.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingStrategies {
    default: Strategy,
    services: HashMap<String, Strategy>,
}

/// How a client samples the traces it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sampler {
    Probabilistic(f64),
    RateLimiting(i32),
}

/// One service's strategy (or the default), with its own per-operation strategies only.
#[derive(Debug, Clone, PartialEq)]
struct Strategy {
    sampler: Sampler,
    /// `None` when the file lists no operation strategies for it (an empty list counts as none).
    operations: Option<PerOperation>,
}

#[derive(Debug, Clone, PartialEq)]
struct PerOperation {
    default_probability: f64,
    /// Operation name and sampling probability, in file order.
    probabilities: Vec<(String, f64)>,
}

impl Default for SamplingStrategies {
    /// Jaeger's answer when no strategies file is given: probabilistic 0.001 for every service,
    /// without per-operation strategies.
    fn default() -> Self {
        Self { default: Strategy::built_in_default(), services: HashMap::new() }
    }
}

impl SamplingStrategies {
    /// Reads and validates a strategies file (blocking: call before serving, or off the reactor).
    pub fn from_file(path: &Path) -> Result<Self, SamplingError> {
        let read_error = |source| SamplingError::Read { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = Vec::new();
        // Read one byte past the cap so a file that grows while being read is still refused.
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut text).map_err(read_error)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(SamplingError::FileTooLarge { path: path.to_owned(), limit: MAX_FILE_BYTES });
        }
        Self::from_slice(&text)
    }

    /// Parses and validates strategies in Jaeger's strategies-file JSON format.
    pub fn from_json(text: &str) -> Result<Self, SamplingError> {
        Self::from_slice(text.as_bytes())
    }

    fn from_slice(text: &[u8]) -> Result<Self, SamplingError> {
        // Jaeger: a file holding just `null` means "use the defaults".
        let file: Option<Object<FileStrategies>> = serde_json::from_slice(text).map_err(SamplingError::Syntax)?;
        let Some(Object(file)) = file else { return Ok(Self::default()) };
        let listed = file.service_strategies.unwrap_or_default();
        if listed.len() > MAX_SERVICE_STRATEGIES {
            return Err(SamplingError::TooManyServices { count: listed.len(), limit: MAX_SERVICE_STRATEGIES });
        }
        let default = match file.default_strategy {
            Some(Object(raw)) => Strategy::parse(raw, "default_strategy".to_owned())?,
            None => Strategy::built_in_default(),
        };
        let mut services = HashMap::with_capacity(listed.len());
        for (index, Object(mut raw)) in listed.into_iter().enumerate() {
            let Some(service) = raw.service.take() else {
                return Err(SamplingError::Missing { at: format!("service_strategies[{index}]"), key: "service" });
            };
            let strategy = Strategy::parse(raw, format!("service {service:?}"))?;
            // Jaeger keeps the last of several entries for one service.
            services.insert(service, strategy);
        }
        Ok(Self { default, services })
    }

    /// The strategy for `service`: its own, completed with the default's per-operation
    /// strategies, or the default strategy for a service the file does not list.
    pub fn strategy_for(&self, service: &str) -> SamplingStrategyResponse {
        let Some(own) = self.services.get(service) else { return self.default.response(None) };
        let Some(inherited) = &self.default.operations else { return own.response(None) };
        // Jaeger: a service without operation strategies takes the default's, with its own
        // probability as the fallback if it is probabilistic; a service with some keeps them and
        // gains the default's for operations it does not name.
        let operations = match &own.operations {
            None => PerOperation {
                default_probability: match own.sampler {
                    Sampler::Probabilistic(p) => p,
                    Sampler::RateLimiting(_) => inherited.default_probability,
                },
                probabilities: inherited.probabilities.clone(),
            },
            Some(mine) => {
                let named: HashSet<&str> = mine.probabilities.iter().map(|(operation, _)| operation.as_str()).collect();
                let mut probabilities = mine.probabilities.clone();
                probabilities
                    .extend(inherited.probabilities.iter().filter(|(op, _)| !named.contains(op.as_str())).cloned());
                PerOperation { default_probability: mine.default_probability, probabilities }
            }
        };
        own.response(Some(&operations))
    }

    /// How many services have a strategy of their own.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }
}

impl Strategy {
    fn built_in_default() -> Self {
        Self { sampler: Sampler::Probabilistic(DEFAULT_SAMPLING_PROBABILITY), operations: None }
    }

    /// Validates one service strategy (or the default); `at` names it in errors.
    fn parse(raw: FileStrategy, at: String) -> Result<Self, SamplingError> {
        let sampler = Sampler::parse(raw.kind, raw.param, &at)?;
        let listed = raw.operation_strategies.unwrap_or_default();
        if listed.is_empty() {
            return Ok(Self { sampler, operations: None });
        }
        if listed.len() > MAX_OPERATION_STRATEGIES {
            return Err(SamplingError::TooManyOperations { at, count: listed.len(), limit: MAX_OPERATION_STRATEGIES });
        }
        let default_probability = match sampler {
            Sampler::Probabilistic(p) => p,
            Sampler::RateLimiting(_) => DEFAULT_SAMPLING_PROBABILITY,
        };
        let mut probabilities = Vec::with_capacity(listed.len());
        for (index, Object(op)) in listed.into_iter().enumerate() {
            let Some(operation) = op.operation else {
                return Err(SamplingError::Missing {
                    at: format!("{at} operation_strategies[{index}]"),
                    key: "operation",
                });
            };
            let op_at = format!("{at} operation {operation:?}");
            match Sampler::parse(op.kind, op.param, &op_at)? {
                Sampler::Probabilistic(p) => probabilities.push((operation, p)),
                // Jaeger: per-operation strategies are probabilistic only; a rate-limiting one is
                // dropped, so the operation falls back to the strategy's default probability.
                Sampler::RateLimiting(_) => tracing::warn!(
                    strategy = %at,
                    operation = %operation,
                    fallback_probability = default_probability,
                    "per-operation sampling supports only probabilistic strategies; ignoring a ratelimiting one"
                ),
            }
        }
        Ok(Self { sampler, operations: Some(PerOperation { default_probability, probabilities }) })
    }

    fn response(&self, operations: Option<&PerOperation>) -> SamplingStrategyResponse {
        let mut response = match self.sampler {
            Sampler::Probabilistic(p) => SamplingStrategyResponse {
                strategy_type: SamplingStrategyType::Probabilistic as i32,
                probabilistic_sampling: Some(ProbabilisticSamplingStrategy { sampling_rate: p }),
                ..Default::default()
            },
            Sampler::RateLimiting(n) => SamplingStrategyResponse {
                strategy_type: SamplingStrategyType::RateLimiting as i32,
                rate_limiting_sampling: Some(RateLimitingSamplingStrategy { max_traces_per_second: n }),
                ..Default::default()
            },
        };
        // The file format has no bounds: Jaeger's file provider leaves both at 0.
        response.operation_sampling =
            operations.or(self.operations.as_ref()).map(|ops| PerOperationSamplingStrategies {
                default_sampling_probability: ops.default_probability,
                default_lower_bound_traces_per_second: 0.0,
                per_operation_strategies: ops
                    .probabilities
                    .iter()
                    .map(|(operation, p)| OperationSamplingStrategy {
                        operation: operation.clone(),
                        probabilistic_sampling: Some(ProbabilisticSamplingStrategy { sampling_rate: *p }),
                    })
                    .collect(),
                default_upper_bound_traces_per_second: 0.0,
            });
        response
    }
}

impl Sampler {
    fn parse(kind: Option<String>, param: Option<f64>, at: &str) -> Result<Self, SamplingError> {
        let kind = kind.ok_or_else(|| SamplingError::Missing { at: at.to_owned(), key: "type" })?;
        let param = param.ok_or_else(|| SamplingError::Missing { at: at.to_owned(), key: "param" })?;
        match kind.as_str() {
            "probabilistic" if (0.0..=1.0).contains(&param) => {
                // `+ 0.0` turns -0.0 into 0.0 so it is written as `0`.
                Ok(Self::Probabilistic(param + 0.0))
            }
            "probabilistic" => Err(SamplingError::ProbabilityOutOfRange { at: at.to_owned(), param }),
            // Jaeger truncates a fractional rate toward zero (Go's `int32(param)`).
            "ratelimiting" if (0.0..=f64::from(i32::MAX)).contains(&param) => Ok(Self::RateLimiting(param as i32)),
            "ratelimiting" => Err(SamplingError::RateOutOfRange { at: at.to_owned(), param }),
            _ => Err(SamplingError::UnknownType { at: at.to_owned(), found: kind }),
        }
    }
}

// The strategies-file shape (Jaeger `strategy.go`). Unknown keys are ignored, as Go does; every
// key may be absent or null, so a missing one gets an error that names its strategy.

#[derive(Deserialize)]
struct FileStrategies {
    #[serde(default)]
    default_strategy: Option<Object<FileStrategy>>,
    #[serde(default)]
    service_strategies: Option<Vec<Object<FileStrategy>>>,
}

#[derive(Deserialize)]
struct FileStrategy {
    /// Ignored on `default_strategy`.
    #[serde(default)]
    service: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    param: Option<f64>,
    #[serde(default)]
    operation_strategies: Option<Vec<Object<FileOperationStrategy>>>,
}

#[derive(Deserialize)]
struct FileOperationStrategy {
    #[serde(default)]
    operation: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    param: Option<f64>,
}

/// A JSON object only: serde's derived struct decoding would also take an array, field by field,
/// which Go (and so Jaeger) refuses.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData)).map(Object)
    }
}
