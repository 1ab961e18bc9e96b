"""The exported forecaster: raw inputs in, raw quantiles out, around an unmodified TFT core (tft.py).

forward() takes raw inputs exactly as the exported ONNX model does (docs/MODEL_FORMAT.md) and
returns de-normalized quantiles; forward_normalized() is what training uses.
"""

from typing import NamedTuple, Optional

import torch
from torch import nn

from .tft import TemporalFusionTransformer, TFTOutput

SEASONAL_BASELINES = ("naive", "mean3", "median", "last", "gated")
NORMALIZATION_SCALES = ("std", "step", "min")
GATE_MISMATCHES = ("height", "timing")
EXP_CLAMP = 80.0  # exp(80) is still a finite float32


class WindowStats(NamedTuple):
    xt: torch.Tensor
    mean: torch.Tensor
    scale: torch.Tensor
    std_units: Optional[torch.Tensor]


class NormalizedForecast(NamedTuple):
    quantiles: torch.Tensor  # [B, H, n_targets, n_q] in the encoder window's normalized units
    mean: torch.Tensor  # [B, 1, n_observed] window statistics (after log1p where configured)
    scale: torch.Tensor  # [B, 1, n_observed]
    tft: TFTOutput  # the core's output: its quantiles (the correction) and its weights


BIG = 3.0e38  # float32 max is 3.4e38
# The gated baseline's starting point: open below 0.3 window stds of mismatch, closing over ~0.2.
GATE_THRESHOLD = 0.3
GATE_STEEPNESS = 10.0


