"""Small synthetic datasets in the training format (docs/MODEL_FORMAT.md) and profiles for the tests."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile

from fleetcast_trainer.profiles import get_profile
from fleetcast_trainer.synthetic import generate, write_dataset

TRAINER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_dataset(directory, servers=6, days=4, resolution=900, seed=0, holdout_every=3, nan_fraction=0.0):
    header, values = generate(servers, days, resolution, seed, holdout_every, nan_fraction)
    write_dataset(directory, header, values)
    return header, values


def rewrite_header(directory, mutate):
    path = os.path.join(directory, "dataset.json")
    with open(path, encoding="utf-8") as fh:
        header = json.load(fh)
    mutate(header)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(header, fh)


def run_module(args, timeout=300, extra_env=None):
    env = {**os.environ, "PYTHONPATH": TRAINER_DIR, **(extra_env or {})}
    return subprocess.run([sys.executable, *args], cwd=TRAINER_DIR, env=env, capture_output=True, text=True,
                          timeout=timeout)


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="fleetcast-trainer-test-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def smoke_profile_with(**changes):
    """The shipped smoke profile with `changes` (validated like a profiles.json entry)."""
    return dataclasses.replace(get_profile("smoke")[1], **changes)
