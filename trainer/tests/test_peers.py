"""Peer forecasters (fleetcast_trainer.peers, docs/peers.md): accuracy on known patterns, calibrated
quantiles, no future leakage, bounds, the output files and bad-input errors."""

import hashlib
import json
import os
import unittest
import warnings

import numpy as np

from fleetcast_trainer.metric_set import CONTRACT_METRICS, CONTRACT_TARGETS
from fleetcast_trainer.data import load_dataset
from fleetcast_trainer.errors import DatasetError
from fleetcast_trainer.peers import qnaive
from fleetcast_trainer.peers import score as scoring
from fleetcast_trainer.peers.request import REQUEST_FILE, parse_request
from fleetcast_trainer.peers.series import Panel
from fleetcast_trainer.peers.settings import PeerSettings
from tests.helpers import TempDir, run_module

try:
    import sklearn  # noqa: F401
    import threadpoolctl  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False
try:
    import statsmodels  # noqa: F401
    HAVE_STATSMODELS = True
except ImportError:
    HAVE_STATSMODELS = False

SKIP_GBM = "scikit-learn is not installed (Debian: apt-get install python3-sklearn): the gbm peer is not tested"
SKIP_ETS = "statsmodels is not installed (Debian: apt-get install python3-statsmodels): the ets peer is not tested"

RES = 1800
M = 86400 // RES  # 48 steps a day
START = 1793059200  # 2026-10-27T00:00:00Z
FEATURES = ["cpu_pct", "mem_pct", "latency_ms"]
# Small and quick: the GBM settles on far fewer rows and iterations than the 250-server defaults.
FAST = dict(threads=1, gbm_max_iter=60, gbm_min_samples_leaf=50)


def write_dataset(directory, values, held_out_days=2, holdout=()):
    """values [S, N, 3] (FEATURES) -> a dataset directory in the training format."""
    S, N, _ = values.shape
    os.makedirs(directory, exist_ok=True)
    header = {
        "format_version": 1, "created_at": "2026-11-26T00:00:00.000Z", "source": "test", "start":
        "2026-10-27T00:00:00.000Z", "resolution_seconds": RES, "n_steps": N, "fill_limit_steps": 2,
        "features": FEATURES, "targets": [f for f in FEATURES if f in CONTRACT_TARGETS],
        "metrics": {f: CONTRACT_METRICS[f] for f in FEATURES}, "profiles": ["web"],
        "servers": [{"name": f"web-{s + 1:04d}", "index": s + 1, "profile": "web", "profile_index": 1,
                     "holdout": s in holdout} for s in range(S)],
        "split": {"train_end_step": N - held_out_days * M, "valid_end_step": N},
    }
    with open(os.path.join(directory, "dataset.json"), "w", encoding="utf-8") as fh:
        json.dump(header, fh)
    values.astype("<f4").tofile(os.path.join(directory, "dataset.f32"))


