"""Runs in the generated project's own .venv (its package, scikit-learn, joblib, PyYAML importable).

    python _refit.py forest-params --out params-forest.yaml --model-dir models-forest [--n-estimators 100]
    python _refit.py refit --out DIR --model lr=params.yaml --model rf=params-forest.yaml
    python _refit.py train --params params-forest-heavy.yaml

`forest-params` writes a copy of params.yaml that trains a random forest (100 trees unless told) into
another folder.
`refit` fits each params file's estimator again with the project's own code (sklearn_model's
`build_estimator`, the params' seed, `data.load_xy` on the training split), as `train` fits its final
model, and saves it with joblib for the peers' scikit-learn runtimes; it prints, as JSON, the share of
test rows where the refit estimator and the project's served ONNX model give the same label.
`train` runs the project's own `train.train` (cross-validation, fit, ONNX export, metadata, model card,
the served folder) without its MLflow record, as a project rendered with `use_mlflow: false` trains:
MLflow's skops copy of a 60,000-tree forest takes far longer than the training itself (it grows faster
than the number of trees: 6 s for 2,500 trees, 20 s for 5,000, about 1 min for 10,000).
"""
# mypy: ignore-errors
# (imports the generated project's package and its dependencies, which the repository's env lacks)

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import joblib
import numpy as np
import sklearn
import yaml

PACKAGE = "bench"


def forest_params(out: str, model_dir: str, n_estimators: int) -> None:
    raw = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    raw["train"].update(estimator="random_forest", n_estimators=n_estimators, model_dir=model_dir)
    Path(out).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def refit(out: Path, models: list[str]) -> None:
    config = importlib.import_module(f"{PACKAGE}.config")
    data = importlib.import_module(f"{PACKAGE}.data")
    sk = importlib.import_module(f"{PACKAGE}.sklearn_model")
    files = importlib.import_module(f"{PACKAGE}.model_files")
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"sklearn": sklearn.__version__}
    for spec in models:
        name, params_file = spec.split("=", 1)
        params = config.load_params(params_file)
        x, y = data.load_xy(params.data.train_path)
        estimator = sk.build_estimator(params.train, params.seed).fit(x, y)
        joblib.dump(estimator, out / f"{name}.joblib")
        x_test, _ = data.load_xy(params.data.test_path)
        served = files.read_model(params.train.model_dir, files.read_metadata(params.train.model_dir))
        agree = np.mean(np.asarray(served.predict(x_test)) == estimator.predict(x_test).astype(str))
        report[name] = {
            "estimator": params.train.estimator,
            "model_dir": params.train.model_dir,
            "test_rows": len(x_test),
            "label_agreement_with_onnx": float(agree),
        }
    json.dump(report, sys.stdout)


def train(params_file: str) -> None:
    config = importlib.import_module(f"{PACKAGE}.config")
    tracking = importlib.import_module(f"{PACKAGE}.tracking")
    trainer = importlib.import_module(f"{PACKAGE}.train")
    # train.train imports log_training from .tracking when it runs: the metadata goes through unchanged.
    tracking.log_training = lambda settings, metadata, fitted, sample: metadata
    result = trainer.train(config.load_params(params_file))
    json.dump(
        {"model_version": result.metadata.model_version, "cv_metrics": result.metadata.cv_metrics},
        sys.stdout,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    forest = sub.add_parser("forest-params")
    forest.add_argument("--out", required=True)
    forest.add_argument("--model-dir", required=True)
    forest.add_argument("--n-estimators", type=int, default=100)
    fit = sub.add_parser("refit")
    fit.add_argument("--out", required=True, type=Path)
    fit.add_argument("--model", action="append", required=True)
    trainer = sub.add_parser("train")
    trainer.add_argument("--params", required=True)
    args = parser.parse_args()
    if args.command == "forest-params":
        forest_params(args.out, args.model_dir, args.n_estimators)
    elif args.command == "train":
        train(args.params)
    else:
        refit(args.out, args.model)


if __name__ == "__main__":
    main()
