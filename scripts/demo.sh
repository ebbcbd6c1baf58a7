#!/usr/bin/env bash
# Render the default project into a new folder, set it up, run the pipeline, serve a prediction and
# run the drift check. Usage: scripts/demo.sh [DEST]   (default: ./demo-project)
set -euo pipefail
# shellcheck source=scripts/bootstrap-uv.sh
source "$(dirname "$0")/bootstrap-uv.sh"
dest=$(realpath -m "${1:-$root/demo-project}")
if [ -e "$dest" ]; then
  echo "error: $dest already exists; remove it or pass another folder" >&2
  exit 1
fi
step() { printf '\n\033[1;36m==> %s\033[0m\n' "$*"; }

step "Rendering the default project into $dest"
"$UV" sync --project "$root" --locked --quiet
"$UV" run --project "$root" --locked copier copy --defaults --vcs-ref HEAD "$root" "$dest"
cd "$dest"
git init --quiet && git add --all
git -c user.name=demo -c user.email=demo@example.com commit --quiet --message "Generate from copier-mlops"

step "make setup (uv sync)"
version=$(sed -n "s/^python_version: '\?\([0-9.]*\)'\?$/\1/p" .copier-answers.yml)
python=$(find_python "$version")
if [ -n "$python" ]; then export UV_PYTHON=$python; fi
make setup
step "make pipeline (DVC: ingest -> train -> evaluate, model registered in MLflow)"
make pipeline

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "make serve on 127.0.0.1:$port and one prediction"
HOST=127.0.0.1 PORT=$port setsid make serve >"$dest/.serve.log" 2>&1 &
server=$!
trap 'kill -- -$server 2>/dev/null || true' EXIT
python3 - "$port" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"{base}/ready", timeout=2) as reply:
            if reply.status == 200:
                break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the API did not become ready within 60 s; see .serve.log")
        time.sleep(0.5)
body = {"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}
request = urllib.request.Request(f"{base}/predict", json.dumps(body).encode(), {"content-type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as reply:
    print("POST /predict ->", reply.read().decode())
PY
kill -- -"$server" 2>/dev/null || true
trap - EXIT

step "make drift (held-out data: no drift expected)"
make drift
step "drift on a shifted copy of the data (drift expected, exit code 1)"
python3 - <<'PY'
import csv
rows = list(csv.DictReader(open("data/processed/test.csv")))
with open("data/shifted.csv", "w", newline="") as fh:
    writer = csv.DictWriter(fh, fieldnames=rows[0].keys())
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (v if k == "species" else f"{float(v) * 1.5 + 1:.2f}") for k, v in row.items()})
PY
set +e
"$UV" run --frozen my_ml_project drift --current data/shifted.csv --report-dir reports/drift-shifted
status=$?
set -e
[ "$status" -eq 1 ] || { echo "error: expected drift (exit 1), got exit $status" >&2; exit 1; }

step "make model-fetch (what delivery ships: the registered model MLflow's champion alias points at)"
make model-fetch
python3 -c 'import json; m = json.load(open("build/model/metadata.json")); print("build/model: registered version", m["registered_version"], "of", m["registered_model"], "- model", m["model_version"])'

step "Done. Where to look in $dest:"
cat <<TXT
  models/model_card.md               the model card of this training run
  reports/metrics.json               test-set metrics
  reports/drift/report.html          drift report on held-out data (no drift)
  reports/drift-shifted/report.html  drift report on shifted data (drift found)
  dvc.lock                           exact data and model hashes of the pipeline run
  build/model/                       the registered champion, as CD builds it into the image
  deploy/compose/                    the deployment (make deploy, status, logs); render with
                                     -d deployment_target=kubernetes for deploy/kubernetes/
  make mlflow-ui                     runs and the registered model at http://127.0.0.1:5000
  make serve                         the API, with docs at http://127.0.0.1:8000/docs
TXT
