//! Live statistics computed as spans arrive: latency sketches, RED figures per series, and the service graph.

pub mod prometheus;
pub mod red;
pub mod series;
pub mod service_graph;
pub mod shard;
pub mod sketch;
