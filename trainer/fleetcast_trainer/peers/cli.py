"""Forecasts the held-out windows of a dataset with the peer models (docs/peers.md).

python3 -m fleetcast_trainer.peers --input DATASET_DIR --out DIR [--peers gbm,ets,qnaive] [--json]
    [--request FILE] [--score] [--seed S] [--threads N] [--ets-trend none|add|damped] [--ets-fit-days N]
    [--qnaive-window-days N] [--gbm-max-rows N] [--gbm-max-iter N] [--gbm-weekly-lag]

--input is the training dataset directory (dataset.json + dataset.f32, docs/MODEL_FORMAT.md); the
forecast layout comes from DATASET_DIR/peer_request.json (or --request), else from the defaults.
--out receives <peer>.f32 per peer and forecasts.json (and scores.json with --score).

stdout: with --json one JSON object per line (events start, peer, done; error on failure), else a short
summary. stderr: progress. Exit codes: 0 ok, 2 bad input or arguments (file and field named, before any
fitting), 1 anything else.
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np

from .. import __version__
from ..data import check_values, load_dataset
from ..errors import DatasetError
from ..io import json_safe, write_json_atomic
from ..progress import now_iso
from . import score as scoring
from .output import LAYOUT, MANIFEST, write_array, write_manifest
from .request import REQUEST_FILE, load_request
from .series import Panel
from .settings import PEERS, PeerSettings

NEEDS = {"gbm": ("sklearn", "threadpoolctl", "python3-sklearn"), "ets": ("statsmodels", None, "python3-statsmodels")}


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="fleetcast_trainer.peers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="dataset directory (dataset.json + dataset.f32)")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of gbm,ets,qnaive")
    ap.add_argument("--request", default=None, help=f"request file (default: INPUT/{REQUEST_FILE} when present)")
    ap.add_argument("--json", action="store_true", help="JSON event lines on stdout")
    ap.add_argument("--score", action="store_true", help="also score every peer and seasonal naive (scores.json)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads/processes (default: all cores)")
    ap.add_argument("--ets-trend", default=PeerSettings.ets_trend, help="none | add | damped")
    ap.add_argument("--ets-fit-days", type=int, default=PeerSettings.ets_fit_days)
    ap.add_argument("--qnaive-window-days", type=int, default=PeerSettings.qnaive_window_days)
    ap.add_argument("--gbm-max-rows", type=int, default=PeerSettings.gbm_max_rows)
    ap.add_argument("--gbm-max-iter", type=int, default=PeerSettings.gbm_max_iter)
    ap.add_argument("--gbm-weekly-lag", action="store_true", help="add the 1-week lag of the forecast step as a feature")
    return ap.parse_args(argv)


class Reporter:
    """stderr progress lines; stdout JSON events (--json) or a summary."""

    def __init__(self, json_events, out=None, err=None):
        self.json_events = json_events
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def say(self, text):
        self.err.write(f"peers: {text}\n")
        self.err.flush()

    def event(self, doc):
        if self.json_events:
            self.out.write(json.dumps(json_safe(doc), allow_nan=False) + "\n")
            self.out.flush()

    def summary(self, text):
        if not self.json_events:
            self.out.write(text + "\n")
            self.out.flush()


def settle(args, say):
    """Reads every input once; every DatasetError (exit 2) is raised here, before any fitting."""
    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    threads = args.threads if args.threads is not None else (os.cpu_count() or 1)
    settings = PeerSettings(
        peers=peers, seed=args.seed, threads=threads, ets_trend=args.ets_trend, ets_fit_days=args.ets_fit_days,
        qnaive_window_days=args.qnaive_window_days, gbm_max_rows=args.gbm_max_rows,
        gbm_max_iter=args.gbm_max_iter, gbm_weekly_lag=args.gbm_weekly_lag,
    )
    if not isinstance(args.seed, int) or args.seed < 0:
        raise DatasetError("--seed must be a non-negative integer")
    for peer in peers:
        if peer in NEEDS:
            module, extra, package = NEEDS[peer]
            for name in (module, extra):
                if name is None:
                    continue
                try:
                    __import__(name)
                except ImportError:
                    raise DatasetError(f"--peers {peer}: needs the Python module {name} "
                                       f"(Debian: apt-get install {package})") from None
    dataset = load_dataset(args.input)
    request_path = args.request or os.path.join(args.input, REQUEST_FILE)
    request = load_request(request_path, dataset.header, required=args.request is not None)
    check_values(dataset.values, dataset.header, {t for t in request.targets if request.transforms[t] == "log1p"})
    panel = Panel(dataset, request)
    if len(panel.origins) == 0:
        raise DatasetError(f"{request.source}: no forecast origin in [from_step, n_steps - horizon_steps]")
    say(f"{dataset.path}: {len(panel.names)} servers ({int(panel.holdout.sum())} holdout), {panel.n_steps} steps "
        f"of {panel.resolution}s, {len(panel.origins)} origins per server")
    say(f"request: {request.describe()}")
    say(f"settings: peers {','.join(peers)}, seed {settings.seed}, threads {settings.threads}")
    return dataset, request, settings, panel


def run(args, reporter):
    """Forecasts with every requested peer and writes --out; returns the manifest."""
    started = time.time()
    dataset, request, settings, panel = settle(args, reporter.say)
    os.makedirs(args.out, exist_ok=True)
    reporter.event({"event": "start", "peers": list(settings.peers), "servers": len(panel.names),
                    "origins": len(panel.origins), "shape": list(panel.shape), "threads": settings.threads})
    from . import ets, gbm, qnaive  # after settle(): sklearn and statsmodels are known to import

    modules = {"gbm": gbm, "ets": ets, "qnaive": qnaive}
    peers_doc, raw = {}, {}
    for peer in settings.peers:
        t0 = time.time()
        reporter.say(f"{peer}: start")
        forecast_u, info = modules[peer].forecast(panel, settings, reporter.say)
        final = panel.finalize(forecast_u)
        file, digest = write_array(args.out, peer, final)
        seconds = time.time() - t0
        missing = int((~np.isfinite(final).all(axis=(2, 3, 4))).sum())
        raw[peer] = final
        peers_doc[peer] = {"file": file, "sha256": digest, "seconds": round(seconds, 3),
                           "windows_with_missing": missing, "settings": settings.for_peer(peer),
                           "info": _rounded(info)}
        reporter.say(f"{peer}: done in {seconds:.1f}s ({missing} windows with a missing value)")
        reporter.event({"event": "peer", "peer": peer, "seconds": round(seconds, 3), "windows_with_missing": missing})
        reporter.summary(f"{peer}: {seconds:.1f}s -> {os.path.join(args.out, file)}")

    header = dataset.header
    manifest = {
        "format_version": 1,
        "created_at": now_iso(),
        "trainer_version": __version__,
        "dataset": {"path": os.path.abspath(args.input), "source": header["source"],
                    "created_at": header["created_at"], "start": header["start"], "n_steps": header["n_steps"],
                    "train_end_step": header["split"]["train_end_step"]},
        "request": {"source": request.source, "from_step": request.from_step,
                    "stride_steps": request.stride_steps, "fit_end_step": request.fit_end_step,
                    "lookback_steps": request.lookback_steps, "transforms": request.transforms,
                    "bounds": {t: {"min": lo, "max": hi} for t, (lo, hi) in request.bounds.items()}},
        "resolution_seconds": panel.resolution,
        "targets": panel.targets,
        "quantiles": [float(q) for q in panel.quantiles],
        "horizon_steps": panel.horizon,
        "servers": panel.names,
        "origins": [int(o) for o in panel.origins],
        "origin_times": [_iso(int(t)) for t in panel.step_epochs(panel.origins)],
        "shape": list(panel.shape),
        "layout": LAYOUT,
        "peers": peers_doc,
        "seed": settings.seed,
        "threads": settings.threads,
        "total_seconds": None,
    }
    if args.score:
        windows = panel.lookback_complete(request.lookback_steps)
        entries = scoring.score(panel, raw, windows)
        write_json_atomic(os.path.join(args.out, "scores.json"), {
            "format_version": 1, "windows": int(windows.sum()),
            "lookback_rule": request.lookback_steps, "scores": entries})
        reporter.say(f"q-risk (all servers; ratio to seasonal naive):\n{scoring.table(entries, 'all')}")
        manifest["scores"] = "scores.json"
    manifest["total_seconds"] = round(time.time() - started, 3)
    write_manifest(args.out, manifest)
    reporter.event({"event": "done", "out": os.path.abspath(args.out), "manifest": MANIFEST,
                    "peers": {p: d["seconds"] for p, d in peers_doc.items()},
                    "total_seconds": manifest["total_seconds"]})
    reporter.summary(f"wrote {os.path.join(args.out, MANIFEST)} in {manifest['total_seconds']:.1f}s")
    return manifest


def _iso(epoch_seconds):
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _rounded(info):
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in info.items()}


def main(argv=None, out=None, err=None):
    args = parse_args(argv)
    reporter = Reporter(args.json, out, err)
    try:
        run(args, reporter)
    except DatasetError as error:
        reporter.err.write(f"error: {error}\n")
        reporter.event({"event": "error", "exit_code": error.exit_code, "message": str(error)})
        return error.exit_code
    return 0
