import json
import os
import unittest

import numpy as np

from fleetcast_trainer.data import WindowIndex, gather, hide_ids, load_dataset, raw_scale_probabilities, split_windows
from fleetcast_trainer.errors import DatasetError
from tests.helpers import TempDir, make_dataset, rewrite_header

TARGETS = ["cpu_pct", "mem_pct", "latency_ms"]
LOG1P = {"latency_ms"}


class LoadDatasetTest(unittest.TestCase):
    def test_reads_shape_and_holdout_uses_index_zero(self):
        with TempDir() as d:
            header, values = make_dataset(d, servers=6, holdout_every=3)
            ds = load_dataset(d, 900)
            self.assertEqual(ds.values.shape, values.shape)
            np.testing.assert_array_equal(ds.values, values)
            for i, s in enumerate(header["servers"]):
                self.assertEqual(int(ds.server_idx[i]), 0 if s["holdout"] else s["index"])
            self.assertIn(0, ds.server_idx.tolist())
            self.assertEqual(ds.num_embeddings, 7)

    def assert_rejected(self, mutate, expected, data_mutate=None):
        with TempDir() as d:
            make_dataset(d)
            if mutate:
                rewrite_header(d, mutate)
            if data_mutate:
                data_mutate(d)
            with self.assertRaises(DatasetError) as ctx:
                load_dataset(d, 900)
            self.assertIn(expected, str(ctx.exception))

    def test_rejects_bad_headers_naming_the_field_or_server(self):
        self.assert_rejected(lambda h: h.pop("split"), "missing field(s) split")
        self.assert_rejected(lambda h: h.update(extra=1), "unknown field(s) extra")
        self.assert_rejected(lambda h: h.update(format_version=2), "format_version")
        self.assert_rejected(lambda h: h.update(resolution_seconds=1800), "resolution_seconds is 1800")
        self.assert_rejected(lambda h: h["features"].remove("latency_ms"), "target latency_ms is not one of the features")
        self.assert_rejected(lambda h: h["servers"][1].update(name="../etc"), "invalid server name")
        self.assert_rejected(lambda h: h["servers"][2].update(index=h["servers"][0]["index"]),
                             f"index 1 is used by another server")
        self.assert_rejected(lambda h: h["servers"][0].update(profile_index=9), "profile_index is 9")
        self.assert_rejected(lambda h: h["servers"][0].update(profile="gpu"), 'profile "gpu" is not in profiles')
        self.assert_rejected(lambda h: h["split"].update(train_end_step=10**6), "split needs train_end_step")
        self.assert_rejected(lambda h: h.update(start="2026-10-27T00:00:07.000Z"), "not aligned")

    def test_names_the_server_in_error_messages(self):
        def bad(h):
            h["servers"][1]["holdout"] = "yes"
            self.name = h["servers"][1]["name"]
        with TempDir() as d:
            make_dataset(d)
            rewrite_header(d, bad)
            with self.assertRaises(DatasetError) as ctx:
                load_dataset(d, 900)
            self.assertIn(f"server {self.name}: holdout", str(ctx.exception))

    def test_rejects_truncated_data_and_bad_values(self):
        def truncate(d):
            path = os.path.join(d, "dataset.f32")
            with open(path, "r+b") as fh:
                fh.truncate(os.path.getsize(path) - 4)
        self.assert_rejected(None, "expected", data_mutate=truncate)

        def poison(value, feature):
            def apply(d):
                with open(os.path.join(d, "dataset.json")) as fh:
                    header = json.load(fh)
                shape = (len(header["servers"]), header["n_steps"], len(header["features"]))
                arr = np.fromfile(os.path.join(d, "dataset.f32"), dtype="<f4").reshape(shape)
                arr[2, 5, header["features"].index(feature)] = value
                arr.tofile(os.path.join(d, "dataset.f32"))
            return apply
        self.assert_rejected(None, "cpu_pct is infinite at step 5", data_mutate=poison(np.inf, "cpu_pct"))
        self.assert_rejected(None, "latency_ms is negative", data_mutate=poison(-3.0, "latency_ms"))

    def test_rejects_missing_files(self):
        with TempDir() as d:
            with self.assertRaises(DatasetError) as ctx:
                load_dataset(d, 900)
            self.assertIn("dataset.json: not found", str(ctx.exception))


class WindowTest(unittest.TestCase):
    def test_windows_skip_nan_and_stay_before_train_end(self):
        with TempDir() as d:
            header, values = make_dataset(d, servers=4, days=5)
            ds = load_dataset(d, 900)
            ds.values[1, 200, 3] = np.nan  # one missing value in one feature
            train, val = split_windows(ds, 96, 16, 96)
            for idx in (train, val):
                self.assertGreater(len(idx), 0)
                end = idx.starts + 96 + 16
                self.assertTrue((end <= ds.train_end).all())
                on_server1 = idx.starts[idx.rows == 1]
                self.assertFalse(((on_server1 <= 200) & (on_server1 + 112 > 200)).any())
            # training windows end before the validation region starts
            self.assertTrue((train.starts + 112 <= ds.train_end - 96).all())
            self.assertTrue((val.starts + 96 >= ds.train_end - 96).all())
            full = WindowIndex(ds, 112, 0, ds.train_end)
            self.assertEqual(int(((full.rows == 1) & (full.starts <= 200) & (full.starts + 112 > 200)).sum()), 0)

    def test_gather_layout(self):
        with TempDir() as d:
            make_dataset(d, servers=3, days=3)
            ds = load_dataset(d, 900)
            b = gather(ds, np.array([2, 0]), np.array([10, 0]), 8, 4, list(range(7)), [0, 1, 5])
            self.assertEqual(b["past_observed"].shape, (2, 8, 7))
            self.assertEqual(b["future_known"].shape, (2, 4, 4))
            self.assertEqual(b["target"].shape, (2, 4, 3))
            np.testing.assert_array_equal(b["target"][0, :, 2], ds.values[2, 18:22, 5])
            np.testing.assert_array_equal(b["past_known"][0], ds.known[10:18])

    def test_too_short_for_the_window_is_rejected(self):
        with TempDir() as d:
            make_dataset(d, servers=3, days=2)
            ds = load_dataset(d, 900)
            with self.assertRaises(DatasetError) as ctx:
                split_windows(ds, 96, 24, 96)
            self.assertIn("train_end_step", str(ctx.exception))