class SeasonalResidualTFT(nn.Module):
    """Wraps the TFT core with what the fleet forecast adds to the paper's model:

    - normalization inside the graph, from the encoder window only (log1p for heavy-tailed metrics,
      then standardization with a per-feature std floor), so a never-seen server is scaled correctly;
    - an encoder window (encoder_steps) of the newest steps for the core's LSTM and attention;
    - seasonal lags: yesterday's (and earlier days') three steps around each horizon step, per target,
      as extra decoder inputs (decoder_seasonal_lags);
    - the seasonal residual: the core's quantiles are a correction added to a seasonal baseline.
    """

    def __init__(self, *, num_servers, num_profiles, n_observed, n_known, target_idx, log1p_mask, std_floor,
                 lookback, horizon, quantiles, hidden, heads, dropout, season_steps=None,
                 seasonal_baseline="naive", decoder_seasonal_lags=False, seasonal_lag_days=1, encoder_steps=None,
                 target_bounds=None, decoder_window_stats=False, normalization_steps=None,
                 normalization_center_steps=None, normalization_scale="std", gate_mismatch="height"):
        super().__init__()
        self.lookback = lookback
        # The steps whose mean and std normalize the window: the newest normalization_steps (all by
        # default). A VM that sat idle two days ago has a two-day std of half its level; the gbm peer
        # scales by the last day's std instead (on the real trace a mixed result: docs/trainer.md).
        self.normalization_steps = min(normalization_steps or lookback, lookback)
        # The centre can come from fewer, newer steps than the scale: after a level switch the window
        # mean sits between the two levels and a forecast centred there leans back towards the old
        # one; centred on the newest hours it leans towards where the series is now.
        self.normalization_center_steps = min(normalization_center_steps or self.normalization_steps,
                                              self.normalization_steps)
        # "std": the spread of the window around its mean; "step": the spread of its one-step changes
        # (over sqrt 2, so white noise gets the same scale either way), the scale of a persistence
        # error. A VM whose memory switches between two levels has a large std and small steps: in
        # std units its forecast's corrections and quantile widths are coarse. "min": the smaller of
        # the two, so a series that alternates step by step (large steps, small spread) keeps its std.
        if normalization_scale not in NORMALIZATION_SCALES:
            raise ValueError(f"normalization_scale must be one of {NORMALIZATION_SCALES}")
        self.normalization_scale = normalization_scale
        # The LSTM and attention run over the newest encoder_steps of the window; older steps reach
        # the model only through normalization and the seasonal lags (the cost grows with this).
        self.encoder_steps = min(encoder_steps or lookback, lookback)
        self.horizon = horizon
        # Seasonal residual: when the encoder window holds one full season (a day), the head
        # predicts a correction to the seasonal-naive forecast y[t+h-m] (in the window's normalized
        # units) instead of the level itself, so the network starts from the strong daily baseline
        # and spends its capacity on what the baseline misses.
        self.season_offset = (
            lookback - season_steps if season_steps and horizon <= season_steps <= lookback else None
        )
        # Yesterday's value at one step is a single noisy sample (an incident yesterday becomes a
        # forecast spike today). "mean3" averages it with its two neighbours; "median" takes the
        # median of those three steps on every lag day, which also ignores one-off spikes. "last" is
        # the newest observed value (persistence): on real VMs, whose load moves in bursts that do not
        # repeat at the same hour, it is a much better anchor than yesterday (docs/trainer.md); the
        # decoder still sees yesterday's values through the seasonal lags.
        # "gated" is "last" unless the series is repeating its days: when yesterday's value at the
        # forecast hour matched the day before's, and the newest value matched yesterday's at the same
        # hour, the anchor moves to yesterday's value (a daily batch job's spike, a VM that idles at
        # night). A soft gate with a learned threshold and steepness per target, on the mismatch in
        # normalized units; on the real trace it beat persistence on both tuning windows (docs/trainer.md).
        if seasonal_baseline not in SEASONAL_BASELINES:
            raise ValueError(f"seasonal_baseline must be one of {', '.join(SEASONAL_BASELINES)}")
        self.seasonal_baseline = seasonal_baseline
        if seasonal_baseline == "gated":
            if not (season_steps and 2 * season_steps <= lookback and seasonal_lag_days >= 2):
                raise ValueError("seasonal_baseline gated needs a lookback of two days and seasonal_lag_days >= 2")
            # "timing": each mismatch is divided by 1 + the larger of the two values' own one-step
            # changes, so a daily one-step spike whose height varies from day to day (57 one day, 66
            # the next: 0.9 window stds apart, the gate shut) still counts as repeating; a level switch
            # today that yesterday did not have keeps a mismatch near its height over its step (~1).
            if gate_mismatch not in GATE_MISMATCHES:
                raise ValueError(f"gate_mismatch must be one of {GATE_MISMATCHES}")
            self.gate_mismatch = gate_mismatch
            self.gate_threshold = nn.Parameter(torch.full((len(target_idx),), GATE_THRESHOLD))
            self.gate_steepness = nn.Parameter(torch.full((len(target_idx),), GATE_STEEPNESS))
        # The decoder sees yesterday's neighbourhood (3 steps per target) as known-future inputs, so
        # it can learn which part of yesterday repeats: these values are observed before the origin.
        # With a longer lookback it also sees the same hours 2..seasonal_lag_days days back.
        self.lag_offsets = (
            [lookback - k * season_steps for k in range(1, seasonal_lag_days + 1) if k * season_steps <= lookback]
            if self.season_offset is not None else []
        )
        self.decoder_lags = 3 * len(target_idx) * len(self.lag_offsets) if decoder_seasonal_lags else 0
        # Normalization hides each window's level and spread from the network; on a fleet where an
        # idle VM (under 1 % CPU, scaled by the std floor) and a busy one behave differently it needs
        # them. decoder_window_stats gives the decoder, per target, a signed log of the window mean and log(scale)
        # (pytorch-forecasting's add_target_scales, as known inputs: both are known at the origin).
        self.window_stats_inputs = 2 * len(target_idx) if decoder_window_stats else 0
        self.n_observed = n_observed
        self.n_known = n_known
        self.quantiles = list(quantiles)
        self.n_targets = len(target_idx)
        self.register_buffer("target_idx", torch.tensor(target_idx, dtype=torch.long))
        # float, not bool: gloo cannot broadcast bool buffers when DDP syncs module state
        self.register_buffer("log1p_mask", torch.tensor(log1p_mask, dtype=torch.float32))
        self.register_buffer("std_floor", torch.tensor(std_floor, dtype=torch.float32))
        # Each target's physical range (a utilisation is 0..100): forecasts never leave it. None or
        # a missing end is unbounded; float32's largest value stands for +/-inf in the graph.
        lo, hi = zip(*(target_bounds or [(None, None)] * len(target_idx)))
        self.register_buffer("target_min", torch.tensor([-BIG if v is None else v for v in lo], dtype=torch.float32))
        self.register_buffer("target_max", torch.tensor([BIG if v is None else v for v in hi], dtype=torch.float32))
        self.core = TemporalFusionTransformer(
            num_servers=num_servers, num_profiles=num_profiles, n_encoder_vars=n_observed + n_known,
            n_decoder_vars=n_known + self.decoder_lags + self.window_stats_inputs, encoder_steps=self.encoder_steps, horizon=horizon,
            n_targets=self.n_targets, n_quantiles=len(self.quantiles), hidden=hidden, heads=heads, dropout=dropout,
        )

    # --- normalization (from the encoder window only) ---
    def transform(self, x):
        logged = torch.log(1.0 + torch.clamp(x, min=0.0))
        return torch.where(self.log1p_mask > 0.5, logged, x)

    def window_stats(self, past_observed):
        """(xt, mean, scale): the transformed window and the statistics that normalize it."""
        return self.normalization(past_observed)[:3]

    def normalization(self, past_observed):
        """WindowStats of the raw window [B, L, F]: transformed values, centre and scale [B, 1, F], and,
        when the scale is not the std, std_units [B, 1, T]: one unit of scale in floored window stds per
        target. The gated anchor's threshold is a mismatch in window stds: measured in step units a
        smooth daily cycle's noise alone exceeds it, the gate stays shut and its gradient vanishes."""
        xt = self.transform(past_observed)
        recent = xt[:, self.lookback - self.normalization_steps:]
        std = torch.sqrt(((recent - recent.mean(dim=1, keepdim=True)) ** 2).mean(dim=1, keepdim=True))
        mean = xt[:, self.lookback - self.normalization_center_steps:].mean(dim=1, keepdim=True)
        if self.normalization_scale == "std":
            return WindowStats(xt, mean, torch.maximum(std, self.std_floor), None)
        steps = recent[:, 1:] - recent[:, :-1]
        step_std = torch.sqrt((steps ** 2).mean(dim=1, keepdim=True) / 2.0)
        scale = torch.maximum(step_std if self.normalization_scale == "step" else torch.minimum(std, step_std),
                              self.std_floor)
        std_units = scale / torch.maximum(std, self.std_floor)
        return WindowStats(xt, mean, scale, std_units[:, :, self.target_idx])

    def normalize_target(self, target, mean, scale):
        """Raw targets [B, H, n_targets] -> normalized with the encoder window's statistics."""
        t_mask = self.log1p_mask[self.target_idx] > 0.5
        tt = torch.where(t_mask, torch.log(1.0 + torch.clamp(target, min=0.0)), target)
        return (tt - mean[:, :, self.target_idx]) / scale[:, :, self.target_idx]

    def denormalize(self, pred_n, mean, scale):
        """[B, H, n_targets, n_q] normalized -> raw units."""
        m = mean[:, :, self.target_idx].unsqueeze(-1)
        s = scale[:, :, self.target_idx].unsqueeze(-1)
        y = pred_n * s + m
        t_mask = (self.log1p_mask[self.target_idx] > 0.5).unsqueeze(-1)
        return torch.where(t_mask, torch.exp(torch.clamp(y, max=EXP_CLAMP)) - 1.0, y)

    # --- seasonal lags and baseline ---
    def seasonal_lags(self, obs_n):
        """Normalized targets 1..seasonal_lag_days days before each horizon step, each with its two
        neighbours: [B, H, days, 3, T].

        The window is padded by repeating its edge values, so any lookback >= one day works.
        """
        tgt = obs_n[:, :, self.target_idx]
        padded = torch.cat([tgt[:, :1], tgt, tgt[:, -1:]], dim=1)  # padded[i + 1] = tgt[i]
        h = self.horizon
        days = [torch.stack([padded[:, s + k:s + k + h] for k in range(3)], dim=2) for s in self.lag_offsets]
        return torch.stack(days, dim=2)

    def seasonal_base(self, lags, obs_n=None, std_units=None):
        """The forecast the head corrects, from the seasonal lags [B, H, days, 3, T] (or, for "last",
        the normalized window obs_n [B, L, F]) -> [B, H, T]. std_units [B, 1, T] (normalization()) puts the
        gated anchor's mismatch in window stds when the normalization scale is another one."""
        if self.seasonal_baseline == "last":
            last = obs_n[:, -1:, self.target_idx]  # [B, 1, T]
            return last.expand(last.shape[0], self.horizon, last.shape[2])
        if self.seasonal_baseline == "gated":
            last = obs_n[:, -1:, self.target_idx]  # [B, 1, T]
            yesterday, day_before = lags[:, :, 0, 1], lags[:, :, 1, 1]  # [B, H, T]
            # the newest value's own hour yesterday: one season before the window's last step
            then = obs_n[:, self.season_offset - 1:self.season_offset, self.target_idx]
            stds = (lambda x: x) if std_units is None else (lambda x: x * std_units)
            day_gap, now_gap = stds(torch.abs(yesterday - day_before)), stds(torch.abs(last - then))
            if self.gate_mismatch == "timing":
                prev = obs_n[:, -2:-1, self.target_idx]
                then_prev = obs_n[:, self.season_offset - 2:self.season_offset - 1, self.target_idx]
                day_step = torch.maximum(torch.abs(yesterday - lags[:, :, 0, 0]),
                                         torch.abs(day_before - lags[:, :, 1, 0]))
                now_step = torch.maximum(torch.abs(last - prev), torch.abs(then - then_prev))
                day_gap, now_gap = day_gap / (1.0 + stds(day_step)), now_gap / (1.0 + stds(now_step))
            mismatch = day_gap + now_gap
            gate = torch.sigmoid(torch.abs(self.gate_steepness) * (torch.abs(self.gate_threshold) - mismatch))
            return last + gate * (yesterday - last)
        if self.seasonal_baseline == "naive":
            return lags[:, :, 0, 1]
        if self.seasonal_baseline == "mean3":
            return lags[:, :, 0].mean(dim=2)
        values = lags.reshape(lags.shape[0], lags.shape[1], -1, lags.shape[-1])  # [B, H, days*3, T]
        n = values.shape[2]
        # sort, not torch.median: it exports to ONNX (TopK) and averages the two middle values
        ordered = torch.sort(values, dim=2).values
        return 0.5 * (ordered[:, :, (n - 1) // 2] + ordered[:, :, n // 2])

    # --- network ---
    def forward_normalized(self, server_idx, profile_idx, past_observed, past_known, future_known):
        """Returns a NormalizedForecast: the quantiles in normalized units (baseline included), the
        window statistics, and the core's output."""
        xt, mean, scale, std_units = self.normalization(past_observed)
        obs_n = (xt - mean) / scale
        lags = self.seasonal_lags(obs_n) if self.season_offset is not None else None
        if self.decoder_lags:
            future_known = torch.cat([future_known, lags.reshape(lags.shape[0], self.horizon, -1)], dim=-1)
        if self.window_stats_inputs:
            level = mean[:, :, self.target_idx]
            # sign(x)·log1p(|x|), a signed log that exports to ONNX (asinh does not at opset 17)
            level = torch.sign(level) * torch.log(1.0 + torch.abs(level))
            stats = torch.cat([level, torch.log(scale[:, :, self.target_idx])], dim=-1)
            future_known = torch.cat([future_known, stats.expand(stats.shape[0], self.horizon, stats.shape[2])], dim=-1)
        first = self.lookback - self.encoder_steps
        encoder_inputs = torch.cat([obs_n[:, first:], past_known[:, first:]], dim=-1)
        tft = self.core(server_idx, profile_idx, encoder_inputs, future_known)
        out = tft.quantiles
        if lags is not None:
            seasonal = self.seasonal_base(lags, obs_n, std_units)  # [B, H, n_targets]
            out = out + seasonal.unsqueeze(-1)
        return NormalizedForecast(out, mean, scale, tft)

    def copy_unknown_row(self, indices):
        """Serves holdout servers exactly like a never-seen server: their rows become row 0."""
        self.core.copy_unknown_row(indices)

    def bounded(self, raw):
        """[B, H, n_targets, n_q] raw -> the same within each target's range, quantiles in order.

        Clipped to the range, then each quantile raised to at least the one below it, so P10 <= P50 <=
        P90 always holds (a pairwise max exports to ONNX; cummax does not at our opset)."""
        lo = self.target_min.view(1, 1, -1, 1)
        hi = self.target_max.view(1, 1, -1, 1)
        clipped = torch.minimum(torch.maximum(raw, lo), hi)
        ordered = [clipped[..., 0]]
        for q in range(1, clipped.shape[-1]):
            ordered.append(torch.maximum(clipped[..., q], ordered[-1]))
        return torch.stack(ordered, dim=-1)

    def forward(self, server_idx, profile_idx, past_observed, past_known, future_known):
        pred_n, mean, scale, _ = self.forward_normalized(
            server_idx, profile_idx, past_observed, past_known, future_known
        )
        return self.bounded(self.denormalize(pred_n, mean, scale))
