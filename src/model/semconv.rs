//! Attribute keys and fixed strings from the OpenTelemetry semantic conventions and the
//! Zipkin/Jaeger translation rules.

/// Resource attribute naming the service.
pub const SERVICE_NAME: &str = "service.name";
/// Service name used when a resource has none (the SDKs' default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Jaeger tag carrying the span kind.
pub const SPAN_KIND: &str = "span.kind";
/// Status code tag (`OK`/`ERROR`) in Jaeger and Zipkin.
pub const OTEL_STATUS_CODE: &str = "otel.status_code";
/// Status message tag in Jaeger and Zipkin.
pub const OTEL_STATUS_DESCRIPTION: &str = "otel.status_description";
/// Error marker tag in Jaeger (bool) and Zipkin (string).
pub const ERROR: &str = "error";
/// Instrumentation scope name tag.
pub const OTEL_SCOPE_NAME: &str = "otel.scope.name";
/// Instrumentation scope version tag.
pub const OTEL_SCOPE_VERSION: &str = "otel.scope.version";
/// Deprecated alias of the scope name tag, still required by the specification.
pub const OTEL_LIBRARY_NAME: &str = "otel.library.name";
/// Deprecated alias of the scope version tag, still required by the specification.
pub const OTEL_LIBRARY_VERSION: &str = "otel.library.version";
/// Dropped attribute count tag.
pub const OTEL_DROPPED_ATTRIBUTES_COUNT: &str = "otel.dropped_attributes_count";
/// Dropped event count tag.
pub const OTEL_DROPPED_EVENTS_COUNT: &str = "otel.dropped_events_count";
/// Dropped link count tag.
pub const OTEL_DROPPED_LINKS_COUNT: &str = "otel.dropped_links_count";
/// W3C trace state tag.
pub const W3C_TRACESTATE: &str = "w3c.tracestate";
/// Jaeger log field carrying the event name.
pub const EVENT: &str = "event";
/// Link attribute telling Jaeger which reference type a link was.
pub const OPENTRACING_REF_TYPE: &str = "opentracing.ref_type";

/// Remote service name.
pub const PEER_SERVICE: &str = "peer.service";
/// Remote host name or address (current conventions).
pub const SERVER_ADDRESS: &str = "server.address";
/// Remote port (current conventions).
pub const SERVER_PORT: &str = "server.port";
/// Remote host name (old conventions).
pub const NET_PEER_NAME: &str = "net.peer.name";
/// Remote IP (old conventions, Zipkin's translator).
pub const NET_PEER_IP: &str = "net.peer.ip";
/// Remote port (old conventions).
pub const NET_PEER_PORT: &str = "net.peer.port";
/// Remote address (current conventions).
pub const NETWORK_PEER_ADDRESS: &str = "network.peer.address";
/// Remote port (current conventions).
pub const NETWORK_PEER_PORT: &str = "network.peer.port";
/// Remote socket domain (older conventions).
pub const SERVER_SOCKET_DOMAIN: &str = "server.socket.domain";
/// Remote socket address (older conventions).
pub const SERVER_SOCKET_ADDRESS: &str = "server.socket.address";
/// Remote socket port (older conventions).
pub const SERVER_SOCKET_PORT: &str = "server.socket.port";
/// Remote socket peer name (older conventions).
pub const NET_SOCK_PEER_NAME: &str = "net.sock.peer.name";
/// Remote socket peer address (older conventions).
pub const NET_SOCK_PEER_ADDR: &str = "net.sock.peer.addr";
/// Remote socket peer port (older conventions).
pub const NET_SOCK_PEER_PORT: &str = "net.sock.peer.port";
/// Remote host name (OpenTracing).
pub const PEER_HOSTNAME: &str = "peer.hostname";
/// Remote address (OpenTracing).
pub const PEER_ADDRESS: &str = "peer.address";
/// Database name, the last fallback for a remote service.
pub const DB_NAME: &str = "db.name";
/// Database name (current conventions).
pub const DB_NAMESPACE: &str = "db.namespace";
/// Database system (old conventions).
pub const DB_SYSTEM: &str = "db.system";
/// Database system (current conventions).
pub const DB_SYSTEM_NAME: &str = "db.system.name";
/// Local IP in Zipkin's translator.
pub const NET_HOST_IP: &str = "net.host.ip";
/// Local port in Zipkin's translator.
pub const NET_HOST_PORT: &str = "net.host.port";
/// Local address (current conventions), Zipkin's local endpoint IP.
pub const NETWORK_LOCAL_ADDRESS: &str = "network.local.address";
/// Local port (current conventions), Zipkin's local endpoint port.
pub const NETWORK_LOCAL_PORT: &str = "network.local.port";
/// Prefix of the Zipkin tags that carry links (`otlp.link.0`, `otlp.link.1` …), as contrib writes them.
pub const OTLP_LINK_PREFIX: &str = "otlp.link.";
/// Marks a span Zipkin sent without a start time (the Collector's name), so it reads back without one.
pub const ZIPKIN_ABSENT_START_TIME: &str = "otel.zipkin.absentField.startTime";
/// Marks a span Zipkin sent without a duration, so it reads back without one.
pub const ZIPKIN_ABSENT_DURATION: &str = "otel.zipkin.absentField.duration";
/// Resource attribute: a unique host id (cloud instance id, machine id).
pub const HOST_ID: &str = "host.id";
/// Resource attribute: the host's IP addresses.
pub const HOST_IP: &str = "host.ip";
/// Resource attribute: the host's name.
pub const HOST_NAME: &str = "host.name";
/// Jaeger process tag: the client's IPv4 address (a string, or packed in an int).
pub const JAEGER_IP: &str = "ip";
/// Jaeger process tag: the client's host name.
pub const JAEGER_HOSTNAME: &str = "hostname";
