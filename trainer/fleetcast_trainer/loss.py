"""Pinball (quantile) loss and q-risk."""

import torch


def pinball_loss(pred, target, quantiles):
    """pred [..., n_q], target [...]: mean over everything of the per-quantile losses summed over q."""
    q = torch.tensor(quantiles, dtype=pred.dtype, device=pred.device)
    diff = target.unsqueeze(-1) - pred
    loss = torch.maximum(q * diff, (q - 1.0) * diff)
    return loss.sum(dim=-1).mean()


def q_risk(pred_q, target, q):
    """2 * sum QL(y, yhat_q, q) / sum |y| on raw values (Lim et al.)."""
    diff = target - pred_q
    ql = torch.maximum(q * diff, (q - 1.0) * diff)
    denom = target.abs().sum()
    return float(2.0 * ql.sum() / denom) if float(denom) > 0 else float("nan")
