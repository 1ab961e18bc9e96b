"""Building blocks of the Temporal Fusion Transformer (Lim et al. 2021): gated linear units, gated
residual networks, variable selection and interpretable multi-head attention."""

import math

import torch
from torch import nn
import torch.nn.functional as F

MASK_BIAS = -1e9  # finite, so a fully masked row can never turn into NaN


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
