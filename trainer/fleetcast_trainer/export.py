"""ONNX export (dynamic batch axis) and the parity file the TypeScript side checks against.

Stand-alone use exports a randomly initialised model of a profile's shape, which is what the
onnxruntime-node parity test needs:
`python3 -m fleetcast_trainer.export --out DIR --profile smoke [--num-servers 11] [--seed 0]`
"""

import argparse
import copy
import inspect
import json
import os
import sys
import warnings

import numpy as np
import torch

from .errors import DatasetError
from .features import KNOWN_FEATURES, step_times, time_features
from .io import write_json_atomic
from .metric_set import CONTRACT_METRICS, contract_doc
from .model_factory import build_model
from .profiles import get_profile

INPUT_NAMES = ["server_idx", "profile_idx", "past_observed", "past_known", "future_known"]
OUTPUT_NAMES = ["quantiles"]
OPSET = 17
PARITY_BATCHES = (1, 4, 33)
PARITY_START_EPOCH = 1793059200  # 2026-10-27T00:00:00Z
# typical magnitudes per metric so parity inputs exercise realistic scales
TYPICAL = {"cpu_pct": 40.0, "mem_pct": 55.0, "latency_ms": 60.0, "error_rate": 0.01}


def parity_inputs(model, batch, seed, observed_features, resolution_seconds, num_servers, num_profiles):
    """Deterministic raw inputs of the exported model's layout (numpy arrays)."""
    rng = np.random.default_rng(seed + batch)
    L, H = model.lookback, model.horizon
    base = np.array([TYPICAL.get(f, 20.0) for f in observed_features])
    level = base[None, None, :] * rng.lognormal(0.0, 0.3, (batch, 1, len(observed_features)))
    past = level * rng.lognormal(0.0, 0.25, (batch, L, len(observed_features)))
    for i, f in enumerate(observed_features):
        if f.endswith("_pct"):
            past[:, :, i] = np.clip(past[:, :, i], 0.0, 100.0)
    starts = PARITY_START_EPOCH + resolution_seconds * rng.integers(0, 7 * 86400 // resolution_seconds, batch)
    known = np.stack([time_features(step_times(s, resolution_seconds, L + H)) for s in starts])
    return {
        "server_idx": rng.integers(0, num_servers, batch).astype(np.int32),
        "profile_idx": rng.integers(0, num_profiles, batch).astype(np.int32),
        "past_observed": past.astype(np.float32),
        "past_known": known[:, :L].astype(np.float32),
        "future_known": known[:, L:].astype(np.float32),
    }


def _tensors(inputs):
    return tuple(torch.from_numpy(inputs[name]) for name in INPUT_NAMES)


def export_onnx(model, path, example_inputs):
    """Exports an eval-mode CPU copy of `model` to `path` (atomically), traced with batch >= 2."""
    cpu_model = copy.deepcopy(model).to("cpu").eval()
    kwargs = {
        "input_names": INPUT_NAMES,
        "output_names": OUTPUT_NAMES,
        "dynamic_axes": {name: {0: "B"} for name in INPUT_NAMES + OUTPUT_NAMES},
        "opset_version": OPSET,
        "do_constant_folding": True,
    }
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter; dynamo export differs on torch 2.x
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the exporter warns about LSTM batch sizes (our initial states are computed from the
            # inputs, so any batch works; parity at batch 1, 4 and 33 checks it) and shape inference
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(cpu_model, _tensors(example_inputs), tmp, **kwargs)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return cpu_model


def _flat(array):
    # float32 -> float64 is exact, and JSON doubles round-trip, so Float32Array gets the same bits
    return array.ravel().tolist()


def write_parity(cpu_model, path, meta, observed_features, resolution_seconds, num_servers, num_profiles, seed=0):
    """Runs the eval-mode CPU model on fixed inputs at several batch sizes and stores inputs + outputs."""
    cases = []
    for batch in PARITY_BATCHES:
        inputs = parity_inputs(cpu_model, batch, seed, observed_features, resolution_seconds, num_servers,
                               num_profiles)
        with torch.no_grad():
            out = cpu_model(*_tensors(inputs)).numpy()
        if not np.isfinite(out).all():
            raise RuntimeError(f"parity: PyTorch output at batch {batch} is not finite")
        cases.append({
            "batch": batch,
            "inputs": {
                name: {"dtype": "int32" if inputs[name].dtype == np.int32 else "float32",
                       "shape": list(inputs[name].shape), "data": _flat(inputs[name])}
                for name in INPUT_NAMES
            },
            "output": {"name": OUTPUT_NAMES[0], "shape": list(out.shape), "data": _flat(out)},
        })
    write_json_atomic(path, {"format_version": 1, **meta, "tolerance": 1e-4, "cases": cases}, indent=None)


def normalization_doc(observed_features, normalization):
    return {
        "format_version": 1,
        "method": "encoder_window_standardize",
        "features": {f: dict(normalization[f]) for f in observed_features},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export a randomly initialised TFT of a profile's shape to ONNX.")
    ap.add_argument("--out", required=True)
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--num-servers", type=int, default=11, help="embedding rows including 0 = unknown")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        doc, profile = get_profile(args.profile)
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    torch.manual_seed(args.seed)
    observed = list(CONTRACT_METRICS)
    doc = contract_doc(doc, observed)
    n_profiles = 6
    model = build_model(doc, profile, observed, args.num_servers, n_profiles)
    os.makedirs(args.out, exist_ok=True)
    example = parity_inputs(model, 2, args.seed, observed, profile.resolution_seconds, args.num_servers, n_profiles)
    cpu_model = export_onnx(model, os.path.join(args.out, "model.onnx"), example)
    write_json_atomic(os.path.join(args.out, "normalization.json"), normalization_doc(observed, doc["normalization"]))
    meta = {"input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES, "lookback_steps": profile.lookback_steps,
            "horizon_steps": profile.horizon_steps, "observed_features": observed,
            "known_features": KNOWN_FEATURES, "targets": doc["targets"], "quantiles": doc["quantiles"]}
    write_parity(cpu_model, os.path.join(args.out, "parity.json"), meta, observed, profile.resolution_seconds,
                 args.num_servers, n_profiles, args.seed)
    print(json.dumps({"event": "exported", "out": args.out}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
