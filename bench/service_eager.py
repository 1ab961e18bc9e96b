"""PyTorch eager timing of the same batch the service forecasts (bench/service.ts part a).

Reads a JSON spec on stdin: {"kind": "tft" | "tiny", "feeds_dir", "batch", "lookback", "horizon",
"n_observed", "n_known", "iterations", "num_servers", "num_profiles", "profile": {...} (tft only),
"trainer_dir" / "fixture_dir"}. The feeds are the exact tensors the TypeScript side passes to
session.run, as raw little-endian files. Weights are freshly initialised with the model's shapes:
the registry holds no PyTorch weights (ONNX only), and the cost of a forward pass depends on the
shapes, not on the weight values. Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch


def load(feeds_dir, name, dtype, shape):
    return torch.from_numpy(np.fromfile(os.path.join(feeds_dir, name), dtype=dtype).reshape(shape))


def main():
    spec = json.load(sys.stdin)
    b, L, H = spec["batch"], spec["lookback"], spec["horizon"]
    feeds = spec["feeds_dir"]
    inputs = (
        load(feeds, "server_idx.bin", np.int32, (b,)),
        load(feeds, "profile_idx.bin", np.int32, (b,)),
        load(feeds, "past_observed.bin", np.float32, (b, L, spec["n_observed"])),
        load(feeds, "past_known.bin", np.float32, (b, L, spec["n_known"])),
        load(feeds, "future_known.bin", np.float32, (b, H, spec["n_known"])),
    )
    torch.manual_seed(0)
    if spec["kind"] == "tft":
        sys.path.insert(0, spec["trainer_dir"])
        from fleetcast_trainer.model_factory import build_model
        from fleetcast_trainer.profiles import load_profiles

        doc = load_profiles(os.path.join(spec["trainer_dir"], "profiles.json"))
        model = build_model(doc, spec["profile"], spec["observed_features"], spec["num_servers"], spec["num_profiles"])
    else:
        sys.path.insert(0, spec["fixture_dir"])
        from tiny_model import TinyForecaster

        model = TinyForecaster(spec["num_servers"], spec["num_profiles"], False)
    model.eval()
    # Same thread budget as onnxruntime's default (one per core); Debian's torch starts with 1.
    torch.set_num_threads(spec.get("threads") or os.cpu_count() or 1)
    times = []
    with torch.inference_mode():
        for i in range(spec["iterations"] + 3):
            t0 = time.perf_counter()
            out = model(*inputs)
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= 3:
                times.append(elapsed)
    print(json.dumps({
        "median_ms": statistics.median(times),
        "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "output_shape": list(out.shape),
    }))


if __name__ == "__main__":
    main()
