"""Pinball (quantile) loss and q-risk."""

import torch


LOSS_WEIGHTINGS = ("none", "raw_scale")
RAW_SCALE_WEIGHT_CAP = 5.0


def pinball_loss(pred, target, quantiles, weights=None):
    """pred [..., n_q], target [...]: mean over everything of the per-quantile losses summed over q.

    weights (broadcastable to target) scale each element's loss, e.g. raw_scale_weights."""
    q = torch.tensor(quantiles, dtype=pred.dtype, device=pred.device)
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(q * diff, (q - 1.0) * diff).sum(dim=-1)
    return (loss * weights).mean() if weights is not None else loss.mean()


def raw_scale_weights(mean, scale, log1p_mask, cap=RAW_SCALE_WEIGHT_CAP):
    """[B, 1, n_targets] weights proportional to each window's spread in raw units.

    The loss is taken on normalized values, so a quiet server counts as much as a busy one; q-risk sums
    raw errors, where the busy one dominates. Weighting by the raw-unit scale (scale, or scale * e^mean
    for log1p targets: d expm1(x) = e^x dx) aligns the two. Each target's weights average 1 over the
    batch so targets stay balanced; the cap keeps one outlier window from taking over a batch."""
    raw = scale * torch.where(log1p_mask > 0.5, torch.exp(mean), torch.ones_like(mean))
    weights = raw / raw.mean(dim=0, keepdim=True).clamp_min(1e-12)
    return weights.clamp(max=cap).detach()


def q_risk(pred_q, target, q):
    """2 * sum QL(y, yhat_q, q) / sum |y| on raw values (Lim et al.)."""
    diff = target - pred_q
    ql = torch.maximum(q * diff, (q - 1.0) * diff)
    denom = target.abs().sum()
    return float(2.0 * ql.sum() / denom) if float(denom) > 0 else float("nan")
