"""Loads trainer/profiles.json (shared with the TypeScript side) into validated, frozen Profiles."""

import dataclasses
import json
import math
import os
from collections.abc import Mapping

from .errors import DatasetError
from .data import WINDOW_SAMPLINGS
from .loss import LOSS_WEIGHTINGS
from .model import GATE_MISMATCHES, NORMALIZATION_SCALES, SEASONAL_BASELINES

PROFILES_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "profiles.json")
SECONDS_PER_DAY = 86400

# Value rules, named in the error messages.
POSITIVE_INT = "positive_int"
NON_NEGATIVE_INT = "non_negative_int"
NON_NEGATIVE_NUMBER = "non_negative_number"
FRACTION = "fraction"  # [0, 1)
FLAG = "flag"
CHOICE = "choice"


def _key(rule, choices=(), **default):
    return dataclasses.field(metadata={"rule": rule, "choices": tuple(choices)}, **default)


@dataclasses.dataclass(frozen=True)
class Profile:
    """One entry of profiles.json "profiles" (docs/trainer.md, "Profiles"). Keys with a default are
    optional, so older profile files keep their meaning; every other key is required."""

    # data layout
    resolution_seconds: int = _key(POSITIVE_INT)  # seconds per step; must equal the dataset's
    lookback_steps: int = _key(POSITIVE_INT)  # encoder window; must cover one day (seasonal naive)
    horizon_steps: int = _key(POSITIVE_INT)  # forecast steps; at most one day
    validation_steps: int = _key(POSITIVE_INT)  # the steps before train_end_step that validation forecasts
    # network size
    hidden_size: int = _key(POSITIVE_INT)
    attention_heads: int = _key(POSITIVE_INT)
    dropout: float = _key(NON_NEGATIVE_NUMBER)
    # optimisation and sampling
    learning_rate: float = _key(NON_NEGATIVE_NUMBER)
    batch_size: int = _key(POSITIVE_INT)
    max_epochs: int = _key(POSITIVE_INT)  # --epochs overrides it
    windows_per_epoch: int = _key(POSITIVE_INT)  # training windows drawn per epoch (all ranks together)
    validation_windows: int = _key(POSITIVE_INT)  # cap on the fixed validation sample
    early_stopping_patience: int = _key(POSITIVE_INT)  # epochs without a min_delta improvement
    min_delta: float = _key(NON_NEGATIVE_NUMBER)
    unknown_dropout: float = _key(NON_NEGATIVE_NUMBER)  # share of samples trained as server index 0
    unknown_profile_dropout: float = _key(NON_NEGATIVE_NUMBER)  # share trained as profile index 0
    gradient_clip_norm: float = _key(NON_NEGATIVE_NUMBER)
    max_train_seconds: int = _key(POSITIVE_INT)  # wall-clock budget of the epoch loop
    # convergence verdict (train_report.json "convergence")
    convergence_min_improvement: float = _key(NON_NEGATIVE_NUMBER)
    convergence_plateau_tolerance: float = _key(NON_NEGATIVE_NUMBER)
    # optional model switches
    seasonal_residual: bool = _key(FLAG, default=True)  # the head corrects a seasonal baseline
    seasonal_baseline: str = _key(CHOICE, SEASONAL_BASELINES, default="naive")
    gate_mismatch: str = _key(CHOICE, GATE_MISMATCHES, default="height")  # gated: raw, or over the steps
    decoder_seasonal_lags: bool = _key(FLAG, default=False)  # yesterday's values as decoder inputs
    seasonal_lag_days: int = _key(NON_NEGATIVE_INT, default=1)
    decoder_window_stats: bool = _key(FLAG, default=False)  # window mean and scale as decoder inputs
    encoder_steps: int = _key(NON_NEGATIVE_INT, default=0)  # newest steps the LSTM/attention see; 0 = all
    normalization_steps: int = _key(NON_NEGATIVE_INT, default=0)  # newest steps giving mean and scale; 0 = all
    normalization_center_steps: int = _key(NON_NEGATIVE_INT, default=0)  # newest steps giving the mean; 0 = as above
    normalization_scale: str = _key(CHOICE, NORMALIZATION_SCALES, default="std")  # std, or of one-step changes
    # optional training switches
    lr_decay_patience: int = _key(NON_NEGATIVE_INT, default=0)  # halve the rate after this many bad epochs; 0 = off
    loss_weighting: str = _key(CHOICE, LOSS_WEIGHTINGS, default="none")
    loss_weight_cap: float = _key(NON_NEGATIVE_NUMBER, default=5.0)  # raw_scale: cap, in batch means
    # raw_scale: training windows drawn in proportion to their raw spread (capped at loss_weight_cap)
    window_sampling: str = _key(CHOICE, WINDOW_SAMPLINGS, default="uniform")
    ema_decay: float = _key(FRACTION, default=0.0)  # weight averaging; 0 = off

    def __post_init__(self):
        for f in dataclasses.fields(self):
            problem = _problem(f, getattr(self, f.name))
            if problem:
                raise DatasetError(f"{f.name} must be {problem}")
        if self.resolution_seconds * self.lookback_steps < SECONDS_PER_DAY:
            raise DatasetError("lookback must cover one day for the seasonal naive baseline")
        if self.horizon_steps * self.resolution_seconds > SECONDS_PER_DAY:
            raise DatasetError("horizon must not exceed one day")

    @classmethod
    def from_dict(cls, values, where="profile"):
        """A Profile from one profiles.json entry; DatasetError naming `where` and the key when it is bad."""
        if not isinstance(values, Mapping):
            raise DatasetError(f"{where} must be an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [key for key in values if key not in known]
        if unknown:
            raise DatasetError(f"{where}: unknown key {_names(unknown)}")
        missing = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING and f.name not in values]
        if missing:
            raise DatasetError(f"{where}: missing key {_names(missing)}")
        try:
            return cls(**values)
        except DatasetError as err:
            raise DatasetError(f"{where}: {err}") from None

    def as_dict(self):
        """Every key, defaults filled in (train_report.json "hyperparameters")."""
        return dataclasses.asdict(self)


