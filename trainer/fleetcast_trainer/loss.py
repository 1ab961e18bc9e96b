"""Pinball (quantile) loss and q-risk."""

import torch


def pinball_loss(pred, target, quantiles, weights=None):
    """pred [B, H, T, n_q], target [B, H, T]: mean over everything of the per-quantile losses summed
    over q; `weights` [B, T] (optional) scales each window's loss per target."""
    q = torch.tensor(quantiles, dtype=pred.dtype, device=pred.device)
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(q * diff, (q - 1.0) * diff).sum(dim=-1)  # [B, H, T]
    if weights is not None:
        loss = loss * weights.unsqueeze(1)
    return loss.mean()


WEIGHT_CAP = 5.0


def raw_unit_weights(raw_per_normalized):
    """Per-window weights [B, T] proportional to how many raw units one normalized unit is, so the
    loss ranks windows the way q-risk (raw units) does; each target's weights average 1 in the batch,
    and are capped at WEIGHT_CAP so a few huge series cannot drown the gradient."""
    w = raw_per_normalized / raw_per_normalized.mean(dim=0, keepdim=True).clamp(min=1e-12)
    return w.clamp(max=WEIGHT_CAP).detach()


def q_risk(pred_q, target, q):
    """2 * sum QL(y, yhat_q, q) / sum |y| on raw values (Lim et al.)."""
    diff = target - pred_q
    ql = torch.maximum(q * diff, (q - 1.0) * diff)
    denom = target.abs().sum()
    return float(2.0 * ql.sum() / denom) if float(denom) > 0 else float("nan")
