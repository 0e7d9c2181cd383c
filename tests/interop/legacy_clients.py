#!/usr/bin/env python3
"""Send one trace to a running tracehound with one independently written Zipkin or Jaeger client.

The trace, the same whichever client sends it (three services, three spans):

    web       GET /checkout  SERVER  http.method="GET" http.status_code=200 cache.hit=true
    │                                sample.ratio=0.25 (typed where the client's model is)
    └ checkout  charge card  CLIENT  an annotation / log "retrying" (attempt=2) mid-span
      └ payments  authorize  SERVER  an error: "card declined"

Clients (exactly one per run):

    otel-zipkin-json        OpenTelemetry SDK 1.21 ZipkinExporter, JSON v2  -> POST /api/v2/spans
    otel-zipkin-json-v1     the same exporter, JSON v1                      -> POST /api/v1/spans
    otel-zipkin-proto       ZipkinExporter proto3 (proto-http package)      -> POST /api/v2/spans
    otel-jaeger-thrift-http JaegerExporter thrift, collector_endpoint       -> POST /api/traces
    otel-jaeger-thrift-udp  JaegerExporter thrift to the agent, compact     -> UDP
    otel-jaeger-grpc        JaegerExporter protobuf (proto-grpc package)    -> PostSpans, insecure
    jaeger-client           Uber's jaeger-client 4.8: remote sampler on the sampling port,
                            reporter to the agent's compact UDP port
    py-zipkin-v1-json       py-zipkin 1.2.8, Encoding.V1_JSON               -> POST /api/v1/spans
    py-zipkin-v2-json       py-zipkin, Encoding.V2_JSON (128-bit trace id)  -> POST /api/v2/spans
    py-zipkin-v2-proto      py-zipkin, Encoding.V2_PROTO3                   -> POST /api/v2/spans

(py-zipkin 1.x dropped Encoding.V1_THRIFT: it raises NotImplementedError, so it is not offered.)

Each service gets its own tracer: a TracerProvider per service.name for the OpenTelemetry SDK
(they share the one context), a Tracer per service for jaeger-client, and a zipkin_span with its
own service_name for py-zipkin.

On success prints {"client", "trace_id", "spans": {"<name>": "<16 hex>"}} as JSON on stdout (ids
lowercase hex as the client sent them: 16 digits for a 64-bit trace id, 32 for 128-bit; for
jaeger-client also "samplers": {"<service>": "<sampler the remote strategy installed>"}) and
exits 0. If an export was refused or failed, or the client logged an error, says so on stderr and
exits 1. A UDP send cannot be acknowledged: the caller checks that the spans arrived. Run it with
the legacy venv's Python: `scripts/test --setup-only` creates .venv-legacy.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from typing import Callable, NoReturn

PROG = "legacy_clients"
SCOPE_NAME = "interop.legacy"
SCOPE_VERSION = "1.0.0"

WEB, CHECKOUT, PAYMENTS = "web", "checkout", "payments"
ROOT, CHARGE, AUTHORIZE = "GET /checkout", "charge card", "authorize"
SPAN_COUNT = 3
ROOT_TAGS = {"http.method": "GET", "http.status_code": 200, "cache.hit": True, "sample.ratio": 0.25}
EVENT, ATTEMPT = "retrying", 2
DECLINED = "card declined"
# Time around the event, so its timestamp lies strictly inside its span after µs truncation.
PAUSE = 0.005
MAX_TAG_LENGTH = 256

OTEL_CLIENTS = (
    "otel-zipkin-json",
    "otel-zipkin-json-v1",
    "otel-zipkin-proto",
    "otel-jaeger-thrift-http",
    "otel-jaeger-thrift-udp",
    "otel-jaeger-grpc",
)
PY_ZIPKIN_CLIENTS = ("py-zipkin-v1-json", "py-zipkin-v2-json", "py-zipkin-v2-proto")
CLIENTS = OTEL_CLIENTS + ("jaeger-client",) + PY_ZIPKIN_CLIENTS


class ExportFailed(Exception):
    """An export the client reported as failed; the message says why."""


def fail(message: str) -> NoReturn:
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(1)


def host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Send one three-service trace with one Zipkin or Jaeger client and print "
        "the ids it sent as JSON.",
    )
    parser.add_argument("client", choices=CLIENTS, help="which client sends the trace")
    addr = {"type": host_port, "metavar": "HOST:PORT"}
    parser.add_argument("--zipkin", **addr, help="Zipkin HTTP collector (/api/v1 and /api/v2/spans)")
    parser.add_argument("--jaeger-grpc", **addr, help="Jaeger collector gRPC")
    parser.add_argument("--jaeger-http", **addr, help="Jaeger collector HTTP (/api/traces)")
    parser.add_argument("--jaeger-compact", **addr, help="Jaeger agent UDP, compact thrift")
    parser.add_argument("--sampling", **addr, help="Jaeger remote sampling HTTP (/sampling)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds one export, or the wait for a sampling strategy, may take (default: 10)",
    )
    return parser.parse_args(argv)


def needed(args: argparse.Namespace, option: str) -> tuple[str, int]:
    value = getattr(args, option.replace("-", "_"))
    if value is None:
        fail(f"client {args.client} needs --{option}")
    return value


class ErrorLogs(logging.Handler):
    """Keeps every error the client libraries log.

    Several clients report a refused export only as a log line (the OpenTelemetry Jaeger thrift
    exporter's collector, jaeger-client's reporter), so a logged error counts as a failure.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s %(name)s: %(message)s")
    errors = ErrorLogs()
    logging.getLogger().addHandler(errors)

    try:
        if args.client in OTEL_CLIENTS:
            sent = send_with_otel(args)
        elif args.client == "jaeger-client":
            sent = send_with_jaeger_client(args)
        else:
            sent = send_with_py_zipkin(args)
    except ImportError as error:
        fail(f"the client is not installed ({error}): run `scripts/test --setup-only` and use "
             ".venv-legacy/bin/python")
    except ExportFailed as error:
        fail(f"{args.client}: {error}")
    if errors.messages:
        fail(f"{args.client} logged errors: {'; '.join(errors.messages)}")

    json.dump({"client": args.client, **sent}, sys.stdout)
    sys.stdout.write("\n")
    return 0


