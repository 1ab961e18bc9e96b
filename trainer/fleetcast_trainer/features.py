"""Known-future time features, identical to src/features/time-features.ts (docs/MODEL_FORMAT.md)."""

import numpy as np

KNOWN_FEATURES = ["tod_sin", "tod_cos", "dow_sin", "dow_cos"]
DAY = 86400


def time_features(epoch_seconds):
    """Returns float32 [n, 4] features for an array of UTC epoch seconds (step starts)."""
    t = np.asarray(epoch_seconds, dtype=np.int64)
    tod = (t % DAY).astype(np.float64) / DAY
    # 1970-01-01 was a Thursday; +3 makes Monday day 0.
    dow = ((np.floor_divide(t, DAY) + 3) % 7).astype(np.float64) / 7.0
    out = np.stack(
        [np.sin(2 * np.pi * tod), np.cos(2 * np.pi * tod), np.sin(2 * np.pi * dow), np.cos(2 * np.pi * dow)],
        axis=-1,
    )
    return out.astype(np.float32)


def step_times(start_epoch, resolution_seconds, n_steps):
    """Epoch seconds of each step start."""
    return start_epoch + resolution_seconds * np.arange(n_steps, dtype=np.int64)
