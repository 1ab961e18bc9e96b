"""The time guard (max_train_seconds) and the held-out forecasts used by fleetcast_trainer.compare."""

import io
import json
import os
import unittest
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

import numpy as np
import torch

from fleetcast_trainer.convergence import decide_convergence
from fleetcast_trainer.ddp import DistContext
from fleetcast_trainer.fit import BestEpoch, stop_reason, warn_time_budget
from fleetcast_trainer.profiles import get_profile
from tests.helpers import TempDir, make_dataset, run_module, smoke_profile_with

EPOCHS = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.0 / e} for e in range(1, 4)]


class TimeGuardTest(unittest.TestCase):
    def setUp(self):
        _, profile = get_profile("smoke")
        self.profile = profile
        self.setup = SimpleNamespace(profile=profile, ctx=DistContext(), device=torch.device("cpu"))

    def test_a_run_cut_by_the_guard_is_never_converged(self):
        good = decide_convergence(EPOCHS, 2.0, "early_stopping", self.profile)
        self.assertTrue(good.converged)
        cut = decide_convergence(EPOCHS, 2.0, "time_budget", self.profile)
        self.assertFalse(cut.converged)
        self.assertEqual(cut.details["stopped_by"], "time_budget")
        self.assertIn("time guard", cut.details["criterion"])

    def test_the_guard_fires_only_when_another_epoch_would_overrun(self):
        budget = self.profile.max_train_seconds
        best = BestEpoch()
        self.assertIsNone(stop_reason(self.setup, 1.0, 1.0, best, 1, budget * 0.4))
        self.assertEqual(stop_reason(self.setup, 1.0, 1.0, best, 1, budget * 0.6), "time_budget")
        # the last planned epoch ends the run by max_epochs, not by the guard
        self.assertIsNone(stop_reason(self.setup, 1.0, 1.0, best, self.profile.max_epochs, budget * 2))

    def test_the_warning_names_the_epoch_reached_and_planned(self):
        err, out = io.StringIO(), io.StringIO()
        with redirect_stderr(err), redirect_stdout(out):
            warn_time_budget(self.setup, 2, 50.0)
        self.assertIn("WARNING", err.getvalue())
        self.assertIn(f"after epoch 2 of {self.profile.max_epochs} planned", err.getvalue())
        event = json.loads(out.getvalue())
        self.assertEqual((event["event"], event["reason"], event["epoch"]), ("warning", "time_budget", 2))


class GuardAndHeldOutCliTest(unittest.TestCase):
    def test_cli_guard_event_report_and_heldout_forecasts(self):
        with TempDir() as tmp:
            data, out = os.path.join(tmp, "data"), os.path.join(tmp, "out")
            make_dataset(data, servers=4, days=4, resolution=1800, holdout_every=2)
            # a 1-second guard and epochs of 64 steps (several seconds on CPU): the guard trips after epoch 1
            doc, _ = get_profile("smoke")
            smoke = smoke_profile_with(max_train_seconds=1, windows_per_epoch=2048).as_dict()
            profiles = os.path.join(tmp, "profiles.json")
            with open(profiles, "w") as fh:
                json.dump({**doc, "profiles": {"smoke": smoke}}, fh)
            run = run_module(["-m", "fleetcast_trainer.train", "--dataset", data, "--out", out, "--profile", "smoke",
                              "--profiles", profiles, "--threads", "1", "--heldout-forecasts"])
            self.assertEqual(run.returncode, 0, run.stderr)
            events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
            self.assertEqual([e["event"] for e in events], ["start", "epoch", "warning", "done"])
            self.assertEqual(events[-1]["stopped_by"], "time_budget")
            self.assertFalse(events[-1]["converged"])
            self.assertIn("WARNING: training stopped by the time guard", run.stderr)
            with open(os.path.join(out, "train_report.json")) as fh:
                report = json.load(fh)
            self.assertFalse(report["converged"])
            self.assertEqual(report["convergence"]["stopped_by"], "time_budget")
            with open(os.path.join(out, "heldout_forecasts.json")) as fh:
                doc = json.load(fh)
            shape = doc["shape"]
            self.assertEqual(shape[0], 4)
            self.assertEqual(shape[2:], [12, 3, 3])
            self.assertEqual(doc["origins"][0], report["dataset"]["train_end_step"])
            for name in ("heldout_tft", "heldout_tft_unknown"):
                values = np.fromfile(os.path.join(out, doc["files"][name]["file"]), dtype="<f4").reshape(shape)
                self.assertTrue(np.isfinite(values).all())
                self.assertTrue((np.diff(values, axis=-1) >= 0).all())
            score = run_module(["-m", "fleetcast_trainer.compare", "--dataset", data, "--tft", f"tft={out}",
                                "--unknown"])
            self.assertEqual(score.returncode, 0, score.stderr)
            self.assertIn("tft/unknown", score.stdout)


if __name__ == "__main__":
    unittest.main()
