"""Writes the peers' forecasts (docs/peers.md): one float32 array per peer, then `forecasts.json`.

Each array is written to a temp file and renamed, and the manifest goes last, so a reader that finds
forecasts.json finds complete arrays that match it (the manifest records each file's sha256).
"""

import hashlib
import os

import numpy as np

from ..io import write_json_atomic

MANIFEST = "forecasts.json"
LAYOUT = "[server, origin, horizon_step, target, quantile] float32 little-endian, C order; NaN = no forecast"


def write_array(out_dir, name, array):
    """Writes `array` as <name>.f32; returns (file name, sha256)."""
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    file = f"{name}.f32"
    path = os.path.join(out_dir, file)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return file, hashlib.sha256(data).hexdigest()


def write_manifest(out_dir, doc):
    write_json_atomic(os.path.join(out_dir, MANIFEST), doc)