# --- OpenTelemetry SDK 1.21 exporters ---------------------------------------------------------


def otel_exporter_factory(args: argparse.Namespace) -> Callable[[], object]:
    """A constructor of the chosen exporter; each service's provider gets its own instance."""
    timeout = max(1, round(args.timeout))
    client = args.client
    if client in ("otel-zipkin-json", "otel-zipkin-json-v1"):
        from opentelemetry.exporter.zipkin.encoder import Protocol
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        host, port = needed(args, "zipkin")
        version, path = (Protocol.V2, "v2") if client == "otel-zipkin-json" else (Protocol.V1, "v1")
        endpoint = f"http://{host}:{port}/api/{path}/spans"
        # An explicit tag length: 1.21's v1 encoder compares the default (None) with 0 and raises.
        return lambda: ZipkinExporter(
            version=version, endpoint=endpoint, timeout=timeout, max_tag_value_length=MAX_TAG_LENGTH
        )
    if client == "otel-zipkin-proto":
        from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter

        host, port = needed(args, "zipkin")
        endpoint = f"http://{host}:{port}/api/v2/spans"
        return lambda: ZipkinExporter(endpoint=endpoint, timeout=timeout)
    if client == "otel-jaeger-thrift-http":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter

        host, port = needed(args, "jaeger-http")
        endpoint = f"http://{host}:{port}/api/traces"
        return lambda: JaegerExporter(collector_endpoint=endpoint, timeout=timeout)
    if client == "otel-jaeger-thrift-udp":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter

        host, port = needed(args, "jaeger-compact")
        return lambda: JaegerExporter(agent_host_name=host, agent_port=port)
    if client == "otel-jaeger-grpc":
        from opentelemetry.exporter.jaeger.proto.grpc import JaegerExporter

        host, port = needed(args, "jaeger-grpc")
        return lambda: JaegerExporter(collector_endpoint=f"{host}:{port}", insecure=True, timeout=timeout)
    raise AssertionError(client)


