#!/usr/bin/env python3
"""Export one small trace to a running tracehound with the official OpenTelemetry Python SDK.

The trace (scope `interop.test` 1.0.0, resource service.name=NAME, deployment.environment=test):

    GET /checkout   SERVER    http.request.method, http.response.status_code, retry, ratio, tags
    └ SELECT orders CLIENT    peer.service, db.system, status ERROR "deadlock", event "retrying"
      └ compute     INTERNAL  a link to "SELECT orders"

On success prints {"trace_id": "<32 hex>", "spans": {"<name>": "<16 hex>", ...}} on stdout and
exits 0. If the collector refused the export, or it did not finish in time, says so on stderr
and exits 1. Run it with the interop venv's Python: `scripts/test --setup-only` creates it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import NoReturn

PROG = "otel_sdk_export"
SCOPE_NAME = "interop.test"
SCOPE_VERSION = "1.0.0"
SPAN_COUNT = 3


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export one three-span trace to an OTLP endpoint with the OpenTelemetry "
        "Python SDK and print the exported ids as JSON.",
    )
    parser.add_argument(
        "--protocol",
        choices=("grpc", "http"),
        required=True,
        help="OTLP transport: grpc (insecure) or http (protobuf body)",
    )
    parser.add_argument(
        "--endpoint",
        required=True,
        help="collector URL: http://127.0.0.1:4317 for grpc, "
        "http://127.0.0.1:4318/v1/traces for http",
    )
    parser.add_argument("--service", required=True, help="service.name of the exported resource")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds the exporter may spend on one export, retries included (default: 10)",
    )
    return parser.parse_args(argv)


def fail(message: str) -> NoReturn:
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(1)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # The SDK reports why an export failed through logging; show it on stderr.
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: sdk: %(levelname)s %(name)s: %(message)s")

    # Imported after parsing so that --help works without the venv.
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON
        from opentelemetry.trace import Link, SpanKind, Status, StatusCode, format_span_id, format_trace_id

        if args.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as error:
        fail(f"the OpenTelemetry SDK is not installed ({error}): run `scripts/test --setup-only` "
             "and use .venv-test/bin/python")

    class RecordingExporter(SpanExporter):
        """Delegates to the real exporter and keeps each batch's result.

        The batch processor only logs a failed export, so without this a refused export would
        look like a success to the caller.
        """

        def __init__(self, inner: SpanExporter) -> None:
            self._inner = inner
            self._lock = threading.Lock()
            self.accepted = 0
            self.refused = 0
            self.errors: list[str] = []

        def export(self, spans):
            try:
                result = self._inner.export(spans)
            except Exception as error:  # noqa: BLE001 (any exporter error is a failed export)
                self.errors.append(repr(error))
                result = SpanExportResult.FAILURE
            with self._lock:
                if result == SpanExportResult.SUCCESS:
                    self.accepted += len(spans)
                else:
                    self.refused += len(spans)
            return result

        def shutdown(self) -> None:
            self._inner.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return self._inner.force_flush(timeout_millis)

    if args.protocol == "grpc":
        inner = OTLPSpanExporter(endpoint=args.endpoint, insecure=True, timeout=args.timeout)
    else:
        inner = OTLPSpanExporter(endpoint=args.endpoint, timeout=args.timeout)
    exporter = RecordingExporter(inner)

    resource = Resource.create({"service.name": args.service, "deployment.environment": "test"})
    # ALWAYS_ON explicitly, so an OTEL_TRACES_SAMPLER in the environment cannot drop the trace.
    provider = TracerProvider(resource=resource, sampler=ALWAYS_ON)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)

    with tracer.start_as_current_span(
        "GET /checkout",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "retry": True,
            "ratio": 0.5,
            "tags": ["a", "b"],
        },
    ) as root:
        with tracer.start_as_current_span(
            "SELECT orders",
            kind=SpanKind.CLIENT,
            attributes={"peer.service": "postgres", "db.system": "postgresql"},
        ) as client:
            client.add_event("retrying", attributes={"attempt": 2})
            with tracer.start_as_current_span(
                "compute",
                kind=SpanKind.INTERNAL,
                links=[Link(client.get_span_context())],
            ) as compute:
                pass
            client.set_status(Status(StatusCode.ERROR, "deadlock"))

    timeout_millis = int((args.timeout + 5) * 1000)
    flushed = provider.force_flush(timeout_millis)
    provider.shutdown()

    target = f"{args.endpoint} over {args.protocol}"
    if exporter.errors:
        fail(f"export to {target} raised: {'; '.join(exporter.errors)}")
    if exporter.refused:
        fail(f"export to {target} failed: {exporter.refused} of {SPAN_COUNT} spans refused "
             "(the sdk's reason is logged above)")
    if not flushed or exporter.accepted != SPAN_COUNT:
        fail(f"export to {target} did not finish: {exporter.accepted} of {SPAN_COUNT} spans "
             f"acknowledged within {timeout_millis} ms")

    json.dump(
        {
            "trace_id": format_trace_id(root.get_span_context().trace_id),
            "spans": {
                span.name: format_span_id(span.get_span_context().span_id)
                for span in (root, client, compute)
            },
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
