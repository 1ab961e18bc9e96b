"""Reads and validates a training dataset (docs/MODEL_FORMAT.md) and samples windows from it."""

import json
import os
import re
from datetime import datetime, timezone

import numpy as np

from .errors import DatasetError
from .features import time_features, step_times
from .metric_set import validate_metric_set

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
HEADER_KEYS = {
    "format_version", "created_at", "source", "start", "resolution_seconds", "n_steps",
    "fill_limit_steps", "features", "targets", "metrics", "profiles", "servers", "split",
}
SERVER_KEYS = {"name", "index", "profile", "profile_index", "holdout"}


class Dataset:
    """A validated dataset: header fields plus the float32 array [n_servers, n_steps, n_features]."""

    def __init__(self, header, values, path):
        self.header = header
        self.values = values
        self.path = path
        self.features = list(header["features"])
        self.servers = header["servers"]
        self.n_steps = header["n_steps"]
        self.resolution = header["resolution_seconds"]
        self.start_epoch = parse_iso(header["start"], "start")
        self.train_end = header["split"]["train_end_step"]
        self.known = time_features(step_times(self.start_epoch, self.resolution, self.n_steps))
        # Holdout servers are only ever seen through the unknown index 0.
        self.server_idx = np.array([0 if s["holdout"] else s["index"] for s in self.servers], dtype=np.int64)
        self.profile_idx = np.array([s["profile_index"] for s in self.servers], dtype=np.int64)
        self.num_embeddings = max([s["index"] for s in self.servers] + [0]) + 1


def _int(value, field, minimum=None):
    if not isinstance(value, int) or isinstance(value, bool):
        raise DatasetError(f"dataset.json: {field} must be an integer, got {json.dumps(value)[:40]}")
    if minimum is not None and value < minimum:
        raise DatasetError(f"dataset.json: {field} must be >= {minimum}, got {value}")
    return value


def parse_iso(text, field):
    if not isinstance(text, str) or not ISO_UTC.match(text):
        raise DatasetError(f"dataset.json: {field} must be an ISO-8601 UTC time like 2026-10-27T00:00:00.000Z")
    stamp = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(stamp.timestamp())


def validate_header(header, resolution_seconds=None):
    """Raises DatasetError naming the first bad field or server; returns the header."""
    if not isinstance(header, dict):
        raise DatasetError("dataset.json: top level must be an object")
    missing = sorted(HEADER_KEYS - header.keys())
    if missing:
        raise DatasetError(f"dataset.json: missing field(s) {', '.join(missing)}")
    unknown = sorted(header.keys() - HEADER_KEYS)
    if unknown:
        raise DatasetError(f"dataset.json: unknown field(s) {', '.join(unknown)}")
    if header["format_version"] != 1:
        raise DatasetError(f"dataset.json: format_version must be 1, got {json.dumps(header['format_version'])}")
    for field in ("created_at", "source"):
        if not isinstance(header[field], str):
            raise DatasetError(f"dataset.json: {field} must be a string")
    parse_iso(header["created_at"], "created_at")
    res = _int(header["resolution_seconds"], "resolution_seconds", 1)
    start = parse_iso(header["start"], "start")
    if start % res != 0:
        raise DatasetError(f"dataset.json: start {header['start']} is not aligned to resolution_seconds {res}")
    if resolution_seconds is not None and res != resolution_seconds:
        raise DatasetError(
            f"dataset.json: resolution_seconds is {res} but the training profile needs {resolution_seconds}"
        )
    n_steps = _int(header["n_steps"], "n_steps", 1)
    _int(header["fill_limit_steps"], "fill_limit_steps", 0)

    features = header["features"]
    if not isinstance(features, list) or not features or not all(isinstance(f, str) and f for f in features):
        raise DatasetError("dataset.json: features must be a non-empty list of names")
    if len(set(features)) != len(features):
        raise DatasetError("dataset.json: features contains duplicates")
    validate_metric_set(header)

    profiles = header["profiles"]
    if not isinstance(profiles, list) or not all(isinstance(p, str) and p for p in profiles):
        raise DatasetError("dataset.json: profiles must be a list of names")
    if len(set(profiles)) != len(profiles):
        raise DatasetError("dataset.json: profiles contains duplicates")

    servers = header["servers"]
    if not isinstance(servers, list) or not servers:
        raise DatasetError("dataset.json: servers must be a non-empty list")
    names, indices = set(), set()
    for i, server in enumerate(servers):
        where = f"dataset.json: servers[{i}]"
        if not isinstance(server, dict):
            raise DatasetError(f"{where} must be an object")
        name = server.get("name")
        if not isinstance(name, str) or not SERVER_NAME.match(name) or len(name) > 128 or ".." in name \
                or name.lower().endswith(".lock"):
            raise DatasetError(f"{where}: invalid server name {json.dumps(str(name))[:60]}")
        where = f"dataset.json: server {name}"
        if set(server.keys()) != SERVER_KEYS:
            raise DatasetError(f"{where}: fields must be exactly {', '.join(sorted(SERVER_KEYS))}")
        if name in names:
            raise DatasetError(f"{where}: listed twice")
        names.add(name)
        index = _int(server["index"], f"server {name}: index", 1)
        if index in indices:
            raise DatasetError(f"{where}: index {index} is used by another server")
        indices.add(index)
        if server["profile"] not in profiles:
            raise DatasetError(f"{where}: profile {json.dumps(server['profile'])} is not in profiles")
        expected = profiles.index(server["profile"]) + 1
        if server["profile_index"] != expected:
            raise DatasetError(
                f"{where}: profile_index is {json.dumps(server['profile_index'])}, expected {expected}"
            )
        if not isinstance(server["holdout"], bool):
            raise DatasetError(f"{where}: holdout must be true or false")
    if all(s["holdout"] for s in servers):
        raise DatasetError("dataset.json: every server is holdout; nothing to train on")

    split = header["split"]
    if not isinstance(split, dict) or set(split.keys()) != {"train_end_step", "valid_end_step"}:
        raise DatasetError("dataset.json: split must have exactly train_end_step and valid_end_step")
    train_end = _int(split["train_end_step"], "split.train_end_step", 1)
    valid_end = _int(split["valid_end_step"], "split.valid_end_step", 1)
    if not train_end <= valid_end <= n_steps:
        raise DatasetError(
            f"dataset.json: split needs train_end_step ({train_end}) <= valid_end_step ({valid_end}) "
            f"<= n_steps ({n_steps})"
        )
    return header