# The optional keys and their defaults (docs/trainer.md).
OPTIONAL_KEYS = {f.name: f.default for f in dataclasses.fields(Profile) if f.default is not dataclasses.MISSING}


def _names(keys):
    return ", ".join(repr(k) for k in keys)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and not math.isnan(value)


def _problem(f, value):
    """What `value` must be when it breaks the rule of field `f`, else None."""
    rule = f.metadata["rule"]
    if rule == POSITIVE_INT and not (_is_int(value) and value > 0):
        return "a positive integer"
    if rule == NON_NEGATIVE_INT and not (_is_int(value) and value >= 0):
        return "a non-negative integer"
    if rule == NON_NEGATIVE_NUMBER and not (_is_number(value) and value >= 0):
        return "a non-negative number"
    if rule == FRACTION and not (_is_number(value) and 0.0 <= value < 1.0):
        return "a number in [0, 1)"
    if rule == FLAG and not isinstance(value, bool):
        return "true or false"
    if rule == CHOICE and value not in f.metadata["choices"]:
        return f"one of {', '.join(f.metadata['choices'])}"
    return None


def load_profiles(path=PROFILES_PATH):
    with open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def get_profile(name, path=PROFILES_PATH):
    """Returns (the whole profiles document, the named Profile); DatasetError (exit 2) on an unknown or bad one."""
    doc = load_profiles(path)
    profiles = doc["profiles"]
    if name not in profiles:
        raise DatasetError(f"{path}: unknown profile {name!r}; choose one of {', '.join(sorted(profiles))}")
    return doc, Profile.from_dict(profiles[name], f"{path}: profile {name}")