def send_with_otel(args: argparse.Namespace) -> dict:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON
    from opentelemetry.trace import SpanKind, Status, StatusCode, format_span_id, format_trace_id

    class RecordingExporter(SpanExporter):
        """Delegates to the real exporter and keeps what each export returned or raised.

        The span processor only logs a failed export; this makes it the script's answer.
        """

        def __init__(self, inner: SpanExporter) -> None:
            self._inner = inner
            self._lock = threading.Lock()
            self.accepted = 0
            self.failures: list[str] = []

        def export(self, spans):
            try:
                result = self._inner.export(spans)
            except Exception as error:  # noqa: BLE001 (any exporter error is a failed export)
                result = SpanExportResult.FAILURE
                with self._lock:
                    self.failures.append(repr(error))
            with self._lock:
                if result == SpanExportResult.SUCCESS:
                    self.accepted += len(spans)
                else:
                    self.failures.append(f"{len(spans)} spans refused")
            return result

        def shutdown(self) -> None:
            self._inner.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return self._inner.force_flush(timeout_millis)

    make_exporter = otel_exporter_factory(args)
    exporters: list[RecordingExporter] = []
    providers: dict[str, TracerProvider] = {}
    tracers = {}
    for service in (WEB, CHECKOUT, PAYMENTS):
        # ALWAYS_ON explicitly, so an OTEL_TRACES_SAMPLER in the environment cannot drop the trace.
        provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=ALWAYS_ON)
        exporter = RecordingExporter(make_exporter())
        # Synchronous export: each span is sent (and its result known) when it ends.
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers[service] = provider
        exporters.append(exporter)
        tracers[service] = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)

    # The providers share the one OpenTelemetry context, so each span's parent is the span
    # current in the service that called it.
    with tracers[WEB].start_as_current_span(ROOT, kind=SpanKind.SERVER, attributes=ROOT_TAGS) as root:
        with tracers[CHECKOUT].start_as_current_span(CHARGE, kind=SpanKind.CLIENT) as charge:
            time.sleep(PAUSE)
            charge.add_event(EVENT, attributes={"attempt": ATTEMPT})
            time.sleep(PAUSE)
            with tracers[PAYMENTS].start_as_current_span(
                AUTHORIZE, kind=SpanKind.SERVER, record_exception=False, set_status_on_exception=False
            ) as authorize:
                authorize.set_status(Status(StatusCode.ERROR, DECLINED))

    for provider in providers.values():
        provider.force_flush(int(args.timeout * 1000))
        provider.shutdown()
    failures = [f for exporter in exporters for f in exporter.failures]
    if failures:
        raise ExportFailed("; ".join(failures))
    accepted = sum(exporter.accepted for exporter in exporters)
    if accepted != SPAN_COUNT:
        raise ExportFailed(f"{accepted} of {SPAN_COUNT} spans exported")

    return {
        "trace_id": format_trace_id(root.get_span_context().trace_id),
        "spans": {span.name: format_span_id(span.get_span_context().span_id) for span in (root, charge, authorize)},
    }


# --- Uber's jaeger-client ---------------------------------------------------------------------


