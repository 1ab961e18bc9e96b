import dataclasses
import json
import os
import tempfile
import unittest

from fleetcast_trainer.errors import DatasetError
from fleetcast_trainer.profiles import OPTIONAL_KEYS, Profile, get_profile, load_profiles

BENCH_VARIANTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "bench", "trainer-variants.json")


class ProfileFileTest(unittest.TestCase):
    def write(self, tmp, **changes):
        doc = load_profiles()
        doc["profiles"]["default"].update(changes)
        path = os.path.join(tmp, "profiles.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        return path

    def test_shipped_profiles_load_with_their_seasonal_settings(self):
        _, default = get_profile("default")
        self.assertIsInstance(default, Profile)
        self.assertEqual(default.encoder_steps, 48)
        self.assertEqual(default.lookback_steps, 96)
        # chosen on the real Bitbrains fleet (docs/trainer.md, "Real data")
        self.assertEqual((default.seasonal_baseline, default.gate_mismatch, default.normalization_scale,
                          default.loss_weighting, default.decoder_window_stats),
                         ("gated", "timing", "step", "raw_scale", True))
        self.assertGreaterEqual(default.max_train_seconds, 3600)  # a guard, not the budget
        _, smoke = get_profile("smoke")
        self.assertEqual(smoke.seasonal_baseline, "mean3")

    @unittest.skipUnless(os.path.exists(BENCH_VARIANTS), "needs bench/trainer-variants.json")
    def test_benchmark_variants_load(self):
        for name in load_profiles(BENCH_VARIANTS)["profiles"]:
            get_profile(name, BENCH_VARIANTS)

    def test_optional_keys_default_and_are_checked(self):
        with tempfile.TemporaryDirectory() as tmp:
            doc = load_profiles()
            for key in OPTIONAL_KEYS:
                doc["profiles"]["default"].pop(key, None)
            path = os.path.join(tmp, "profiles.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            _, profile = get_profile("default", path)
            self.assertEqual({k: getattr(profile, k) for k in OPTIONAL_KEYS}, OPTIONAL_KEYS)
            for bad, message in (({"seasonal_baseline": "mean"}, "seasonal_baseline must be one of"),
                                 ({"decoder_seasonal_lags": 1}, "must be true or false"),
                                 ({"encoder_steps": -1}, "non-negative integer"),
                                 ({"lr_decay_patience": True}, "non-negative integer"),
                                 ({"loss_weighting": "raw"}, "loss_weighting must be one of"),
                                 ({"ema_decay": 1.0}, r"ema_decay must be a number in \[0, 1\)"),
                                 ({"loss_weight_cap": -1}, "loss_weight_cap must be a non-negative number"),
                                 ({"decoder_window_stats": "yes"}, "must be true or false"),
                                 ({"window_sampling": "busy"}, "window_sampling must be one of"),
                                 ({"gate_mismatch": "shape"}, "gate_mismatch must be one of height, timing")):
                with self.assertRaisesRegex(DatasetError, message):
                    get_profile("default", self.write(tmp, **bad))

    def test_unknown_key_names_the_key_and_the_profile(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = self.write(tmp, hiden_size=16)
            with self.assertRaisesRegex(DatasetError, "profile default: unknown key 'hiden_size'") as caught:
                get_profile("default", path)
            self.assertIn(path, str(caught.exception))

    def test_missing_key_is_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            doc = load_profiles()
            del doc["profiles"]["smoke"]["batch_size"]
            path = os.path.join(tmp, "profiles.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            with self.assertRaisesRegex(DatasetError, "profile smoke: missing key 'batch_size'"):
                get_profile("smoke", path)

    def test_wrong_types_and_ranges_are_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            for bad, message in (({"hidden_size": "16"}, "hidden_size must be a positive integer"),
                                 ({"batch_size": 12.5}, "batch_size must be a positive integer"),
                                 ({"max_epochs": True}, "max_epochs must be a positive integer"),
                                 ({"max_epochs": 0}, "max_epochs must be a positive integer"),
                                 ({"learning_rate": "fast"}, "learning_rate must be a non-negative number"),
                                 ({"dropout": -0.1}, "dropout must be a non-negative number"),
                                 ({"lookback_steps": 24}, "lookback must cover one day"),
                                 ({"horizon_steps": 49}, "horizon must not exceed one day")):
                with self.assertRaisesRegex(DatasetError, f"profile default: {message}"):
                    get_profile("default", self.write(tmp, **bad))

    def test_integral_numbers_are_accepted_for_float_keys(self):
        with tempfile.TemporaryDirectory() as tmp:
            _, profile = get_profile("default", self.write(tmp, gradient_clip_norm=1))
            self.assertEqual(profile.gradient_clip_norm, 1)


class ProfileObjectTest(unittest.TestCase):
    def test_is_frozen_and_replace_validates(self):
        _, smoke = get_profile("smoke")
        with self.assertRaises(dataclasses.FrozenInstanceError):
            smoke.max_epochs = 9
        self.assertEqual(dataclasses.replace(smoke, max_epochs=9).max_epochs, 9)
        with self.assertRaisesRegex(DatasetError, "max_epochs must be a positive integer"):
            dataclasses.replace(smoke, max_epochs=-1)

    def test_as_dict_round_trips_with_every_key(self):
        _, default = get_profile("default")
        values = default.as_dict()
        self.assertEqual(set(values), {f.name for f in dataclasses.fields(Profile)})
        self.assertEqual(Profile.from_dict(values), default)

    def test_a_non_object_is_rejected(self):
        with self.assertRaisesRegex(DatasetError, "profile x must be an object"):
            Profile.from_dict([1, 2], "profile x")


if __name__ == "__main__":
    unittest.main()