def check_targets_vary(values, header):
    """Refuses a target that is missing or constant over the training part of every training server
    (a latency column of zeros): the model would learn nothing from it and score it as null."""
    train = np.array([not s["holdout"] for s in header["servers"]])
    end = header["split"]["train_end_step"]
    for target in header["targets"]:
        column = values[train, :end, header["features"].index(target)]
        seen = column[~np.isnan(column)]
        if seen.size == 0:
            raise DatasetError(f"dataset: target {target} has no values on any training server; "
                               "remove it from the targets (config/metric_set.json)")
        if seen.min() == seen.max():
            raise DatasetError(f"dataset: target {target} is {seen.min():g} everywhere in the training window; "
                               "a constant target cannot be forecast or scored: remove it from the targets "
                               "(config/metric_set.json)")


def check_values(values, header, log1p_features):
    """Rejects +-inf anywhere and negative values in log1p-transformed features, naming the server."""
    names = [s["name"] for s in header["servers"]]
    bad = np.isinf(values)
    if bad.any():
        s, t, f = np.argwhere(bad)[0]
        raise DatasetError(
            f"dataset.f32: server {names[s]}: {header['features'][f]} is infinite at step {t}"
        )
    for f, feature in enumerate(header["features"]):
        if feature in log1p_features:
            column = values[:, :, f]
            neg = column < 0  # NaN compares False
            if neg.any():
                s, t = np.argwhere(neg)[0]
                raise DatasetError(
                    f"dataset.f32: server {names[s]}: {feature} is negative ({column[s, t]}) at step {t}"
                )


def load_dataset(directory, resolution_seconds=None):
    """Reads dataset.json + dataset.f32 from `directory`; raises DatasetError on any problem."""
    header_path = os.path.join(directory, "dataset.json")
    data_path = os.path.join(directory, "dataset.f32")
    try:
        with open(header_path, "r", encoding="utf-8") as fh:
            header = json.load(fh)
    except FileNotFoundError:
        raise DatasetError(f"{header_path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{header_path}: not valid JSON ({err})") from None
    validate_header(header, resolution_seconds)
    shape = (len(header["servers"]), header["n_steps"], len(header["features"]))
    expected_bytes = int(np.prod(shape)) * 4
    try:
        actual_bytes = os.path.getsize(data_path)
    except FileNotFoundError:
        raise DatasetError(f"{data_path}: not found") from None
    if actual_bytes != expected_bytes:
        raise DatasetError(
            f"{data_path}: {actual_bytes} bytes, expected {expected_bytes} for shape "
            f"[{shape[0]} servers, {shape[1]} steps, {shape[2]} features] of float32"
        )
    values = np.fromfile(data_path, dtype="<f4").reshape(shape)
    log1p = {f for f in header["features"] if header["metrics"][f]["transform"] == "log1p"}
    check_values(values, header, log1p)
    return Dataset(header, values, directory)


