"""What the peers forecast: `peer_request.json` (docs/peers.md), read once into a validated PeerRequest.

The TypeScript side writes the request beside the dataset with the scored model's layout (targets,
quantiles, horizon, first origin, stride) and the data contract's ranges, so the peers forecast exactly
the windows the TFT is scored on. Without a request file the defaults below apply (handy for a dataset
kept by `npm run bench -- train --keep DIR`); every resolved value is printed on stderr.
"""

import json
import math
import os
from dataclasses import dataclass

from ..errors import DatasetError

REQUEST_FILE = "peer_request.json"
TRANSFORMS = ("none", "log1p")
REQUEST_KEYS = {
    "format_version", "targets", "quantiles", "horizon_steps", "from_step", "stride_steps", "fit_end_step",
    "lookback_steps", "transforms", "bounds",
}
PROFILES_JSON = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "profiles.json")
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class PeerRequest:
    """The forecast layout, resolved against the dataset (every step index is a dataset step)."""

    targets: tuple  # target features, in output order
    quantiles: tuple  # strictly increasing, each in (0, 1)
    horizon_steps: int  # H; step k of a window forecasts step origin + k
    from_step: int  # first origin (default: split.train_end_step, the held-out window's start)
    stride_steps: int  # steps between origins (default: H, like src/validate/heldout.ts)
    fit_end_step: int  # peers fit only on steps < this (default: split.train_end_step); <= from_step
    lookback_steps: int  # 0, or the TFT's lookback: --score then skips windows it would skip
    transforms: dict  # target -> "none" | "log1p": the space the peers model a target in
    bounds: dict  # target -> (min or None, max or None): forecasts are clipped into it
    source: str  # the request file, or "defaults"

    def origins(self, n_steps):
        """Every origin o in [from_step, n_steps - H] one stride apart (heldout.ts's loop)."""
        return list(range(self.from_step, n_steps - self.horizon_steps + 1, self.stride_steps))

    def describe(self):
        return (f"targets {','.join(self.targets)}; quantiles {','.join(str(q) for q in self.quantiles)}; "
                f"horizon {self.horizon_steps}; origins from step {self.from_step} every {self.stride_steps}; "
                f"fit on steps < {self.fit_end_step}; transforms "
                f"{','.join(f'{t}={self.transforms[t]}' for t in self.targets)}; bounds "
                f"{','.join(f'{t}=[{_fmt(lo)},{_fmt(hi)}]' for t, (lo, hi) in self.bounds.items()) or 'none'} "
                f"({self.source})")


