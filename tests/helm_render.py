"""Renders and lints the Helm chart with the Helm SDK (helm-python-sdk), for tests/manifests.rs.

Usage: python helm_render.py CHART_DIR [VALUES_JSON]
Prints one JSON object: {"manifests": "<multi-document YAML>", "crds": "<YAML>", "lint": {...}}.
"""
import json
import sys

import helm_python as helm


def main() -> int:
    chart_dir = sys.argv[1]
    values = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
    chart = helm.Chart.load(chart_dir)
    rendered = chart.render(values, name="schemagate", namespace="schemagate-system", is_install=True)
    manifests = "\n".join(
        "---\n# Source: %s\n%s" % (path, text) for path, text in sorted(rendered.items()) if text.strip()
    )
    crds = "\n".join("---\n%s" % c.get("data", "") for c in chart.crds)
    report = helm.lint(chart_dir, values, strict=True)
    json.dump({"manifests": manifests, "crds": crds, "lint": report}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
