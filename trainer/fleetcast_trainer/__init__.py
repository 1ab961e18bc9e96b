"""Fleetcast trainer: a Temporal Fusion Transformer for server metrics, exported to ONNX."""

import os

# Idle OpenMP threads sleep instead of spinning. The model's operations are small, so torch's threads
# wait at a barrier after each one; spinning there took a whole core from the other thread on a
# 2-core runner and doubled the epoch time (19 s against 9.5 s with one thread: docs/trainer.md,
# "Time"). Set before torch (or sklearn) loads its OpenMP runtime, which reads it once; an explicit
# setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "1.0.0"