def _fmt(v):
    return "" if v is None else f"{v:g}"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _profiles_defaults(header, path=PROFILES_JSON):
    """targets and transforms from the dataset's metric set; quantiles and the default profile's
    horizon from trainer/profiles.json."""
    try:
        with open(path, "r", encoding="utf-8") as fh:
            doc = json.load(fh)
        transforms = {f: m["transform"] for f, m in header["metrics"].items()}
        return header["targets"], doc["quantiles"], transforms, doc["profiles"][DEFAULT_PROFILE]["horizon_steps"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(f"{path}: cannot take the peer defaults from it ({err})") from None


def load_request(path, dataset_header, required=False):
    """Reads and validates `path` (or the defaults when it does not exist and `required` is false).

    Raises DatasetError naming the file and the field on anything wrong."""
    if os.path.exists(path):
        try:
            with open(path, "r", encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as err:
            raise DatasetError(f"{path}: not valid JSON ({err})") from None
        return parse_request(doc, dataset_header, path)
    if required:
        raise DatasetError(f"{path}: not found")
    return parse_request({"format_version": 1}, dataset_header, "defaults")


def parse_request(doc, header, where):
    """A PeerRequest from a request document and the dataset header it refers to."""
    if not isinstance(doc, dict):
        raise DatasetError(f"{where}: top level must be an object")
    unknown = sorted(doc.keys() - REQUEST_KEYS)
    if unknown:
        raise DatasetError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if doc.get("format_version") != 1:
        raise DatasetError(f"{where}: format_version must be 1, got {json.dumps(doc.get('format_version'))}")
    d_targets, d_quantiles, d_transforms, d_horizon = _profiles_defaults(header)
    features = header["features"]
    n_steps = header["n_steps"]
    train_end = header["split"]["train_end_step"]

    targets = doc.get("targets", d_targets)
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise DatasetError(f"{where}: targets must be a non-empty list of feature names")
    if len(set(targets)) != len(targets):
        raise DatasetError(f"{where}: targets contains duplicates")
    for t in targets:
        if t not in features:
            raise DatasetError(f"{where}: target {t} is not a feature of dataset.json ({', '.join(features)})")

    quantiles = doc.get("quantiles", d_quantiles)
    if not isinstance(quantiles, list) or not quantiles or not all(_is_number(q) and 0 < q < 1 for q in quantiles):
        raise DatasetError(f"{where}: quantiles must be a non-empty list of numbers in (0, 1)")
    if any(b <= a for a, b in zip(quantiles, quantiles[1:])):
        raise DatasetError(f"{where}: quantiles must be strictly increasing")

    def step(field, default, minimum, maximum):
        value = doc.get(field, default)
        if not _is_int(value) or not minimum <= value <= maximum:
            raise DatasetError(f"{where}: {field} must be an integer in [{minimum}, {maximum}], got "
                               f"{json.dumps(value)[:40]}")
        return value

    horizon = step("horizon_steps", d_horizon, 1, n_steps)
    from_step = step("from_step", train_end, 1, n_steps)
    if from_step + horizon > n_steps:
        raise DatasetError(f"{where}: from_step {from_step} + horizon_steps {horizon} is past n_steps {n_steps}: "
                           "no window to forecast")
    stride = step("stride_steps", horizon, 1, n_steps)
    fit_end = step("fit_end_step", train_end, 1, from_step)
    lookback = step("lookback_steps", 0, 0, n_steps)

    transforms = doc.get("transforms", {})
    if not isinstance(transforms, dict):
        raise DatasetError(f"{where}: transforms must be an object target -> none|log1p")
    for t, v in transforms.items():
        if t not in targets:
            raise DatasetError(f"{where}: transforms.{t}: not a target")
        if v not in TRANSFORMS:
            raise DatasetError(f"{where}: transforms.{t} must be one of {', '.join(TRANSFORMS)}, got {json.dumps(v)}")
    transforms = {t: transforms.get(t, d_transforms.get(t, "none")) for t in targets}
    for t in targets:
        if transforms[t] not in TRANSFORMS:
            raise DatasetError(f"{PROFILES_JSON}: normalization.{t}.transform {transforms[t]!r} is not "
                               f"one of {', '.join(TRANSFORMS)}")

    raw_bounds = doc.get("bounds", {})
    if not isinstance(raw_bounds, dict):
        raise DatasetError(f"{where}: bounds must be an object target -> {{\"min\": n|null, \"max\": n|null}}")
    bounds = {}
    for t, b in raw_bounds.items():
        if t not in targets:
            raise DatasetError(f"{where}: bounds.{t}: not a target")
        if not isinstance(b, dict) or not set(b.keys()) <= {"min", "max"}:
            raise DatasetError(f"{where}: bounds.{t} must be an object with min and/or max")
        lo, hi = b.get("min"), b.get("max")
        for name, v in (("min", lo), ("max", hi)):
            if v is not None and not _is_number(v):
                raise DatasetError(f"{where}: bounds.{t}.{name} must be a finite number or null, got {json.dumps(v)}")
        if lo is not None and hi is not None and lo > hi:
            raise DatasetError(f"{where}: bounds.{t}: min {lo} is above max {hi}")
        bounds[t] = (lo, hi)

    return PeerRequest(
        targets=tuple(targets), quantiles=tuple(float(q) for q in quantiles), horizon_steps=horizon,
        from_step=from_step, stride_steps=stride, fit_end_step=fit_end, lookback_steps=lookback,
        transforms=transforms, bounds=bounds, source=where,
    )