class UnknownDropoutTest(unittest.TestCase):
    def test_hides_about_the_requested_share(self):
        rng = np.random.default_rng(0)
        ids = np.arange(1, 20001)
        hidden = hide_ids(ids, rng, 0.07)
        share = float((hidden == 0).mean())
        self.assertGreater(share, 0.06)
        self.assertLess(share, 0.08)
        kept = hidden != 0
        np.testing.assert_array_equal(hidden[kept], ids[kept])
        self.assertTrue((hide_ids(ids, rng, 0.0) == ids).all())


if __name__ == "__main__":
    unittest.main()


class MetricSetTest(unittest.TestCase):
    def test_constant_or_empty_target_is_refused_with_its_name(self):
        from fleetcast_trainer.data import check_targets_vary
        with TempDir() as d:
            make_dataset(d)
            ds = load_dataset(d, 900)
            check_targets_vary(ds.values, ds.header)  # the synthetic targets vary
            values = ds.values.copy()
            values[:, :, ds.features.index("latency_ms")] = 0.0
            with self.assertRaises(DatasetError) as ctx:
                check_targets_vary(values, ds.header)
            self.assertIn("target latency_ms is 0 everywhere", str(ctx.exception))
            values[:, :, ds.features.index("latency_ms")] = np.nan
            with self.assertRaises(DatasetError) as ctx:
                check_targets_vary(values, ds.header)
            self.assertIn("target latency_ms has no values", str(ctx.exception))

    def test_rejects_a_bad_metric_set_naming_the_field(self):
        with TempDir() as d:
            make_dataset(d)
            for mutate, expected in [
                (lambda h: h.pop("metrics"), "missing field(s) metrics"),
                (lambda h: h["metrics"].pop("cpu_pct"), "metrics.cpu_pct: missing"),
                (lambda h: h["metrics"]["cpu_pct"].update(transform="sqrt"), "metrics.cpu_pct.transform"),
                (lambda h: h["metrics"]["cpu_pct"].update(max=-1), "metrics.cpu_pct: min must be"),
                (lambda h: h.update(targets=[]), "targets must be a non-empty list"),
            ]:
                make_dataset(d)
                rewrite_header(d, mutate)
                with self.assertRaises(DatasetError) as ctx:
                    load_dataset(d, 900)
                self.assertIn(expected, str(ctx.exception))


class RawScaleSamplingTest(unittest.TestCase):
    def test_busy_windows_are_drawn_more_often_within_the_cap(self):
        # server 0 flat (spread at the floor), server 1 swinging by ±10, server 2 by ±1000 (capped)
        steps, lookback, cap = 40, 8, 1.5
        t = np.arange(steps, dtype=np.float64)
        values = np.stack([np.full(steps, 5.0), 50 + 10 * np.sin(t), 50 + 1000 * np.sin(t)])[:, :, None]
        values = values.astype(np.float32)
        rows = np.repeat(np.arange(3), 4)
        starts = np.tile(np.array([0, 8, 16, 24]), 3)
        probs = raw_scale_probabilities(values, WindowIndex.from_arrays(rows, starts), lookback, [0], [1.0], cap)
        # the same by the definition: population std of each lookback, floored, over the mean, capped
        spread = np.array([max(values[r, s:s + lookback, 0].astype(np.float64).std(), 1.0)
                           for r, s in zip(rows, starts)])
        weight = np.minimum(spread / spread.mean(), cap)
        np.testing.assert_allclose(probs, weight / weight.sum(), rtol=1e-6)
        flat, swing, huge = (probs[rows == s] for s in range(3))
        self.assertTrue(np.all(flat < swing.min()) and np.all(swing < huge.min()))
        np.testing.assert_allclose(huge, huge[0], rtol=1e-12, err_msg="the cap binds on the huge server")
        self.assertTrue(np.all(probs > 0), "every window can still be drawn")

    def test_nan_elsewhere_does_not_leak_into_clean_windows(self):
        values = np.array([[[1.0], [3.0], [1.0], [3.0], [np.nan], [2.0], [2.0], [2.0], [2.0]]], np.float32)
        windows = WindowIndex.from_arrays(np.array([0, 0]), np.array([0, 5]))
        probs = raw_scale_probabilities(values, windows, 4, [0], [0.1], cap=100.0)
        # window 0: std 1; window 1: constant, at the 0.1 floor
        self.assertAlmostEqual(float(probs[0] / probs[1]), 10.0, places=5)
