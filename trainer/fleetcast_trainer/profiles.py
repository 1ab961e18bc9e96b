"""Loads trainer/profiles.json (shared with the TypeScript side) and validates it."""

import json
import os

from .errors import DatasetError
from .loss import LOSS_WEIGHTINGS
from .model import SEASONAL_BASELINES

PROFILES_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "profiles.json")
INT_KEYS = {
    "resolution_seconds", "lookback_steps", "horizon_steps", "validation_steps", "hidden_size",
    "attention_heads", "batch_size", "max_epochs", "windows_per_epoch", "validation_windows",
    "early_stopping_patience", "max_train_seconds",
}
FLOAT_KEYS = {"dropout", "learning_rate", "min_delta", "unknown_dropout", "unknown_profile_dropout",
              "convergence_min_improvement", "convergence_plateau_tolerance",
              "gradient_clip_norm"}
# Optional model switches (docs/trainer.md), with their defaults.
OPTIONAL_KEYS = {"seasonal_residual": True, "seasonal_baseline": "naive", "decoder_seasonal_lags": False,
                 "seasonal_lag_days": 1, "encoder_steps": 0, "lr_decay_patience": 0, "loss_weighting": "none",
                 "ema_decay": 0.0}
CHOICES = {"seasonal_baseline": SEASONAL_BASELINES, "loss_weighting": LOSS_WEIGHTINGS}


def load_profiles(path=PROFILES_PATH):
    with open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def get_profile(name, path=PROFILES_PATH):
    """Returns (shared settings, profile settings); DatasetError (exit 2) on an unknown or bad profile."""
    doc = load_profiles(path)
    profiles = doc["profiles"]
    if name not in profiles:
        raise DatasetError(f"{path}: unknown profile {name!r}; choose one of {', '.join(sorted(profiles))}")
    profile = dict(profiles[name])
    keys = set(profile) - OPTIONAL_KEYS.keys()
    if keys != INT_KEYS | FLOAT_KEYS:
        missing = sorted((INT_KEYS | FLOAT_KEYS) - keys)
        extra = sorted(keys - (INT_KEYS | FLOAT_KEYS))
        raise DatasetError(f"{path}: profile {name}: missing {missing} / unknown {extra}")
    for key, default in OPTIONAL_KEYS.items():
        value = profile.setdefault(key, default)
        if isinstance(default, str):
            if value not in CHOICES[key]:
                raise DatasetError(f"{path}: profile {name}: {key} must be one of {', '.join(CHOICES[key])}")
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise DatasetError(f"{path}: profile {name}: {key} must be true or false")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise DatasetError(f"{path}: profile {name}: {key} must be a number in [0, 1)")
        elif not isinstance(default, bool) and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise DatasetError(f"{path}: profile {name}: {key} must be a non-negative integer")
    for key in INT_KEYS:
        if not isinstance(profile[key], int) or profile[key] <= 0:
            raise DatasetError(f"{path}: profile {name}: {key} must be a positive integer")
    for key in FLOAT_KEYS:
        if not isinstance(profile[key], (int, float)) or profile[key] < 0:
            raise DatasetError(f"{path}: profile {name}: {key} must be a non-negative number")
    if profile["resolution_seconds"] * profile["lookback_steps"] < 86400:
        raise DatasetError(f"{path}: profile {name}: lookback must cover one day for the seasonal naive baseline")
    if profile["horizon_steps"] * profile["resolution_seconds"] > 86400:
        raise DatasetError(f"{path}: profile {name}: horizon must not exceed one day")
    return doc, profile
