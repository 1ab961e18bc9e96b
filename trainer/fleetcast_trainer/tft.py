"""The Temporal Fusion Transformer itself, as in Lim et al. 2021, "Temporal Fusion Transformers for
interpretable multi-horizon time series forecasting" (International Journal of Forecasting 37(4)).

It sees already-normalized inputs; normalization and the seasonal extensions live in model.py.
"""

from typing import NamedTuple

import torch
from torch import nn

from .layers import (GRN, GateAddNorm, InterpretableMultiHeadAttention, RealEmbedding, VariableSelection,
                     causal_mask_bias)


class TFTOutput(NamedTuple):
    """The forecast and the weights that make the TFT interpretable (paper section 7)."""

    quantiles: torch.Tensor  # [B, H, n_targets, n_quantiles]
    static_weights: torch.Tensor  # [B, 2]: server id, profile
    encoder_weights: torch.Tensor  # [B, E, encoder variables]
    decoder_weights: torch.Tensor  # [B, H, decoder variables]
    attention: torch.Tensor  # [B, H, E + H], averaged over the heads


class TemporalFusionTransformer(nn.Module):
    """The TFT of Lim et al. 2021, with hidden size d:

    - static covariates (server id, profile), each an embedding (row 0 = unknown), through a **static
      variable selection network**;
    - **static covariate encoders**: four GRNs giving the contexts c_s (variable selection), c_e
      (static enrichment), c_h and c_c (initial LSTM state);
    - **variable selection networks** over the encoder inputs (observed + known) and the decoder inputs
      (known future), each real variable through its own Linear(1, d), weights conditioned on c_s;
    - an **LSTM encoder–decoder** (sequence-to-sequence layer) with a gated skip to the selected inputs;
    - **static enrichment** (a GRN with c_e), **interpretable multi-head attention** over all encoder
      and decoder steps with a causal mask, gated skip, a **position-wise GRN** and a final gated skip
      to the LSTM output — every gate a **gated residual network / GLU**;
    - a linear **quantile head**: n_quantiles outputs per target and horizon step.
    """

    def __init__(self, *, num_servers, num_profiles, n_encoder_vars, n_decoder_vars, encoder_steps, horizon,
                 n_targets, n_quantiles, hidden, heads, dropout):
        super().__init__()
        self.encoder_steps = encoder_steps
        self.horizon = horizon
        self.n_targets = n_targets
        self.n_quantiles = n_quantiles
        d = hidden
        self.register_buffer("mask_bias", causal_mask_bias(encoder_steps, horizon))

        # Creation order fixes the parameter order and the random initialisation: keep it.
        self.server_emb = nn.Embedding(num_servers, d)
        self.profile_emb = nn.Embedding(num_profiles, d)
        self.static_vsn = VariableSelection(2, d, dropout, with_context=False)
        self.ctx_s = GRN(d, d, d, dropout)
        self.ctx_e = GRN(d, d, d, dropout)
        self.ctx_h = GRN(d, d, d, dropout)
        self.ctx_c = GRN(d, d, d, dropout)

        self.enc_embed = RealEmbedding(n_encoder_vars, d)
        self.dec_embed = RealEmbedding(n_decoder_vars, d)
        self.enc_vsn = VariableSelection(n_encoder_vars, d, dropout, with_context=True)
        self.dec_vsn = VariableSelection(n_decoder_vars, d, dropout, with_context=True)
        self.lstm_enc = nn.LSTM(d, d, batch_first=True)
        self.lstm_dec = nn.LSTM(d, d, batch_first=True)
        self.post_lstm = GateAddNorm(d, dropout)
        self.enrichment = GRN(d, d, d, dropout, d_context=d)
        self.attention = InterpretableMultiHeadAttention(d, heads, dropout)
        self.post_attn = GateAddNorm(d, dropout)
        self.positionwise = GRN(d, d, d, dropout)
        self.final_gate = GateAddNorm(d, dropout)
        self.head = nn.Linear(d, n_targets * n_quantiles)

    def forward(self, server_idx, profile_idx, encoder_inputs, decoder_inputs):
        """server_idx, profile_idx [B]; encoder_inputs [B, E, encoder variables]; decoder_inputs
        [B, H, decoder variables]. Returns a TFTOutput."""
        static_in = torch.stack([self.server_emb(server_idx.long()), self.profile_emb(profile_idx.long())], dim=1)
        static, static_weights = self.static_vsn(static_in)
        c_s, c_e = self.ctx_s(static), self.ctx_e(static)
        c_h, c_c = self.ctx_h(static), self.ctx_c(static)

        enc_in = self.enc_embed(encoder_inputs)  # [B, E, V, d]
        dec_in = self.dec_embed(decoder_inputs)  # [B, H, Vk, d]
        enc_x, encoder_weights = self.enc_vsn(enc_in, c_s)
        dec_x, decoder_weights = self.dec_vsn(dec_in, c_s)
        enc_out, (h, c) = self.lstm_enc(enc_x, (c_h.unsqueeze(0), c_c.unsqueeze(0)))
        dec_out, _ = self.lstm_dec(dec_x, (h, c))
        lstm_out = torch.cat([enc_out, dec_out], dim=1)
        vsn_out = torch.cat([enc_x, dec_x], dim=1)
        temporal = self.post_lstm(lstm_out, vsn_out)  # [B, E+H, d]

        enriched = self.enrichment(temporal, c_e)
        query = enriched[:, self.encoder_steps:]
        attn_out, attention = self.attention(query, enriched, self.mask_bias)
        x = self.post_attn(attn_out, query)
        x = self.positionwise(x)
        x = self.final_gate(x, temporal[:, self.encoder_steps:])
        quantiles = self.head(x).reshape(x.shape[0], self.horizon, self.n_targets, self.n_quantiles)
        return TFTOutput(quantiles, static_weights, encoder_weights, decoder_weights, attention)

    def copy_unknown_row(self, indices):
        """Serves holdout servers exactly like a never-seen server: their rows become row 0."""
        with torch.no_grad():
            for index in indices:
                self.server_emb.weight[index] = self.server_emb.weight[0]
