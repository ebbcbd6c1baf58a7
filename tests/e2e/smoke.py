"""What the end-to-end tests send to a generated project's API, and the checks every project passes."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from tests.support.process import free_port, http, post_json, run, serving
from tests.support.projects import Project
from tests.support.tools import find_tool

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.9, "sepal_width": 3.1, "petal_length": 5.4, "petal_width": 2.1}


def make_targets(project: Project) -> set[str]:
    """The targets `make help` lists (colour codes stripped)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", project.ok("make", "help"))
    return {line.split()[0] for line in plain.splitlines() if line.strip()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serve_smoke(project: Project) -> str:
    """Start `make serve` on a free loopback port; exercise good and bad requests; return /metrics."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**project.env, "HOST": "127.0.0.1", "PORT": str(port), "MAX_BODY_BYTES": "65536"}
    with serving(["make", "serve"], f"{base}/ready", cwd=project.path, base_env=env):
        assert http("GET", f"{base}/health").json() == {"status": "ok"}
        version = json.loads((project.path / "models" / "metadata.json").read_text())["model_version"]
        assert http("GET", f"{base}/ready").json()["model_version"] == version

        single = post_json(f"{base}/predict", {"instances": [SETOSA]})
        assert (single.status, single.json()) == (
            200,
            {"predictions": ["setosa"], "model_version": version},
        )
        batch = post_json(f"{base}/predict", {"instances": [SETOSA, VIRGINICA] * 50})
        assert batch.status == 200 and batch.json()["predictions"] == ["setosa", "virginica"] * 50

        missing = post_json(f"{base}/predict", {"instances": [{"sepal_length": 5.1}]})
        assert missing.status == 422 and "sepal_width" in missing.body.decode()
        wrong_type = post_json(f"{base}/predict", {"instances": [{**SETOSA, "petal_width": "wide"}]})
        assert wrong_type.status == 422 and "petal_width" in wrong_type.body.decode()
        not_json = http("POST", f"{base}/predict", b"{oops")
        assert not_json.status == 422
        boolean = post_json(f"{base}/predict", {"instances": [{**SETOSA, "petal_width": False}]})
        assert boolean.status == 422 and "petal_width" in boolean.body.decode()
        nan = http("POST", f"{base}/predict", b'{"instances": [{"sepal_length": NaN}]}')
        assert nan.status == 422
        too_big = post_json(f"{base}/predict", {"instances": [SETOSA] * 1000})
        assert too_big.status == 413
        assert http("GET", f"{base}/nope").status == 404
        assert http("GET", f"{base}/openapi.json").json()["paths"]["/predict"]["post"]

        metrics = http("GET", f"{base}/metrics").body.decode()
    assert 'http_requests_total{method="POST",route="/predict",status="200"} 2.0' in metrics
    assert 'http_requests_total{method="POST",route="/predict",status="422"} 5.0' in metrics
    assert 'http_requests_total{method="POST",route="/predict",status="413"} 1.0' in metrics
    assert 'model_predictions_total{label="setosa"} 51.0' in metrics
    assert f'model_info{{version="{version}"}} 1.0' in metrics
    assert 'model_requests_shed_total{reason="queue_full"} 0.0' in metrics
    promtool = find_tool("promtool")
    if promtool is not None:  # lint the real scrape (names, help, types)
        scrape = project.path.parent / f"{project.package}-metrics.txt"
        scrape.write_text(metrics)
        lint = run(["sh", "-c", f"{promtool} check metrics < {scrape}"], project.path)
        assert lint.returncode == 0, lint.stdout
    return metrics
