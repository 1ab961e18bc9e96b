"""Trains the TFT on a dataset directory and writes model.onnx, normalization.json, parity.json and
train_report.json into --out.

python3 -m fleetcast_trainer.train --dataset DIR --out DIR --profile smoke|default [--epochs N]
    [--seed S] [--device auto|cpu|cuda] [--threads N]

stdout: one JSON object per line (events start, epoch, done; error on failure).
stderr: human-readable progress. Exit codes: 0 ok, 2 bad dataset/arguments (before training), 1 other.
"""

import argparse
import json
import sys

from .convergence import decide_convergence
from .ddp import barrier, shutdown
from .errors import DatasetError
from .fit import fit
from .outputs import TrainResult, write_outputs
from .prepare import prepare
from .profiles import PROFILES_PATH


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="fleetcast_trainer.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="directory with dataset.json and dataset.f32")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--profile", default="default", help="profile in trainer/profiles.json")
    ap.add_argument("--epochs", type=int, default=None, help="override the profile's max_epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    ap.add_argument("--profiles", default=PROFILES_PATH, help="profiles file (default: trainer/profiles.json)")
    ap.add_argument("--heldout-forecasts", action="store_true",
                    help="also write the held-out window's forecasts in the peers' layout (fleetcast_trainer.compare)")
    return ap.parse_args(argv)


def run(args):
    setup = prepare(args)
    result = fit(setup)
    convergence = decide_convergence(result.epochs, result.initial_val_loss, result.stopped_by, setup.profile)
    if setup.ctx.is_main:
        write_outputs(TrainResult(setup, result, convergence))
    barrier(setup.ctx)
    shutdown(setup.ctx)


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except DatasetError as err:
        sys.stderr.write(f"error: {err}\n")
        sys.stdout.write(json.dumps({"event": "error", "exit_code": 2, "message": str(err)}) + "\n")
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
