"""Temporal Fusion Transformer (Lim et al. 2021) with normalization inside the graph.

forward() takes raw inputs exactly as the exported ONNX model does (docs/MODEL_FORMAT.md) and
returns de-normalized quantiles; forward_normalized() is what training uses.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F

SEASONAL_BASELINES = ("naive", "mean3", "median")
MASK_BIAS = -1e9  # finite, so a fully masked row can never turn into NaN
EXP_CLAMP = 80.0  # exp(80) is still a finite float32


class GLU(nn.Module):
    """Gated linear unit with dropout on its input."""

    def __init__(self, d_in, d_out, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.gate = nn.Linear(d_in, d_out)
        self.value = nn.Linear(d_in, d_out)

    def forward(self, x):
        x = self.dropout(x)
        return torch.sigmoid(self.gate(x)) * self.value(x)


class GateAddNorm(nn.Module):
    """LayerNorm(skip + GLU(x)): the gated skip connections of the TFT."""

    def __init__(self, d, dropout):
        super().__init__()
        self.glu = GLU(d, d, dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x, skip):
        return self.norm(skip + self.glu(x))


class GRN(nn.Module):
    """Gated residual network with an optional static context (added without bias)."""

    def __init__(self, d_in, d_hidden, d_out, dropout, d_context=None):
        super().__init__()
        self.skip = nn.Linear(d_in, d_out) if d_in != d_out else None
        self.fc2 = nn.Linear(d_in, d_hidden)
        self.context = nn.Linear(d_context, d_hidden, bias=False) if d_context else None
        self.fc1 = nn.Linear(d_hidden, d_hidden)
        self.glu = GLU(d_hidden, d_out, dropout)
        self.norm = nn.LayerNorm(d_out)

    def forward(self, a, c=None):
        skip = a if self.skip is None else self.skip(a)
        eta2 = self.fc2(a)
        if self.context is not None and c is not None:
            # context [B, d] broadcast over any time axis of `a`
            ctx = self.context(c)
            while ctx.dim() < eta2.dim():
                ctx = ctx.unsqueeze(1)
            eta2 = eta2 + ctx
        eta1 = self.fc1(F.elu(eta2))
        return self.norm(skip + self.glu(eta1))


class VariableGRNs(nn.Module):
    """V independent GRNs (d -> d), one per variable, evaluated together with batched matmuls.

    Mathematically the same as a ModuleList of V GRNs, but one einsum per layer instead of V
    small matmuls, which is what makes the temporal variable selection affordable on 2 cores.
    """

    def __init__(self, n_vars, d, dropout):
        super().__init__()
        scale = 1.0 / math.sqrt(d)
        self.w2 = nn.Parameter(torch.empty(n_vars, d, d).uniform_(-scale, scale))
        self.b2 = nn.Parameter(torch.zeros(n_vars, d))
        self.w1 = nn.Parameter(torch.empty(n_vars, d, d).uniform_(-scale, scale))
        self.b1 = nn.Parameter(torch.zeros(n_vars, d))
        self.wg = nn.Parameter(torch.empty(n_vars, d, d).uniform_(-scale, scale))
        self.bg = nn.Parameter(torch.zeros(n_vars, d))
        self.wv = nn.Parameter(torch.empty(n_vars, d, d).uniform_(-scale, scale))
        self.bv = nn.Parameter(torch.zeros(n_vars, d))
        self.ln_weight = nn.Parameter(torch.ones(n_vars, d))
        self.ln_bias = nn.Parameter(torch.zeros(n_vars, d))
        self.dropout = nn.Dropout(dropout)
        self.d = d
        # explicit affine-free LayerNorm weights: torch 1.13's opset-17 export of
        # layer_norm(weight=None) produces an invalid graph
        self.register_buffer("ln_ones", torch.ones(d), persistent=False)
        self.register_buffer("ln_zeros", torch.zeros(d), persistent=False)

    def forward(self, x):  # x [..., V, d]
        lead = x.shape[:-2]
        v, d = x.shape[-2], x.shape[-1]
        # one [V, N, d] layout for the whole GRN, so every layer is a single batched matmul
        xv = x.reshape(-1, v, d).transpose(0, 1)
        eta2 = torch.baddbmm(self.b2.unsqueeze(1), xv, self.w2)
        eta1 = torch.baddbmm(self.b1.unsqueeze(1), F.elu(eta2), self.w1)
        eta1 = self.dropout(eta1)
        gate = torch.sigmoid(torch.baddbmm(self.bg.unsqueeze(1), eta1, self.wg))
        glu = gate * torch.baddbmm(self.bv.unsqueeze(1), eta1, self.wv)
        y = F.layer_norm(xv + glu, (self.d,), self.ln_ones, self.ln_zeros)
        y = y * self.ln_weight.unsqueeze(1) + self.ln_bias.unsqueeze(1)
        return y.transpose(0, 1).reshape(lead + (v, d))


class RealEmbedding(nn.Module):
    """Each real-valued variable through its own Linear(1, d): [..., V] -> [..., V, d]."""

    def __init__(self, n_vars, d):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_vars, d) * 0.5)
        self.bias = nn.Parameter(torch.zeros(n_vars, d))

    def forward(self, x):
        return x.unsqueeze(-1) * self.weight + self.bias


class VariableSelection(nn.Module):
    """Softmax weights from GRN(flattened inputs, context), applied to per-variable GRN outputs."""

    def __init__(self, n_vars, d, dropout, with_context):
        super().__init__()
        self.n_vars = n_vars
        self.weights_grn = GRN(n_vars * d, d, n_vars, dropout, d_context=d if with_context else None)
        self.var_grns = VariableGRNs(n_vars, d, dropout)

    def forward(self, x, context=None):  # x [..., V, d]
        flat = x.reshape(x.shape[:-2] + (x.shape[-2] * x.shape[-1],))
        weights = torch.softmax(self.weights_grn(flat, context), dim=-1).unsqueeze(-1)  # [..., V, 1]
        return (self.var_grns(x) * weights).sum(dim=-2), weights.squeeze(-1)


class InterpretableMultiHeadAttention(nn.Module):
    """Per-head query/key projections, one value projection shared by all heads, heads averaged."""

    def __init__(self, d, n_heads, dropout):
        super().__init__()
        self.n_heads = n_heads
        self.d_head = max(1, d // n_heads)
        self.q = nn.Linear(d, self.d_head * n_heads, bias=False)
        self.k = nn.Linear(d, self.d_head * n_heads, bias=False)
        self.v = nn.Linear(d, self.d_head, bias=False)
        self.out = nn.Linear(self.d_head, d, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query, key, mask_bias):
        # query [B, Q, d], key [B, K, d], mask_bias [Q, K] (0 allowed, -1e9 blocked)
        b, nq, _ = query.shape
        nk = key.shape[1]
        q = self.q(query).reshape(b, nq, self.n_heads, self.d_head).transpose(1, 2)  # [B, h, Q, dh]
        k = self.k(key).reshape(b, nk, self.n_heads, self.d_head).transpose(1, 2)  # [B, h, K, dh]
        v = self.v(key).unsqueeze(1)  # [B, 1, K, dh] shared by the heads
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d_head) + mask_bias
        attn = self.dropout(torch.softmax(scores, dim=-1))  # [B, h, Q, K]
        heads = torch.matmul(attn, v)  # [B, h, Q, dh]
        return self.out(heads.mean(dim=1)), attn.mean(dim=1)


def causal_mask_bias(lookback, horizon, device=None):
    """[H, L+H] bias: decoder step i (absolute position L+i) may attend to positions <= L+i."""
    q_pos = torch.arange(lookback, lookback + horizon, device=device).unsqueeze(1)
    k_pos = torch.arange(0, lookback + horizon, device=device).unsqueeze(0)
    return (k_pos > q_pos).float() * MASK_BIAS


class TFT(nn.Module):
    def __init__(self, *, num_servers, num_profiles, n_observed, n_known, target_idx, log1p_mask, std_floor,
                 lookback, horizon, quantiles, hidden, heads, dropout, season_steps=None,
                 seasonal_baseline="naive", decoder_seasonal_lags=False, seasonal_lag_days=1, encoder_steps=None):
        super().__init__()
        self.lookback = lookback
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
        # median of those three steps on every lag day, which also ignores one-off spikes.
        if seasonal_baseline not in SEASONAL_BASELINES:
            raise ValueError(f"seasonal_baseline must be one of {', '.join(SEASONAL_BASELINES)}")
        self.seasonal_baseline = seasonal_baseline
        # The decoder sees yesterday's neighbourhood (3 steps per target) as known-future inputs, so
        # it can learn which part of yesterday repeats: these values are observed before the origin.
        # With a longer lookback it also sees the same hours 2..seasonal_lag_days days back.
        self.lag_offsets = (
            [lookback - k * season_steps for k in range(1, seasonal_lag_days + 1) if k * season_steps <= lookback]
            if self.season_offset is not None else []
        )
        self.decoder_lags = 3 * len(target_idx) * len(self.lag_offsets) if decoder_seasonal_lags else 0
        self.n_observed = n_observed
        self.n_known = n_known
        self.quantiles = list(quantiles)
        self.n_targets = len(target_idx)
        d = hidden
        self.register_buffer("target_idx", torch.tensor(target_idx, dtype=torch.long))
        # float, not bool: gloo cannot broadcast bool buffers when DDP syncs module state
        self.register_buffer("log1p_mask", torch.tensor(log1p_mask, dtype=torch.float32))
        self.register_buffer("std_floor", torch.tensor(std_floor, dtype=torch.float32))
        self.register_buffer("mask_bias", causal_mask_bias(self.encoder_steps, horizon))

        self.server_emb = nn.Embedding(num_servers, d)
        self.profile_emb = nn.Embedding(num_profiles, d)
        self.static_vsn = VariableSelection(2, d, dropout, with_context=False)
        self.ctx_s = GRN(d, d, d, dropout)
        self.ctx_e = GRN(d, d, d, dropout)
        self.ctx_h = GRN(d, d, d, dropout)
        self.ctx_c = GRN(d, d, d, dropout)

        self.enc_embed = RealEmbedding(n_observed + n_known, d)
        self.dec_embed = RealEmbedding(n_known + self.decoder_lags, d)
        self.enc_vsn = VariableSelection(n_observed + n_known, d, dropout, with_context=True)
        self.dec_vsn = VariableSelection(n_known + self.decoder_lags, d, dropout, with_context=True)
        self.lstm_enc = nn.LSTM(d, d, batch_first=True)
        self.lstm_dec = nn.LSTM(d, d, batch_first=True)
        self.post_lstm = GateAddNorm(d, dropout)
        self.enrichment = GRN(d, d, d, dropout, d_context=d)
        self.attention = InterpretableMultiHeadAttention(d, heads, dropout)
        self.post_attn = GateAddNorm(d, dropout)
        self.positionwise = GRN(d, d, d, dropout)
        self.final_gate = GateAddNorm(d, dropout)
        self.head = nn.Linear(d, self.n_targets * len(self.quantiles))

    # --- normalization (from the encoder window only) ---
    def transform(self, x):
        logged = torch.log(1.0 + torch.clamp(x, min=0.0))
        return torch.where(self.log1p_mask > 0.5, logged, x)

    def window_stats(self, past_observed):
        xt = self.transform(past_observed)
        mean = xt.mean(dim=1, keepdim=True)  # [B, 1, n_obs]
        std = torch.sqrt(((xt - mean) ** 2).mean(dim=1, keepdim=True))
        scale = torch.maximum(std, self.std_floor)
        return xt, mean, scale

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

    def seasonal_base(self, lags):
        """The forecast the head corrects, from the seasonal lags [B, H, days, 3, T] -> [B, H, T]."""
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
        """Returns (normalized quantiles [B, H, n_targets, n_q], mean, scale, attention [B, H, L+H])."""
        xt, mean, scale = self.window_stats(past_observed)
        obs_n = (xt - mean) / scale
        lags = self.seasonal_lags(obs_n) if self.season_offset is not None else None
        if self.decoder_lags:
            future_known = torch.cat([future_known, lags.reshape(lags.shape[0], self.horizon, -1)], dim=-1)

        static_in = torch.stack([self.server_emb(server_idx.long()), self.profile_emb(profile_idx.long())], dim=1)
        static, _ = self.static_vsn(static_in)
        c_s, c_e = self.ctx_s(static), self.ctx_e(static)
        c_h, c_c = self.ctx_h(static), self.ctx_c(static)

        first = self.lookback - self.encoder_steps
        enc_in = self.enc_embed(torch.cat([obs_n[:, first:], past_known[:, first:]], dim=-1))  # [B, E, V, d]
        dec_in = self.dec_embed(future_known)  # [B, H, Vk, d]
        enc_x, _ = self.enc_vsn(enc_in, c_s)
        dec_x, _ = self.dec_vsn(dec_in, c_s)

        enc_out, (h, c) = self.lstm_enc(enc_x, (c_h.unsqueeze(0), c_c.unsqueeze(0)))
        dec_out, _ = self.lstm_dec(dec_x, (h, c))
        lstm_out = torch.cat([enc_out, dec_out], dim=1)
        vsn_out = torch.cat([enc_x, dec_x], dim=1)
        temporal = self.post_lstm(lstm_out, vsn_out)  # [B, L+H, d]

        enriched = self.enrichment(temporal, c_e)
        query = enriched[:, self.encoder_steps:]
        attn_out, attn = self.attention(query, enriched, self.mask_bias)
        x = self.post_attn(attn_out, query)
        x = self.positionwise(x)
        x = self.final_gate(x, temporal[:, self.encoder_steps:])
        out = self.head(x).reshape(x.shape[0], self.horizon, self.n_targets, len(self.quantiles))
        if lags is not None:
            seasonal = self.seasonal_base(lags)  # [B, H, n_targets]
            out = out + seasonal.unsqueeze(-1)
        return out, mean, scale, attn

    def copy_unknown_row(self, indices):
        """Serves holdout servers exactly like a never-seen server: their rows become row 0."""
        with torch.no_grad():
            for index in indices:
                self.server_emb.weight[index] = self.server_emb.weight[0]

    def forward(self, server_idx, profile_idx, past_observed, past_known, future_known):
        pred_n, mean, scale, _ = self.forward_normalized(
            server_idx, profile_idx, past_observed, past_known, future_known
        )
        return self.denormalize(pred_n, mean, scale)
