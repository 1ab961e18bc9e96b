import json
import os
import unittest

from tests.helpers import TempDir, make_dataset, rewrite_header, run_module

REPORT_KEYS = {
    "format_version", "trainer_version", "profile", "hyperparameters", "seed", "targets", "quantiles",
    "observed_features", "known_features", "resolution_seconds", "lookback_steps", "horizon_steps",
    "num_embeddings", "holdout_indices", "num_profiles", "parameters", "torch_version", "device", "device_name", "threads",
    "world_size", "backend", "dataset", "data_window", "windows", "epochs", "best_epoch", "best_val_loss",
    "converged", "convergence", "validation_metrics", "validation_p50_vs_naive_mean",
    "validation_metrics_by_group", "durations", "started_at",
    "finished_at", "files",
}


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def events_lenient(stdout):
    """JSON event lines only (the launcher may print its own lines)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


class TrainCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.dir = cls.tmp.__enter__()
        cls.data = os.path.join(cls.dir, "data")
        make_dataset(cls.data, servers=6, days=4, resolution=1800, holdout_every=3, nan_fraction=0.05)
        cls.out1 = os.path.join(cls.dir, "out1")
        cls.run1 = run_module(["-m", "fleetcast_trainer.train", "--dataset", cls.data, "--out", cls.out1,
                               "--profile", "smoke", "--epochs", "2", "--seed", "5", "--threads", "1"])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def test_writes_the_artifacts(self):
        self.assertEqual(self.run1.returncode, 0, self.run1.stderr)
        for name in ("model.onnx", "normalization.json", "parity.json", "train_report.json"):
            self.assertTrue(os.path.getsize(os.path.join(self.out1, name)) > 0, name)
        leftovers = [n for n in os.listdir(self.out1) if ".tmp-" in n]
        self.assertEqual(leftovers, [])

    def test_report_and_progress_events(self):
        self.assertEqual(self.run1.returncode, 0, self.run1.stderr)
        ev = events(self.run1.stdout)
        self.assertEqual([e["event"] for e in ev], ["start", "epoch", "epoch", "done"])
        for key in ("epoch", "epochs", "train_loss", "val_loss", "seconds", "eta_seconds"):
            self.assertIn(key, ev[1])
        with open(os.path.join(self.out1, "train_report.json")) as fh:
            report = json.load(fh)
        self.assertEqual(set(report), REPORT_KEYS)
        self.assertEqual(len(report["epochs"]), 2)
        self.assertEqual(report["dataset"]["n_holdout_servers"], 2)
        self.assertEqual(report["num_embeddings"], 7)
        self.assertEqual(report["holdout_indices"], [3, 6])
        self.assertIn(report["best_epoch"], (1, 2))
        self.assertEqual(report["convergence"]["stopped_by"], "max_epochs")
        self.assertIsInstance(report["converged"], bool)
        self.assertEqual(set(report["validation_metrics"]), {"cpu_pct", "mem_pct", "latency_ms"})
        self.assertEqual(set(report["validation_metrics_by_group"]), {"known", "holdout"})
        self.assertIsNotNone(report["validation_metrics_by_group"]["holdout"])
        with open(os.path.join(self.out1, "normalization.json")) as fh:
            norm = json.load(fh)
        self.assertEqual(norm["method"], "encoder_window_standardize")
        self.assertEqual(norm["features"]["latency_ms"]["transform"], "log1p")
        with open(os.path.join(self.out1, "parity.json")) as fh:
            parity = json.load(fh)
        self.assertEqual([c["batch"] for c in parity["cases"]], [1, 4, 33])

    def test_same_seed_same_model(self):
        out2 = os.path.join(self.dir, "out2")
        run2 = run_module(["-m", "fleetcast_trainer.train", "--dataset", self.data, "--out", out2,
                           "--profile", "smoke", "--epochs", "2", "--seed", "5", "--threads", "1"])
        self.assertEqual(run2.returncode, 0, run2.stderr)
        with open(os.path.join(self.out1, "parity.json")) as a, open(os.path.join(out2, "parity.json")) as b:
            self.assertEqual(json.load(a)["cases"], json.load(b)["cases"])
        with open(os.path.join(self.out1, "train_report.json")) as a, \
                open(os.path.join(out2, "train_report.json")) as b:
            self.assertEqual([e["val_loss"] for e in json.load(a)["epochs"]],
                             [e["val_loss"] for e in json.load(b)["epochs"]])

    def test_bad_dataset_exits_2_before_training(self):
        with TempDir() as d:
            header, _ = make_dataset(d, servers=4, days=4, resolution=1800)
            rewrite_header(d, lambda h: h["servers"][2].update(profile_index=42))
            name = header["servers"][2]["name"]
            out = os.path.join(d, "out")
            result = run_module(["-m", "fleetcast_trainer.train", "--dataset", d, "--out", out,
                                 "--profile", "smoke"])
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("profile_index is 42", result.stderr)
            self.assertIn(f"server {name}: profile_index is 42", result.stderr)
            ev = events(result.stdout)
            self.assertEqual([e["event"] for e in ev], ["error"])
            self.assertFalse(os.path.exists(out))

    def test_unknown_profile_exits_2(self):
        result = run_module(["-m", "fleetcast_trainer.train", "--dataset", self.data, "--out",
                             os.path.join(self.dir, "x"), "--profile", "huge"])
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown profile 'huge'", result.stderr)


def _has_onnxruntime():
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class CheckOnnxTest(unittest.TestCase):
    """check_onnx: the parity check for machines with Python onnxruntime (the GPU runner)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.dir = cls.tmp.__enter__()
        cls.export = run_module(["-m", "fleetcast_trainer.export", "--out", cls.dir, "--profile", "smoke",
                                 "--seed", "2"])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    @unittest.skipIf(_has_onnxruntime(), "onnxruntime is installed")
    def test_says_when_onnxruntime_is_missing(self):
        self.assertEqual(self.export.returncode, 0, self.export.stderr)
        result = run_module(["-m", "fleetcast_trainer.check_onnx", "--dir", self.dir])
        self.assertEqual(result.returncode, 2)
        self.assertIn("onnxruntime package is not installed", result.stderr)

    @unittest.skipUnless(_has_onnxruntime(), "needs the Python onnxruntime package")
    def test_export_matches_and_a_changed_output_fails(self):
        self.assertEqual(self.export.returncode, 0, self.export.stderr)
        result = run_module(["-m", "fleetcast_trainer.check_onnx", "--dir", self.dir])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(all(r["passed"] for r in events(result.stdout)))
        path = os.path.join(self.dir, "parity.json")
        with open(path, encoding="utf-8") as fh:
            parity = json.load(fh)
        parity["cases"][0]["output"]["data"][0] += 0.5
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(parity, fh)
        result = run_module(["-m", "fleetcast_trainer.check_onnx", "--dir", self.dir])
        self.assertEqual(result.returncode, 1)


class DdpTest(unittest.TestCase):
    def test_two_cpu_processes(self):
        with TempDir() as d:
            data = os.path.join(d, "data")
            make_dataset(data, servers=6, days=4, resolution=1800, holdout_every=3)
            out = os.path.join(d, "out")
            # --redirects/--tee: torch 1.13's launcher cannot parse its own default "0" on Python 3.11
            result = run_module(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                 "--redirects", "1:2", "--tee", "1:2", "-m", "fleetcast_trainer.train", "--dataset", data, "--out", out,
                                 "--profile", "smoke", "--epochs", "1", "--seed", "1"],
                                extra_env={"OMP_NUM_THREADS": "1"})
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
            ev = [e for e in events_lenient(result.stdout)]
            self.assertEqual([e["event"] for e in ev], ["start", "epoch", "done"])  # rank 0 only
            self.assertEqual(ev[0]["world_size"], 2)
            with open(os.path.join(out, "train_report.json")) as fh:
                report = json.load(fh)
            self.assertEqual(report["world_size"], 2)
            self.assertEqual(report["backend"], "gloo")
            self.assertTrue(os.path.exists(os.path.join(out, "model.onnx")))


if __name__ == "__main__":
    unittest.main()
