//! What Jaeger's two gRPC query services share: query errors as gRPC statuses, protobuf times as
//! Unix nanoseconds, and the search parameters both versions carry in the same form (duration
//! bounds, search depth, a tags or attributes map).

use std::collections::HashMap;
use std::time::Duration;

use tonic::Status;

use crate::model::query::TagFilter;
use crate::model::UnixNanos;
use crate::query::QueryError;

/// A query error as the gRPC status Jaeger answers with.
pub fn status(e: QueryError) -> Status {
    match e {
        QueryError::BadRequest(m) => Status::invalid_argument(m),
        QueryError::NotFound(m) => Status::not_found(m),
        QueryError::Store(e) => Status::internal(e.to_string()),
    }
}

/// A Timestamp as Unix nanoseconds; before 1970 clamps to 0.
pub fn nanos(ts: &prost_types::Timestamp) -> UnixNanos {
    let n = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    UnixNanos(u64::try_from(n.max(0)).unwrap_or(u64::MAX))
}

/// The duration bounds of a search; zero means no bound, as Jaeger reads it.
pub fn duration_bounds(
    min: Option<prost_types::Duration>,
    max: Option<prost_types::Duration>,
) -> Result<(Option<Duration>, Option<Duration>), QueryError> {
    let convert = |d: Option<prost_types::Duration>| {
        d.map(|d| Duration::try_from(d).map_err(|_| QueryError::BadRequest("durations must not be negative".into())))
            .transpose()
            .map(|d| d.filter(|d| !d.is_zero()))
    };
    let (min, max) = (convert(min)?, convert(max)?);
    if let (Some(min), Some(max)) = (min, max) {
        if max < min {
            return Err(QueryError::BadRequest("duration_max is shorter than duration_min".into()));
        }
    }
    Ok((min, max))
}

/// The number of traces to return: `default` for 0.
pub fn search_depth(depth: i32, default: usize) -> Result<usize, QueryError> {
    match depth {
        0 => Ok(default),
        n if n < 0 => Err(QueryError::BadRequest("search_depth must not be negative".into())),
        n => Ok(n as usize),
    }
}

/// A tags (api_v2) or attributes (api_v3) map as tag filters, sorted by key.
pub fn tag_filters(map: HashMap<String, String>) -> Vec<TagFilter> {
    let mut tags: Vec<TagFilter> = map.into_iter().map(|(key, value)| TagFilter { key, value: Some(value) }).collect();
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    tags
}
