import unittest

import numpy as np
import torch

from fleetcast_trainer.metric_set import contract_doc
from fleetcast_trainer.features import step_times, time_features
from fleetcast_trainer.layers import MASK_BIAS, causal_mask_bias
from fleetcast_trainer.model import GATE_STEEPNESS, GATE_THRESHOLD, SeasonalResidualTFT
from fleetcast_trainer.model_factory import build_model
from fleetcast_trainer.profiles import load_profiles
from tests.helpers import smoke_profile_with

FEATURES = ["cpu_pct", "mem_pct", "disk_io_mbps", "net_in_mbps", "net_out_mbps", "latency_ms", "error_rate"]
L, H = 24, 6


def plain_model(seed=0, dropout=0.0, **overrides):
    """A plain TFT: no seasonal residual or lags, the whole 24-step window in the encoder."""
    torch.manual_seed(seed)
    profile = smoke_profile_with(resolution_seconds=3600, lookback_steps=L, horizon_steps=H, hidden_size=8,
                                 attention_heads=2, dropout=dropout, seasonal_residual=False,
                                 decoder_seasonal_lags=False, encoder_steps=0, **overrides)
    return build_model(contract_doc(load_profiles()), profile, FEATURES, 5, 3).eval()


def make_inputs(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    past = rng.lognormal(np.log(30), 0.3, (batch, L, len(FEATURES))).astype(np.float32)
    known = time_features(step_times(1793059200, 900, L + H))
    return [
        torch.tensor(rng.integers(0, 5, batch), dtype=torch.int32),
        torch.tensor(rng.integers(0, 3, batch), dtype=torch.int32),
        torch.from_numpy(past),
        torch.from_numpy(np.repeat(known[None, :L], batch, 0)),
        torch.from_numpy(np.repeat(known[None, L:], batch, 0)),
    ]


class ShapeTest(unittest.TestCase):
    def test_output_shape_and_finite(self):
        model = plain_model()
        for batch in (1, 4):
            out = model(*make_inputs(batch))
            self.assertEqual(tuple(out.shape), (batch, H, 3, 3))
            self.assertTrue(torch.isfinite(out).all())

    def test_has_every_tft_component(self):
        model = plain_model()
        names = {type(m).__name__ for m in model.modules()}
        for part in ("GRN", "GLU", "GateAddNorm", "VariableSelection", "VariableGRNs",
                     "InterpretableMultiHeadAttention", "LSTM", "Embedding"):
            self.assertIn(part, names)
        attention = model.core.attention
        self.assertEqual(attention.v.out_features, attention.d_head)  # V shared by heads


class CausalMaskTest(unittest.TestCase):
    def test_mask_values(self):
        bias = causal_mask_bias(3, 2)
        self.assertEqual(tuple(bias.shape), (2, 5))
        np.testing.assert_array_equal(bias[0].numpy() == 0, [True, True, True, True, False])
        np.testing.assert_array_equal(bias[1].numpy() == 0, [True] * 5)
        self.assertEqual(float(bias[0, 4]), MASK_BIAS)

    def test_future_inputs_do_not_leak_backwards(self):
        model = plain_model()
        inputs = make_inputs(2)
        base = model(*inputs)
        changed = [x.clone() for x in inputs]
        changed[4][:, 4:] += 5.0  # perturb known inputs from decoder step 4 on
        out = model(*changed)
        self.assertTrue(torch.allclose(out[:, :4], base[:, :4], atol=1e-6))
        self.assertFalse(torch.allclose(out[:, 4:], base[:, 4:], atol=1e-4))

    def test_broken_mask_would_leak(self):
        # the previous test can fail: with the mask removed, step 0 sees step 4
        model = plain_model()
        model.core.mask_bias.zero_()
        inputs = make_inputs(2)
        base = model(*inputs)
        changed = [x.clone() for x in inputs]
        changed[4][:, 4:] += 5.0
        self.assertFalse(torch.allclose(model(*changed)[:, :4], base[:, :4], atol=1e-6))

    def test_attention_weights_on_future_are_zero(self):
        model = plain_model()
        attn = model.forward_normalized(*make_inputs(2)).tft.attention
        for i in range(H):
            self.assertLess(float(attn[:, i, L + i + 1:].abs().sum()), 1e-12)
            self.assertAlmostEqual(float(attn[0, i].sum()), 1.0, places=5)


class NormalizationTest(unittest.TestCase):
    def test_stats_come_from_the_encoder_window(self):
        model = plain_model()
        inputs = make_inputs(2)
        xt, mean, scale = model.window_stats(inputs[2])
        past = inputs[2].numpy().astype(np.float64)
        log_cols = [FEATURES.index(f) for f in ("disk_io_mbps", "net_in_mbps", "net_out_mbps", "latency_ms",
                                                 "error_rate")]
        expected = past.copy()
        expected[:, :, log_cols] = np.log1p(past[:, :, log_cols])
        np.testing.assert_allclose(mean[:, 0].numpy(), expected.mean(axis=1), rtol=1e-5)
        floors = model.std_floor.numpy()
        np.testing.assert_allclose(scale[:, 0].numpy(), np.maximum(expected.std(axis=1), floors), rtol=1e-4)

    def test_normalization_steps_take_the_stats_from_the_newest_steps_only(self):
        model = plain_model(normalization_steps=6)
        past = make_inputs(2)[2]
        xt, mean, scale = model.window_stats(past)
        newest = past[:, -6:, 0].numpy().astype(np.float64)
        np.testing.assert_allclose(mean[:, 0, 0].numpy(), newest.mean(axis=1), rtol=1e-5)
        np.testing.assert_allclose(scale[:, 0, 0].numpy(),
                                   np.maximum(newest.std(axis=1), float(model.std_floor[0])), rtol=1e-4)
        self.assertEqual(tuple(xt.shape), tuple(past.shape))  # the whole window is still normalized
        # older steps change nothing but their own normalized values
        older = past.clone()
        older[:, :-6, 0] += 40.0
        torch.testing.assert_close(model.window_stats(older)[1], mean)

    def test_normalization_center_steps_centre_on_the_newest_steps_and_keep_the_window_scale(self):
        model = plain_model(normalization_center_steps=4)
        past = make_inputs(2)[2]
        past[:, -4:, 0] += 50.0  # a level switch in the newest four steps
        _, mean, scale = model.window_stats(past)
        window = past[:, :, 0].numpy().astype(np.float64)
        np.testing.assert_allclose(mean[:, 0, 0].numpy(), window[:, -4:].mean(axis=1), rtol=1e-5)
        np.testing.assert_allclose(scale[:, 0, 0].numpy(), np.maximum(window.std(axis=1), 1.0), rtol=1e-4)
        # the centre is the new level: the newest values normalize to about 0, the old level to below it
        obs_n = (past[:, :, 0] - mean[:, :, 0]) / scale[:, :, 0]
        self.assertLess(float(obs_n[:, -4:].abs().mean()), 0.5)
        self.assertLess(float(obs_n[:, :-4].mean()), -1.0)


    def test_step_scale_is_the_spread_of_one_step_changes_and_min_the_smaller_scale(self):
        model = plain_model(normalization_scale="step")
        past = make_inputs(2)[2]
        past[:, :, 0] = 20.0
        past[:, L // 2:, 0] = 60.0  # one level switch: a large std, one large step
        past[:, :, 1] = torch.arange(L, dtype=torch.float32) % 2 * 10.0  # alternating: std 5
        _, mean, scale = model.window_stats(past)
        self.assertAlmostEqual(float(scale[0, 0, 0]), (40.0 ** 2 / (L - 1) / 2) ** 0.5, places=3)
        self.assertLess(float(scale[0, 0, 0]), 20.0 / 2)  # the std scale would be 20
        self.assertAlmostEqual(float(scale[0, 0, 1]), (100.0 / 2) ** 0.5, places=3)  # every step 10
        np.testing.assert_allclose(mean[:, 0, 0].numpy(), 40.0, rtol=1e-6)  # the centre is still the mean
        # "min": the smaller of the two, so the alternating series keeps its std of 5
        _, _, smaller = plain_model(normalization_scale="min").window_stats(past)
        self.assertAlmostEqual(float(smaller[0, 0, 0]), float(scale[0, 0, 0]), places=4)
        self.assertAlmostEqual(float(smaller[0, 0, 1]), 5.0, places=3)
        with self.assertRaises(Exception):
            plain_model(normalization_scale="mad")
    def test_shifting_a_linear_metric_shifts_its_forecast(self):
        # normalization inside forward(): adding 10 to cpu_pct in the window moves the cpu
        # forecast by exactly 10 and leaves the others alone
        model = plain_model()
        inputs = make_inputs(2)
        base = model(*inputs)
        shifted = [x.clone() for x in inputs]
        shifted[2][:, :, 0] += 10.0
        out = model(*shifted)
        torch.testing.assert_close(out[:, :, 0], base[:, :, 0] + 10.0, atol=1e-3, rtol=0)
        torch.testing.assert_close(out[:, :, 1:], base[:, :, 1:], atol=1e-4, rtol=1e-5)

    def test_scaling_a_log_metric_scales_its_forecast_around_one(self):
        model = plain_model()
        inputs = make_inputs(2)
        base = model(*inputs)
        scaled = [x.clone() for x in inputs]
        lat = FEATURES.index("latency_ms")
        scaled[2][:, :, lat] = (scaled[2][:, :, lat] + 1.0) * 3.0 - 1.0  # x3 in log1p space
        out = model(*scaled)
        torch.testing.assert_close(out[:, :, 2] + 1.0, (base[:, :, 2] + 1.0) * 3.0, rtol=1e-3, atol=1e-3)

    def test_constant_window_uses_the_std_floor(self):
        model = plain_model()
        inputs = make_inputs(1)
        inputs[2][:] = 50.0
        out = model(*inputs)
        self.assertTrue(torch.isfinite(out).all())


class UnknownIndexTest(unittest.TestCase):
    def test_holdout_rows_forecast_like_row_zero(self):
        model = plain_model()
        inputs = make_inputs(2)
        inputs[0][:] = 0
        unknown = model(*inputs)
        inputs[0][:] = 3
        self.assertFalse(torch.allclose(model(*inputs), unknown))
        model.copy_unknown_row([3])
        torch.testing.assert_close(model(*inputs), unknown, rtol=0, atol=0)
        inputs[0][:] = 2
        self.assertFalse(torch.allclose(model(*inputs), unknown))

    def test_index_zero_is_a_real_row(self):
        model = plain_model()
        inputs = make_inputs(2)
        inputs[0][:] = 0
        self.assertTrue(torch.isfinite(model(*inputs)).all())


def seasonal_model(baseline, lookback=8, encoder_steps=None, lag_days=2, window_stats=False, **options):
    """Season of 4 steps, horizon 2: small enough to check every lag by hand."""
    torch.manual_seed(0)
    return SeasonalResidualTFT(
        num_servers=3, num_profiles=2, n_observed=2, n_known=4, target_idx=[0], log1p_mask=[0, 0],
        std_floor=[1e-6, 1e-6], lookback=lookback, horizon=2, quantiles=[0.1, 0.5, 0.9], hidden=8, heads=2,
        dropout=0.0, season_steps=4, seasonal_baseline=baseline, decoder_seasonal_lags=True,
        seasonal_lag_days=lag_days, encoder_steps=encoder_steps, decoder_window_stats=window_stats, **options,
    ).eval()


class SeasonalLagTest(unittest.TestCase):
    def test_lags_are_the_same_hours_on_earlier_days_with_neighbours(self):
        model = seasonal_model("naive")
        obs = torch.arange(8, dtype=torch.float32).reshape(1, 8, 1).repeat(1, 1, 1)
        lags = model.seasonal_lags(obs)  # [B, H, days, 3, T]
        self.assertEqual(tuple(lags.shape), (1, 2, 2, 3, 1))
        # horizon step h is position 8 + h; one day back is 4 + h, two days back h (edges repeat)
        self.assertEqual(lags[0, 0, 0, :, 0].tolist(), [3, 4, 5])
        self.assertEqual(lags[0, 1, 0, :, 0].tolist(), [4, 5, 6])
        self.assertEqual(lags[0, 0, 1, :, 0].tolist(), [0, 0, 1])
        self.assertEqual(model.decoder_lags, 6)

    def test_baselines(self):
        lags = torch.tensor([[3.0, 4.0, 50.0], [1.0, 2.0, 3.0]]).reshape(1, 1, 2, 3, 1)
        self.assertEqual(float(seasonal_model("naive").seasonal_base(lags)), 4.0)
        self.assertAlmostEqual(float(seasonal_model("mean3").seasonal_base(lags)), 19.0)
        # median of 1, 2, 3, 3, 4, 50: the spike does not move it
        self.assertEqual(float(seasonal_model("median").seasonal_base(lags)), 3.0)
        # persistence: the newest value of the window at every horizon step, whatever the lags say
        obs = torch.arange(16, dtype=torch.float32).reshape(1, 8, 2)
        last = seasonal_model("last").seasonal_base(lags, obs)
        self.assertEqual(last[0, :, 0].tolist(), [14.0, 14.0])

    def test_gated_baseline_follows_yesterday_only_while_the_days_repeat(self):
        model = seasonal_model("gated")  # season 4, lookback 8: two days
        day = [0.0, 0.0, 5.0, 0.0]  # a daily spike at the third step
        repeating = torch.tensor(day + day).reshape(1, 8, 1).repeat(1, 1, 2)
        lags = model.seasonal_lags(repeating)
        base = model.seasonal_base(lags, repeating)[0, :, 0]
        # horizon steps 0 and 1 are hours 0 and 1 of the next day: yesterday 0 and 0, the newest value 0
        torch.testing.assert_close(base, torch.tensor([0.0, 0.0]), atol=1e-3, rtol=0)
        # the newest value is a spike today that was not there yesterday: persistence, not the pattern
        broken = repeating.clone()
        broken[0, 7, 0] = 9.0
        lags = model.seasonal_lags(broken)
        torch.testing.assert_close(model.seasonal_base(lags, broken)[0, :, 0], torch.tensor([9.0, 9.0]),
                                   atol=1e-3, rtol=0)
        # the spike hour one step ahead: shifted so the spike falls on horizon step 1
        shifted = torch.tensor(day[1:] + day + day[:1]).reshape(1, 8, 1).repeat(1, 1, 2)
        lags = model.seasonal_lags(shifted)
        open_gate = float(torch.sigmoid(torch.tensor(GATE_STEEPNESS * GATE_THRESHOLD)))  # at zero mismatch
        torch.testing.assert_close(model.seasonal_base(lags, shifted)[0, :, 0], torch.tensor([0.0, 5.0 * open_gate]),
                                   atol=1e-3, rtol=0)
        with self.assertRaisesRegex(ValueError, "two days"):
            seasonal_model("gated", lag_days=1)

    def test_gated_anchor_measures_its_mismatch_in_window_stds_whatever_the_scale(self):
        day = [0.0, 1.0, 2.0, 3.0]
        noisy = torch.tensor(day + [v + 0.3 for v in day]).reshape(1, 8, 1).repeat(1, 1, 2)

        def raw_base(model):
            xt, mean, scale, std_units = model.normalization(noisy)
            obs_n = (xt - mean) / scale
            base = model.seasonal_base(model.seasonal_lags(obs_n), obs_n, std_units)
            return base[0, :, 0] * scale[0, 0, 0] + mean[0, 0, 0]

        by_std = raw_base(seasonal_model("gated"))
        by_step = seasonal_model("gated", normalization_scale="step")
        self.assertIsNotNone(by_step.normalization(noisy).std_units)
        # the same gate on the same raw window: the same raw anchor, though the scales differ
        torch.testing.assert_close(raw_base(by_step), by_std, atol=1e-4, rtol=0)

    def test_timing_gate_follows_a_daily_spike_of_varying_height_but_not_a_new_level(self):
        def raw_base(model, window):
            series = torch.tensor(window).reshape(1, 8, 1).repeat(1, 1, 2)
            xt, mean, scale, std_units = model.normalization(series)
            obs_n = (xt - mean) / scale
            base = model.seasonal_base(model.seasonal_lags(obs_n), obs_n, std_units)
            return base[0, :, 0] * scale[0, 0, 0] + mean[0, 0, 0]

        spike = [0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 6.5]  # the newest step is today's spike, higher than yesterday's
        switch = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]  # a new level yesterday never had
        by_height = seasonal_model("gated", normalization_scale="step")
        by_timing = seasonal_model("gated", normalization_scale="step", gate_mismatch="timing")
        self.assertTrue(bool((raw_base(by_height, spike) > 5.0).all()))  # persistence: the spike goes on
        self.assertTrue(bool((raw_base(by_timing, spike) < 2.0).all()))  # yesterday: back to 0 after it
        self.assertTrue(bool((raw_base(by_timing, switch) > 4.0).all()))
        with self.assertRaisesRegex(ValueError, "gate_mismatch"):
            seasonal_model("gated", gate_mismatch="shape")

    def test_last_baseline_forecasts_a_constant_window_exactly(self):
        model = seasonal_model("last")
        with torch.no_grad():
            for p in model.core.head.parameters():
                p.zero_()  # the core's correction is 0: the forecast is the baseline
            ids = torch.zeros(2, dtype=torch.long)
            past = torch.cat([torch.rand(2, 7, 2), torch.full((2, 1, 2), 7.5)], dim=1)
            out = model(ids, ids, past, torch.rand(2, 8, 4), torch.rand(2, 2, 4))
        torch.testing.assert_close(out[:, :, 0], torch.full((2, 2, 3), 7.5))

    def test_window_stats_are_decoder_variables_that_see_the_level(self):
        model = seasonal_model("last", window_stats=True)
        self.assertEqual(model.window_stats_inputs, 2)  # one target: level and log scale
        ids = torch.zeros(2, dtype=torch.long)
        past, known, future = torch.rand(2, 8, 2), torch.rand(2, 8, 4), torch.rand(2, 2, 4)
        with torch.no_grad():
            out = model.forward_normalized(ids, ids, past, known, future)
            shifted = model.forward_normalized(ids, ids, past + torch.tensor([50.0, 0.0]), known, future)
        self.assertEqual(out.tft.decoder_weights.shape[-1], 4 + model.decoder_lags + 2)
        # without the statistics a shifted window gives the same normalized forecast; with them it does not
        self.assertFalse(torch.allclose(out.tft.quantiles, shifted.tft.quantiles))

    def test_encoder_steps_limit_the_attention_window(self):
        model = seasonal_model("median", lookback=8, encoder_steps=4)
        self.assertEqual(tuple(model.core.mask_bias.shape), (2, 6))
        past = torch.rand(3, 8, 2) * 10
        known = torch.rand(3, 8, 4)
        future = torch.rand(3, 2, 4)
        ids = torch.zeros(3, dtype=torch.long)
        out = model.forward_normalized(ids, ids, past, known, future)
        self.assertEqual(tuple(out.tft.attention.shape), (3, 2, 6))
        self.assertTrue(torch.isfinite(out.quantiles).all())

    def test_unknown_baseline_is_rejected(self):
        with self.assertRaises(ValueError):
            seasonal_model("mean")


if __name__ == "__main__":
    unittest.main()


class BoundsTest(unittest.TestCase):
    """Forecasts stay in each target's physical range and quantiles never cross (metric_set bounds)."""

    def test_outputs_stay_in_range_and_in_order_even_for_extreme_inputs(self):
        model = plain_model(seed=3)
        with torch.no_grad():
            inputs = make_inputs(batch=8, seed=1)
            inputs[2] = inputs[2] * 40.0  # cpu around 1200 %: the raw head would forecast far above 100
            inputs[2][:4] = -inputs[2][:4]  # and far below 0
            out = model(*inputs).numpy()
        cpu, mem = out[:, :, 0], out[:, :, 1]
        for values in (cpu, mem):
            self.assertGreaterEqual(values.min(), 0.0)
            self.assertLessEqual(values.max(), 100.0)
        self.assertTrue((np.diff(out, axis=-1) >= 0).all(), "quantiles crossed")

    def test_bounded_clips_then_orders(self):
        model = plain_model()
        raw = torch.tensor([[[[-5.0, 120.0, 50.0], [3.0, 2.0, 1.0], [1e9, -1.0, 7.0]]]])
        out = model.bounded(raw).numpy()[0, 0]
        np.testing.assert_allclose(out[0], [0.0, 100.0, 100.0])  # cpu 0..100, P90 raised to P50
        np.testing.assert_allclose(out[1], [3.0, 3.0, 3.0])  # mem: crossing quantiles made equal
        np.testing.assert_allclose(out[2], [600000.0, 600000.0, 600000.0])  # latency_ms ceiling