def send_with_jaeger_client(args: argparse.Namespace) -> dict:
    from jaeger_client import Config
    from jaeger_client.metrics import MetricsFactory
    from opentracing.ext import tags as ext_tags

    agent_host, compact_port = needed(args, "jaeger-compact")
    sampling_host, sampling_port = needed(args, "sampling")
    if sampling_host != agent_host:
        # jaeger-client asks the reporting host for sampling strategies too.
        fail(f"jaeger-client needs --sampling on the agent's host {agent_host}, not {sampling_host}")

    class CountingMetrics(MetricsFactory):
        """Counts jaeger-client's own counters, e.g. jaeger:reporter_spans{result=ok}."""

        def __init__(self) -> None:
            self._lock = threading.Lock()
            self.counts: dict[str, int] = {}

        def create_counter(self, name, tags=None):
            key = name + "".join(f",{k}={v}" for k, v in sorted((tags or {}).items()))

            def increment(value: int) -> None:
                with self._lock:
                    self.counts[key] = self.counts.get(key, 0) + value

            return increment

        def count(self, key: str) -> int:
            with self._lock:
                return self.counts.get(key, 0)

    metrics = CountingMetrics()
    tracers = {}
    for service in (WEB, CHECKOUT, PAYMENTS):
        config = Config(
            config={
                # No `sampler` entry: the tracer then uses a RemoteControlledSampler that polls
                # http://HOST:sampling_port/sampling?service=NAME (jaeger-client 4.8 has no
                # `type: remote`; it refuses unknown sampler types).
                "local_agent": {
                    "reporting_host": agent_host,
                    "reporting_port": compact_port,
                    "sampling_port": sampling_port,
                },
                # The first poll waits a random part of this interval.
                "sampling_refresh_interval": 0.2,
                "reporter_flush_interval": 0.1,
                "generate_128bit_trace_id": False,
                # Log errors (a refused poll or send) so that the script sees them.
                "logging": True,
            },
            service_name=service,
            metrics_factory=metrics,
            validate=True,
        )
        tracers[service] = config.new_tracer()

    # Until the first poll answers, the sampler is the built-in probabilistic 0.001: wait for
    # each service's remote strategy so that the trace is sampled by what the server said.
    initial = {service: tracer.sampler.sampler for service, tracer in tracers.items()}
    deadline = time.monotonic() + args.timeout
    while any(tracer.sampler.sampler is initial[s] for s, tracer in tracers.items()):
        if metrics.count("jaeger:sampler_queries,result=err") or metrics.count("jaeger:sampler_updates,result=err"):
            raise ExportFailed(f"a sampling strategy poll failed: {metrics.counts}")
        if time.monotonic() > deadline:
            raise ExportFailed(f"no sampling strategy from {sampling_host}:{sampling_port} within "
                               f"{args.timeout} s: {metrics.counts}")
        time.sleep(0.02)
    samplers = {service: str(tracer.sampler.sampler) for service, tracer in tracers.items()}

    root = tracers[WEB].start_span(ROOT, tags={ext_tags.SPAN_KIND: ext_tags.SPAN_KIND_RPC_SERVER, **ROOT_TAGS})
    if not root.is_sampled():
        raise ExportFailed(f"the remote strategy did not sample the root span: {samplers}")
    charge = tracers[CHECKOUT].start_span(CHARGE, child_of=root, tags={ext_tags.SPAN_KIND: ext_tags.SPAN_KIND_RPC_CLIENT})
    time.sleep(PAUSE)
    charge.log_kv({"event": EVENT, "attempt": ATTEMPT})
    time.sleep(PAUSE)
    authorize = tracers[PAYMENTS].start_span(
        AUTHORIZE, child_of=charge, tags={ext_tags.SPAN_KIND: ext_tags.SPAN_KIND_RPC_SERVER}
    )
    authorize.set_tag(ext_tags.ERROR, True)
    authorize.finish()
    charge.finish()
    root.finish()

    # close() flushes each reporter's queue on the client's I/O thread. Its future cannot be
    # waited on from here (with `logging` on it completes through this thread's asyncio loop,
    # which never runs), so wait on the reporters' own counters instead.
    for tracer in tracers.values():
        tracer.close()
    reported = ("ok", "err", "dropped")
    deadline = time.monotonic() + args.timeout
    while sum(metrics.count(f"jaeger:reporter_spans,result={r}") for r in reported) < SPAN_COUNT:
        if time.monotonic() > deadline:
            raise ExportFailed(f"the reporters did not flush within {args.timeout} s: {metrics.counts}")
        time.sleep(0.01)
    sent = metrics.count("jaeger:reporter_spans,result=ok")
    if sent != SPAN_COUNT:
        raise ExportFailed(f"the reporters sent {sent} of {SPAN_COUNT} spans: {metrics.counts}")

    width = 32 if root.trace_id >> 64 else 16
    return {
        "trace_id": f"{root.trace_id:0{width}x}",
        "spans": {span.operation_name: f"{span.span_id:016x}" for span in (root, charge, authorize)},
        "samplers": samplers,
    }


