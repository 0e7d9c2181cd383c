"""Parses a Prometheus text exposition from stdin with prometheus_client's own parser and prints
every family as JSON: name, type and its samples (name, labels, value). Used by
tests/it/span_metrics.rs to check that /metrics is valid for an independent parser."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    families = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        families.append(
            {
                "name": family.name,
                "type": family.type,
                "samples": [
                    {"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples
                ],
            }
        )
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
