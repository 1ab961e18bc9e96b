"""The metric set a dataset carries (dataset.json "targets" and "metrics", written by the TypeScript
side from the deployment's config/metric_set.json): what to forecast, how to scale each feature and
the physical range forecasts must stay in. The trainer takes none of this from profiles.json."""

from .errors import DatasetError

METRIC_KEYS = {"unit", "min", "max", "transform", "std_floor"}
TRANSFORMS = ("none", "log1p")

# The data contract's columns, for the synthetic generator and random exports (tests, benchmarks).
CONTRACT_METRICS = {
    "cpu_pct": {"unit": "%", "min": 0, "max": 100, "transform": "none", "std_floor": 1.0},
    "mem_pct": {"unit": "%", "min": 0, "max": 100, "transform": "none", "std_floor": 0.5},
    "disk_io_mbps": {"unit": "MB/s", "min": 0, "max": 100000, "transform": "log1p", "std_floor": 0.05},
    "net_in_mbps": {"unit": "Mbit/s", "min": 0, "max": 400000, "transform": "log1p", "std_floor": 0.05},
    "net_out_mbps": {"unit": "Mbit/s", "min": 0, "max": 400000, "transform": "log1p", "std_floor": 0.05},
    "latency_ms": {"unit": "ms", "min": 0, "max": 600000, "transform": "log1p", "std_floor": 0.05},
    "error_rate": {"unit": "fraction", "min": 0, "max": 1, "transform": "log1p", "std_floor": 0.001},
}
CONTRACT_TARGETS = ["cpu_pct", "mem_pct", "latency_ms"]


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


def validate_metric_set(header):
    """Raises DatasetError naming the field when header["targets"] / header["metrics"] are wrong."""
    features, targets, metrics = header["features"], header["targets"], header["metrics"]
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise DatasetError("dataset.json: targets must be a non-empty list of feature names")
    if len(set(targets)) != len(targets):
        raise DatasetError("dataset.json: targets contains duplicates")
    for target in targets:
        if target not in features:
            raise DatasetError(f"dataset.json: target {target} is not one of the features")
    if not isinstance(metrics, dict):
        raise DatasetError("dataset.json: metrics must be an object")
    for feature in features:
        spec = metrics.get(feature)
        where = f"dataset.json: metrics.{feature}"
        if not isinstance(spec, dict):
            raise DatasetError(f"{where}: missing")
        if set(spec) != METRIC_KEYS:
            raise DatasetError(f"{where}: needs exactly the fields {', '.join(sorted(METRIC_KEYS))}")
        if spec["transform"] not in TRANSFORMS:
            raise DatasetError(f"{where}.transform: must be one of {', '.join(TRANSFORMS)}")
        if not _number(spec["std_floor"]) or spec["std_floor"] <= 0:
            raise DatasetError(f"{where}.std_floor: must be a positive number")
        if not _number(spec["min"]) or not (spec["max"] is None or _number(spec["max"]) and spec["max"] > spec["min"]):
            raise DatasetError(f"{where}: min must be a number and max null or a number above it")


def with_metric_set(doc, header):
    """The profiles document plus the dataset's targets, normalization and bounds (model_factory)."""
    metrics = header["metrics"]
    return {
        **doc,
        "targets": list(header["targets"]),
        "normalization": {f: {"transform": metrics[f]["transform"], "std_floor": metrics[f]["std_floor"]}
                          for f in header["features"]},
        "bounds": {t: (metrics[t]["min"], metrics[t]["max"]) for t in header["targets"]},
    }


def contract_doc(doc, features=None):
    """`doc` with the data contract's metric set over `features` (default: all seven), for a model
    not trained on a dataset: random exports, benchmarks and tests."""
    features = list(features or CONTRACT_METRICS)
    targets = [t for t in CONTRACT_TARGETS if t in features]
    return with_metric_set(doc, {"features": features, "targets": targets,
                                 "metrics": {f: CONTRACT_METRICS[f] for f in features}})