def write_request(directory, **fields):
    doc = {"format_version": 1, "targets": ["cpu_pct"], "quantiles": [0.1, 0.5, 0.9], "horizon_steps": 12,
           **fields}
    with open(os.path.join(directory, REQUEST_FILE), "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    return doc


def daily_pattern(servers=8, days=12, noise=3.0, seed=0):
    """cpu = level + amplitude·(daily shape) + iid noise; mem and latency alike. [S, N, 3]."""
    rng = np.random.default_rng(seed)
    n = days * M
    tod = (np.arange(n) % M) / M
    shape = np.sin(2 * np.pi * tod) + 0.5 * np.sin(4 * np.pi * tod + 1.0)
    level = rng.uniform(30, 60, servers)[:, None]
    amp = rng.uniform(10, 20, servers)[:, None]
    cpu = level + amp * shape[None, :] + rng.normal(0, noise, (servers, n))
    mem = 50 + 5 * shape[None, :] + rng.normal(0, 1.0, (servers, n))
    lat = np.exp(np.log(40) + 0.3 * shape[None, :] + rng.normal(0, 0.1, (servers, n)))
    return np.stack([cpu, mem, lat], axis=-1)


def panel_for(directory, request_doc):
    dataset = load_dataset(directory)
    return Panel(dataset, parse_request(request_doc, dataset.header, "test request"))


def run_peer(name, panel, **settings):
    from fleetcast_trainer.peers import ets, gbm  # imported lazily: they need statsmodels / sklearn

    module = {"qnaive": qnaive, "ets": ets, "gbm": gbm}[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no silent NaN arithmetic
        out, info = module.forecast(panel, PeerSettings(**{**FAST, **settings}), lambda line: None)
    return panel.finalize(out), info


def qrisk(panel, forecasts, model, target, q):
    for e in scoring.score(panel, forecasts):
        if e["model"] == model and e["group"] == "all" and e["target"] == target and abs(e["quantile"] - q) < 1e-9:
            return e["q_risk"]
    raise KeyError(model)


class PatternDataset(unittest.TestCase):
    """One dataset with a known daily pattern, shared by the accuracy tests."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.dir = cls.tmp.__enter__()
        write_dataset(cls.dir, daily_pattern())
        cls.request = {"format_version": 1, "targets": ["cpu_pct", "latency_ms"], "quantiles": [0.1, 0.5, 0.9],
                       "horizon_steps": 12, "transforms": {"latency_ms": "log1p"}}
        cls.panel = panel_for(cls.dir, cls.request)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def assert_beats_naive(self, name, forecast, ratio):
        for target in ("cpu_pct", "latency_ms"):
            for q in (0.1, 0.5, 0.9):
                mine = qrisk(self.panel, {name: forecast}, name, target, q)
                naive = qrisk(self.panel, {name: forecast}, scoring.SEASONAL_NAIVE, target, q)
                limit = ratio if q == 0.5 else 0.7  # naive is a point forecast: every real band beats it at P10/P90
                self.assertLess(mine, limit * naive, f"{name} {target} P{round(q * 100)}: {mine:.4f} vs naive {naive:.4f}")

    def test_qnaive_matches_naive_at_p50_and_beats_it_at_p10_p90(self):
        forecast, _ = run_peer("qnaive", self.panel)
        for target in ("cpu_pct", "latency_ms"):
            mine = qrisk(self.panel, {"qnaive": forecast}, "qnaive", target, 0.5)
            naive = qrisk(self.panel, {"qnaive": forecast}, scoring.SEASONAL_NAIVE, target, 0.5)
            self.assertLess(abs(mine / naive - 1), 0.05, f"{target}: P50 {mine:.4f} vs naive {naive:.4f}")
        self.assert_beats_naive("qnaive", forecast, ratio=1.05)

    @unittest.skipUnless(HAVE_STATSMODELS, SKIP_ETS)
    def test_ets_beats_seasonal_naive_on_a_daily_pattern(self):
        forecast, info = run_peer("ets", self.panel)
        self.assertEqual(info["fallback_series"], 0)
        # iid noise around a fixed daily shape: naive's error has twice the noise variance, a smoothed
        # seasonal component about once, so P50 should be clearly better (about 1/sqrt(2)).
        self.assert_beats_naive("ets", forecast, ratio=0.85)

    @unittest.skipUnless(HAVE_SKLEARN, SKIP_GBM)
    def test_gbm_beats_seasonal_naive_on_a_daily_pattern(self):
        forecast, info = run_peer("gbm", self.panel)
        self.assertEqual(len(info["models"]), 6)  # 2 targets × 3 quantiles, horizon as a feature
        self.assert_beats_naive("gbm", forecast, ratio=0.9)


class QuantileNaiveCalibrationTest(unittest.TestCase):
    def test_p90_covers_about_90_percent_on_stationary_noise(self):
        rng = np.random.default_rng(3)
        values = np.stack([50 + rng.normal(0, 5, (40, 16 * M)), np.full((40, 16 * M), 50.0),
                           np.full((40, 16 * M), 40.0)], axis=-1)
        with TempDir() as d:
            write_dataset(d, values)
            panel = panel_for(d, {"format_version": 1, "targets": ["cpu_pct"], "quantiles": [0.1, 0.5, 0.9],
                                  "horizon_steps": 12, "stride_steps": 1})
            forecast, _ = run_peer("qnaive", panel)
            actual = scoring.actuals(panel)[..., 0]
            for qi, q in enumerate((0.1, 0.5, 0.9)):
                coverage = float((actual <= forecast[..., 0, qi]).mean())
                self.assertAlmostEqual(coverage, q, delta=0.03, msg=f"P{round(q * 100)} covers {coverage:.3f}")


class NoLeakageTest(unittest.TestCase):
    """Changing values at or after an origin must not change that origin's forecast (nor earlier ones)."""

    def check(self, name, horizon):
        values = daily_pattern(servers=5, days=10, seed=4)
        with TempDir() as d:
            write_dataset(d, values)
            request = {"format_version": 1, "targets": ["cpu_pct", "latency_ms"], "quantiles": [0.1, 0.5, 0.9],
                       "horizon_steps": horizon, "stride_steps": 6}
            before = panel_for(d, request)
            cut = int(before.origins[1])
            changed = values.copy()
            changed[:, cut:, :] = changed[:, cut:, :] * 1.7 + 25.0  # everything from origin 1 on
            write_dataset(d, changed)
            after = panel_for(d, request)
            a, _ = run_peer(name, before)
            b, _ = run_peer(name, after)
            np.testing.assert_array_equal(a[:, :2], b[:, :2], err_msg=f"{name}: a forecast saw the future")
            self.assertFalse(np.array_equal(a[:, -1], b[:, -1]), f"{name}: the perturbation changed nothing")

    def test_qnaive(self):
        self.check("qnaive", 12)
        self.check("qnaive", M + 12)  # horizons past one day reach back two days

    @unittest.skipUnless(HAVE_STATSMODELS, SKIP_ETS)
    def test_ets(self):
        self.check("ets", 12)
        self.check("ets", M + 12)

    @unittest.skipUnless(HAVE_SKLEARN, SKIP_GBM)
    def test_gbm(self):
        self.check("gbm", 12)
        self.check("gbm", M)  # the last step's "lag + 1" neighbour would be the origin itself


class MissingDataTest(unittest.TestCase):
    def test_every_window_the_tft_scores_gets_a_finite_forecast(self):
        """The TypeScript scorer drops a point for every model when one model has no forecast there, so a peer
        must forecast every window whose lookback is complete, whatever gaps lie further back."""
        values = daily_pattern(servers=6, days=12, seed=6)
        rng = np.random.default_rng(6)
        for s in range(5):
            for g in rng.integers(0, values.shape[1] - 8, 5):
                values[s, g:g + 8] = np.nan  # runs of missing steps, in training and held-out data
        values[5, :int(8.5 * M)] = np.nan  # appeared 1.5 days before the held-out window: too short to fit
        peers = ["qnaive"] + (["ets"] if HAVE_STATSMODELS else []) + (["gbm"] if HAVE_SKLEARN else [])
        with TempDir() as d:
            write_dataset(d, values)
            panel = panel_for(d, {"format_version": 1, "targets": ["cpu_pct", "latency_ms"], "horizon_steps": 12,
                                  "quantiles": [0.1, 0.5, 0.9], "stride_steps": 3})
            scored = panel.lookback_complete(2 * M)
            self.assertTrue(scored.any() and not scored.all())
            self.assertTrue(scored[5].any())  # the new server is scored
            for name in peers:
                out, _ = run_peer(name, panel)
                finite = np.isfinite(out).all(axis=(2, 3, 4))
                self.assertTrue(finite[scored].all(), f"{name}: {int((~finite[scored]).sum())} scored windows missing")


class BoundsAndOrderTest(unittest.TestCase):
    def test_finalize_clips_to_bounds_and_sorts_quantiles(self):
        with TempDir() as d:
            write_dataset(d, daily_pattern(servers=2, days=4))
            panel = panel_for(d, {"format_version": 1, "targets": ["cpu_pct"], "horizon_steps": 2,
                                  "quantiles": [0.1, 0.5, 0.9], "bounds": {"cpu_pct": {"min": 0, "max": 100}}})
            u = np.zeros(panel.shape)
            u[..., 0, :] = [120.0, -5.0, 50.0]  # crossing and out of range
            u[0, 0, 0, 0, 1] = np.nan
            out = panel.finalize(u)
            np.testing.assert_array_equal(out[1, 0, 0, 0], [0.0, 50.0, 100.0])
            self.assertTrue(np.isnan(out[0, 0, 0, 0]).all())  # a missing quantile: the whole cell is missing

    def test_every_peer_respects_bounds_and_never_crosses(self):
        rng = np.random.default_rng(5)
        n = 10 * M
        tod = (np.arange(n) % M) / M
        cpu = np.clip(3 + 3 * np.sin(2 * np.pi * tod)[None, :] + rng.normal(0, 2, (4, n)), 0, 100)  # near 0
        values = np.stack([cpu, np.full((4, n), 99.0) + rng.normal(0, 1.5, (4, n)).clip(-5, 1),
                           np.full((4, n), 10.0)], axis=-1)
        peers = ["qnaive"] + (["ets"] if HAVE_STATSMODELS else []) + (["gbm"] if HAVE_SKLEARN else [])
        with TempDir() as d:
            write_dataset(d, values)
            panel = panel_for(d, {"format_version": 1, "targets": ["cpu_pct", "mem_pct"], "horizon_steps": 12,
                                  "quantiles": [0.1, 0.5, 0.9],
                                  "bounds": {"cpu_pct": {"min": 0, "max": 100}, "mem_pct": {"min": 0, "max": 100}}})
            for name in peers:
                out, _ = run_peer(name, panel)
                self.assertTrue(np.isfinite(out).all(), name)
                self.assertGreaterEqual(float(out.min()), 0.0, name)
                self.assertLessEqual(float(out.max()), 100.0, name)
                self.assertTrue((np.diff(out, axis=-1) >= 0).all(), f"{name}: quantiles cross")


@unittest.skipUnless(HAVE_STATSMODELS, SKIP_ETS)
class EtsFilterTest(unittest.TestCase):
    def test_update_recursions_reproduce_statsmodels(self):
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        from fleetcast_trainer.peers.ets import Filter, _fit_one

        rng = np.random.default_rng(1)
        m, n = 24, 24 * 8
        t = np.arange(n)
        y = 10 + 0.01 * t + 3 * np.sin(2 * np.pi * t / m) + rng.normal(0, 0.5, n)
        lag = lambda k: m * (k // m + 1)  # noqa: E731
        for trend in ("none", "add", "damped"):
            _, params = _fit_one((0, y, m, trend))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = ExponentialSmoothing(y, trend=None if trend == "none" else "add", damped_trend=trend == "damped",
                                           seasonal="add", seasonal_periods=m,
                                           initialization_method="heuristic").fit(use_brute=False)
            filt = Filter(y[None, :], np.array([0]), [params], m, n)
            np.testing.assert_allclose(filt.forecast(np.arange(n), 1, lag)[0, :, 0], ref.fittedvalues, atol=1e-8)
            np.testing.assert_allclose(filt.forecast([n], 30, lag)[0, 0], ref.forecast(30), atol=1e-8)


class RequestTest(unittest.TestCase):
    HEADER = {"features": FEATURES, "n_steps": 480, "split": {"train_end_step": 384, "valid_end_step": 480},
              "targets": [f for f in FEATURES if f in CONTRACT_TARGETS],
              "metrics": {f: CONTRACT_METRICS[f] for f in FEATURES}}

    def rejected(self, doc, expected):
        with self.assertRaises(DatasetError) as ctx:
            parse_request(doc, self.HEADER, "peer_request.json")
        self.assertIn(expected, str(ctx.exception))

    def test_defaults_follow_the_dataset_split_and_profiles(self):
        r = parse_request({"format_version": 1}, self.HEADER, "defaults")
        self.assertEqual((r.from_step, r.fit_end_step, r.stride_steps), (384, 384, r.horizon_steps))
        self.assertEqual(r.transforms["latency_ms"], "log1p")
        self.assertEqual(r.origins(480)[-1] + r.horizon_steps <= 480, True)

    def test_rejects_bad_fields_by_name(self):
        base = {"format_version": 1}
        self.rejected({**base, "extra": 1}, "unknown field(s) extra")
        self.rejected({"format_version": 2}, "format_version must be 1")
        self.rejected({**base, "targets": ["gpu_pct"]}, "target gpu_pct is not a feature")
        self.rejected({**base, "quantiles": [0.5, 0.1]}, "strictly increasing")
        self.rejected({**base, "quantiles": [0, 0.5]}, "quantiles must be")
        self.rejected({**base, "horizon_steps": 0}, "horizon_steps must be an integer")
        self.rejected({**base, "from_step": 475, "horizon_steps": 12}, "past n_steps")
        self.rejected({**base, "fit_end_step": 400}, "fit_end_step must be an integer in [1, 384]")
        self.rejected({**base, "transforms": {"cpu_pct": "log"}}, "transforms.cpu_pct must be one of")
        self.rejected({**base, "bounds": {"cpu_pct": {"min": 5, "max": 1}}}, "bounds.cpu_pct: min 5 is above max 1")
        self.rejected({**base, "bounds": {"cpu_pct": {"low": 0}}}, "bounds.cpu_pct must be an object")
        self.rejected({**base, "bounds": {"disk_io_mbps": {"min": 0}}}, "bounds.disk_io_mbps: not a target")


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.dir = cls.tmp.__enter__()
        cls.data = os.path.join(cls.dir, "data")
        write_dataset(cls.data, daily_pattern(servers=4, days=8, seed=2), holdout=(3,))
        write_request(cls.data, targets=["cpu_pct", "mem_pct", "latency_ms"], lookback_steps=96,
                      bounds={"cpu_pct": {"min": 0, "max": 100}})
        cls.peers = ",".join(["qnaive"] + (["ets"] if HAVE_STATSMODELS else []) + (["gbm"] if HAVE_SKLEARN else []))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def peers_cli(self, *args):
        return run_module(["-m", "fleetcast_trainer.peers", *args], timeout=600)

    def test_writes_forecasts_manifest_and_events(self):
        out = os.path.join(self.dir, "out")
        run = self.peers_cli("--input", self.data, "--out", out, "--peers", self.peers, "--json", "--score",
                             "--threads", "2", "--gbm-max-iter", "40")
        self.assertEqual(run.returncode, 0, run.stderr)
        events = [json.loads(line) for line in run.stdout.splitlines()]
        self.assertEqual([e["event"] for e in events], ["start"] + ["peer"] * len(self.peers.split(",")) + ["done"])
        self.assertIn("peers: qnaive: done in", run.stderr)
        with open(os.path.join(out, "forecasts.json"), encoding="utf-8") as fh:
            manifest = json.load(fh)
        S, O, H, T, Q = manifest["shape"]
        self.assertEqual((S, H, T, Q), (4, 12, 3, 3))
        self.assertEqual(manifest["origins"], list(range(8 * M - 2 * M, 8 * M - 12 + 1, 12)))
        self.assertEqual(manifest["servers"], [f"web-{i:04d}" for i in range(1, 5)])
        self.assertEqual(manifest["origin_times"][0], "2026-11-02T00:00:00.000Z")
        for name in self.peers.split(","):
            entry = manifest["peers"][name]
            with open(os.path.join(out, entry["file"]), "rb") as fh:
                data = fh.read()
            self.assertEqual(len(data), S * O * H * T * Q * 4)
            self.assertEqual(hashlib.sha256(data).hexdigest(), entry["sha256"])
            values = np.frombuffer(data, dtype="<f4").reshape(S, O, H, T, Q)
            self.assertTrue(np.isfinite(values).all(), name)
            self.assertGreaterEqual(float(values[..., 0, :].min()), 0.0)
            self.assertIsInstance(entry["seconds"], float)
        with open(os.path.join(out, "scores.json"), encoding="utf-8") as fh:
            scores = json.load(fh)["scores"]
        models = {e["model"] for e in scores}
        self.assertEqual(models, set(self.peers.split(",")) | {"seasonal_naive"})
        self.assertEqual({e["group"] for e in scores}, {"known", "unknown", "all"})

    @unittest.skipUnless(HAVE_SKLEARN and HAVE_STATSMODELS, f"{SKIP_GBM}; {SKIP_ETS}")
    def test_same_input_same_forecasts_whatever_the_process_count(self):
        digests = []
        for threads in ("1", "2"):
            out = os.path.join(self.dir, f"det{threads}")
            run = self.peers_cli("--input", self.data, "--out", out, "--peers", "gbm,ets", "--threads", threads,
                                 "--gbm-max-iter", "40", "--seed", "7")
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(os.path.join(out, "forecasts.json"), encoding="utf-8") as fh:
                digests.append({p: e["sha256"] for p, e in json.load(fh)["peers"].items()})
        self.assertEqual(digests[0], digests[1])

    def assert_exit_2(self, expected, *args, data=None):
        run = self.peers_cli("--input", data or self.data, "--out", os.path.join(self.dir, "bad"), "--json", *args)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn(expected, run.stderr)
        event = json.loads(run.stdout.splitlines()[-1])
        self.assertEqual((event["event"], event["exit_code"]), ("error", 2))
        self.assertIn(expected, event["message"])

    def test_bad_input_exits_2_naming_the_file_and_field(self):
        self.assert_exit_2("--peers: unknown peer 'arima'", "--peers", "qnaive,arima")
        self.assert_exit_2("dataset.json: not found", data=os.path.join(self.dir, "nowhere"))
        self.assert_exit_2("nope.json: not found", "--request", os.path.join(self.dir, "nope.json"))
        bad = os.path.join(self.dir, "badreq")
        write_dataset(bad, daily_pattern(servers=2, days=4))
        write_request(bad, targets=["cpu_pct", "gpu_pct"])
        self.assert_exit_2("peer_request.json: target gpu_pct is not a feature", data=bad)
        write_request(bad, horizon_steps="12")
        self.assert_exit_2("peer_request.json: horizon_steps must be an integer", data=bad)
        with open(os.path.join(bad, REQUEST_FILE), "w", encoding="utf-8") as fh:
            fh.write("{not json")
        self.assert_exit_2("peer_request.json: not valid JSON", data=bad)

    def test_bad_values_exit_2_naming_server_feature_and_step(self):
        bad = os.path.join(self.dir, "badvalues")
        values = daily_pattern(servers=2, days=4)
        values[1, 17, 2] = -3.0  # negative latency: log1p target
        write_dataset(bad, values)
        write_request(bad, targets=["latency_ms"], transforms={"latency_ms": "log1p"})
        self.assert_exit_2("server web-0002: latency_ms is negative (-3.0) at step 17", data=bad)
        with open(os.path.join(bad, "dataset.f32"), "r+b") as fh:
            fh.truncate(100)
        self.assert_exit_2("dataset.f32: 100 bytes, expected", data=bad)


if __name__ == "__main__":
    unittest.main()