class WindowIndex:
    """Every (server row, start step) whose window of `length` steps lies in [lo, hi) with no NaN."""

    def __init__(self, dataset, length, lo, hi, stride=1):
        valid = ~np.isnan(dataset.values).any(axis=2)  # [S, T]
        bad_cum = np.concatenate(
            [np.zeros((valid.shape[0], 1), np.int64), np.cumsum(~valid, axis=1)], axis=1
        )
        starts = np.arange(max(lo, 0), max(hi - length + 1, max(lo, 0)), stride, dtype=np.int64)
        if starts.size == 0:
            self.rows = np.zeros(0, np.int64)
            self.starts = np.zeros(0, np.int64)
            return
        clean = (bad_cum[:, starts + length] - bad_cum[:, starts]) == 0  # [S, n_starts]
        rows, cols = np.nonzero(clean)
        self.rows = rows.astype(np.int64)
        self.starts = starts[cols]

    @classmethod
    def from_arrays(cls, rows, starts):
        index = cls.__new__(cls)
        index.rows, index.starts = rows, starts
        return index

    def subset(self, keep):
        return WindowIndex.from_arrays(self.rows[keep], self.starts[keep])

    def __len__(self):
        return int(self.rows.size)


WINDOW_SAMPLINGS = ("uniform", "raw_scale")


def raw_scale_probabilities(values, windows, lookback, target_idx, floors, cap):
    """Per training window, a sampling probability in proportion to its raw spread over the lookback.

    Spread = each target's standard deviation over the window's lookback (floored at its std_floor)
    divided by that target's mean spread over all windows, averaged over targets and capped at `cap`
    times the mean. q-risk divides raw errors by raw actuals, so busy servers dominate it; sampling
    their windows more often (instead of only weighting their loss) gives the gradient more of them."""
    rows, starts = windows.rows, windows.starts
    if rows.size == 0:
        return np.zeros(0)
    n_servers = values.shape[0]
    weight = np.zeros(rows.size)
    for f, floor in zip(target_idx, floors):
        x = np.nan_to_num(values[:, :, f].astype(np.float64))  # clean windows hold no NaN: exact sums
        zero = np.zeros((n_servers, 1))
        c1 = np.concatenate([zero, np.cumsum(x, axis=1)], axis=1)
        c2 = np.concatenate([zero, np.cumsum(x * x, axis=1)], axis=1)
        mean = (c1[rows, starts + lookback] - c1[rows, starts]) / lookback
        var = (c2[rows, starts + lookback] - c2[rows, starts]) / lookback - mean * mean
        spread = np.maximum(np.sqrt(np.maximum(var, 0.0)), floor)
        weight += spread / spread.mean()
    weight = np.minimum(weight / len(target_idx), cap)
    return weight / weight.sum()


def gather(dataset, rows, starts, lookback, horizon, obs_idx, target_idx):
    """Batch arrays for windows (rows[i], starts[i]): encoder + decoder inputs and targets."""
    steps = starts[:, None] + np.arange(lookback + horizon)[None, :]
    block = dataset.values[rows[:, None], steps]  # [B, L+H, F]
    known = dataset.known[steps]  # [B, L+H, 4]
    return {
        "server_idx": dataset.server_idx[rows],
        "profile_idx": dataset.profile_idx[rows],
        "past_observed": np.ascontiguousarray(block[:, :lookback][:, :, obs_idx]),
        "past_known": np.ascontiguousarray(known[:, :lookback]),
        "future_known": np.ascontiguousarray(known[:, lookback:]),
        "target": np.ascontiguousarray(block[:, lookback:][:, :, target_idx]),
    }


def hide_ids(ids, rng, probability):
    """Replaces each id by 0 ("unknown") with the given probability, so row 0 learns a fleet average."""
    return np.where(rng.random(len(ids)) < probability, 0, ids).astype(ids.dtype)


def split_windows(dataset, lookback, horizon, validation_steps):
    """Train and validation windows, both inside [0, train_end_step).

    Validation windows forecast the last `validation_steps` before train_end_step; training windows
    end before that region. The held-out window [train_end_step, n_steps) is never used here.
    """
    length = lookback + horizon
    val_lo = dataset.train_end - validation_steps
    if val_lo - length < 0:
        raise DatasetError(
            f"dataset.json: split.train_end_step {dataset.train_end} is too small: training needs at least "
            f"{length + validation_steps} steps (lookback {lookback} + horizon {horizon} + validation "
            f"{validation_steps})"
        )
    train = WindowIndex(dataset, length, 0, val_lo)
    val = WindowIndex(dataset, length, val_lo - lookback, dataset.train_end, stride=max(1, horizon // 2))
    if len(train) == 0:
        raise DatasetError(f"{dataset.path}: no training window of {length} steps without missing values")
    if len(val) == 0:
        raise DatasetError(
            f"{dataset.path}: no validation window of {length} steps without missing values before "
            f"split.train_end_step"
        )
    return train, val


def window_range_epochs(dataset, lo, hi):
    """ISO strings for the start of step lo and the end of step hi-1 (the data window used)."""
    first = dataset.start_epoch + lo * dataset.resolution
    last = dataset.start_epoch + hi * dataset.resolution
    fmt = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    return fmt(first), fmt(last)