# --- py-zipkin --------------------------------------------------------------------------------


def send_with_py_zipkin(args: argparse.Namespace) -> dict:
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

    from py_zipkin import Encoding, Kind
    from py_zipkin.transport import BaseTransportHandler
    from py_zipkin.zipkin import zipkin_span

    host, port = needed(args, "zipkin")
    encoding, path, content_type = {
        "py-zipkin-v1-json": (Encoding.V1_JSON, "/api/v1/spans", "application/json"),
        "py-zipkin-v2-json": (Encoding.V2_JSON, "/api/v2/spans", "application/json"),
        "py-zipkin-v2-proto": (Encoding.V2_PROTO3, "/api/v2/spans", "application/x-protobuf"),
    }[args.client]
    # 128-bit trace ids on one encoding, 64-bit (py-zipkin's default) on the others.
    use_128bit = encoding == Encoding.V2_JSON

    class HttpTransport(BaseTransportHandler):
        """POSTs each encoded batch to the collector and keeps every failure."""

        def __init__(self) -> None:
            self.url = f"http://{host}:{port}{path}"
            self.batches = 0
            self.failures: list[str] = []

        def get_max_payload_bytes(self):
            return None

        def send(self, payload) -> None:
            body = payload.encode() if isinstance(payload, str) else payload
            request = Request(self.url, data=body, method="POST", headers={"Content-Type": content_type})
            try:
                with urlopen(request, timeout=args.timeout) as response:
                    if response.status not in (200, 202):
                        self.failures.append(f"POST {self.url}: HTTP {response.status}")
                    self.batches += 1
            except HTTPError as error:
                detail = error.read().decode(errors="replace")
                self.failures.append(f"POST {self.url}: HTTP {error.code} {detail}")
            except URLError as error:
                self.failures.append(f"POST {self.url}: {error.reason}")

    class CardDeclined(Exception):
        pass

    transport = HttpTransport()
    # The root span samples (100 %) and owns the transport; the nested spans name their own
    # service, which py-zipkin sends as each span's local endpoint. Tags are strings: py-zipkin's
    # API types them so, and its proto3 encoder refuses anything else.
    with zipkin_span(
        service_name=WEB,
        span_name=ROOT,
        kind=Kind.SERVER,
        transport_handler=transport,
        sample_rate=100.0,
        encoding=encoding,
        use_128bit_trace_id=use_128bit,
        binary_annotations={key: json_text(value) for key, value in ROOT_TAGS.items()},
    ) as root:
        with zipkin_span(service_name=CHECKOUT, span_name=CHARGE, kind=Kind.CLIENT) as charge:
            charge.add_sa_binary_annotation(port=443, service_name=PAYMENTS, host="127.0.0.1")
            time.sleep(PAUSE)
            charge.add_annotation(EVENT)
            time.sleep(PAUSE)
            try:
                with zipkin_span(service_name=PAYMENTS, span_name=AUTHORIZE, kind=Kind.SERVER) as authorize:
                    # py-zipkin tags a span that an exception leaves with `error`.
                    raise CardDeclined(DECLINED)
            except CardDeclined:
                pass

    if transport.failures:
        raise ExportFailed("; ".join(transport.failures))
    if transport.batches == 0:
        raise ExportFailed("py-zipkin sent nothing")

    return {
        "trace_id": root.zipkin_attrs.trace_id.lower(),
        "spans": {
            span.span_name: span.zipkin_attrs.span_id.lower() for span in (root, charge, authorize)
        },
    }


def json_text(value: object) -> str:
    """A tag value as text the way the typed clients write it: true, 200, 0.25."""
    return json.dumps(value) if not isinstance(value, str) else value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
