"""Checks model.onnx in Python onnxruntime against the PyTorch outputs stored in parity.json.

python3 -m fleetcast_trainer.check_onnx --dir TRAINER_OUT [--providers CPUExecutionProvider,...]
Prints one JSON line per batch size and exits 1 when any exceeds the file's tolerance. The service runs
onnxruntime-node (`npm run bench -- parity` checks that); this is the same check where only Python is
installed, e.g. on the GPU runner right after a torch 2.x export.
"""

import argparse
import json
import os
import sys

import numpy as np


def check(directory, providers):
    import onnxruntime as ort  # imported here: Debian's torch has no onnxruntime beside it

    with open(os.path.join(directory, "parity.json"), encoding="utf-8") as f:
        parity = json.load(f)
    session = ort.InferenceSession(os.path.join(directory, "model.onnx"), providers=providers)
    results = []
    for case in parity["cases"]:
        feeds = {
            name: np.asarray(t["data"], dtype=np.int32 if t["dtype"] == "int32" else np.float32).reshape(t["shape"])
            for name, t in ((n, case["inputs"][n]) for n in parity["input_names"])
        }
        got = session.run(parity["output_names"][:1], feeds)[0].astype(np.float64)
        want = np.asarray(case["output"]["data"], dtype=np.float64).reshape(case["output"]["shape"])
        shape_ok = list(got.shape) == list(want.shape)
        error = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))) if shape_ok else float("inf")
        results.append({"batch": case["batch"], "max_error": error, "finite": bool(np.isfinite(got).all()),
                        "shape_matches": shape_ok, "providers": session.get_providers(),
                        "passed": shape_ok and error <= parity["tolerance"] and bool(np.isfinite(got).all())})
    return parity["tolerance"], results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fleetcast_trainer.check_onnx", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="trainer output with model.onnx and parity.json")
    ap.add_argument("--providers", default="CPUExecutionProvider", help="comma-separated onnxruntime providers")
    args = ap.parse_args(argv)
    try:
        tolerance, results = check(args.dir, args.providers.split(","))
    except ImportError:
        print("check_onnx: the Python onnxruntime package is not installed", file=sys.stderr)
        return 2
    for r in results:
        print(json.dumps({"tolerance": tolerance, **r}), flush=True)
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
