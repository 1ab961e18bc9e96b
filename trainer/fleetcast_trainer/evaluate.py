"""Validation loss and q-risk (TFT vs one-day seasonal naive) on validation windows."""

import numpy as np
import torch

from .data import gather
from .loss import RAW_SCALE_WEIGHT_CAP, pinball_loss, q_risk, raw_scale_weights


def batches(index, batch_size):
    for i in range(0, len(index), batch_size):
        yield index.rows[i:i + batch_size], index.starts[i:i + batch_size]


def to_tensors(batch, device):
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def forward_loss(model, t, quantiles, weighting="none", weight_cap=RAW_SCALE_WEIGHT_CAP):
    """Pinball loss in normalized units; weighting "raw_scale" weights windows by their raw-unit spread
    (at most weight_cap times the batch mean)."""
    pred_n, mean, scale, _ = model.forward_normalized(
        t["server_idx"], t["profile_idx"], t["past_observed"], t["past_known"], t["future_known"]
    )
    unwrapped = model.module if hasattr(model, "module") else model  # DistributedDataParallel
    target_n = unwrapped.normalize_target(t["target"], mean, scale)
    weights = None
    if weighting == "raw_scale":
        idx = unwrapped.target_idx
        weights = raw_scale_weights(mean[:, :, idx], scale[:, :, idx], unwrapped.log1p_mask[idx], weight_cap)
    return pinball_loss(pred_n, target_n, quantiles, weights)


def validation_loss(model, dataset, index, cfg, device):
    """(sum of batch losses weighted by size, number of windows) for this rank's shard."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for rows, starts in batches(index, cfg["batch_size"]):
            t = to_tensors(gather(dataset, rows, starts, cfg["lookback"], cfg["horizon"], cfg["obs_idx"],
                                  cfg["target_idx"]), device)
            loss = forward_loss(model, t, cfg["quantiles"], cfg.get("loss_weighting", "none"),
                                cfg.get("loss_weight_cap", RAW_SCALE_WEIGHT_CAP))
            total += float(loss) * len(rows)
            count += len(rows)
    return total, count


def q_risk_report(model, dataset, index, cfg, device, targets, steps_per_day):
    """Per target: P50/P90 q-risk of the model and of one-day seasonal naive, in raw units."""
    model.eval()
    preds, trues, naives = [], [], []
    L, H = cfg["lookback"], cfg["horizon"]
    tgt = cfg["target_idx"]
    with torch.no_grad():
        for rows, starts in batches(index, cfg["batch_size"]):
            b = gather(dataset, rows, starts, L, H, cfg["obs_idx"], tgt)
            t = to_tensors(b, device)
            out = model(t["server_idx"], t["profile_idx"], t["past_observed"], t["past_known"], t["future_known"])
            preds.append(out.cpu())
            trues.append(torch.from_numpy(b["target"]))
            # seasonal naive: y[t+h] = y[t+h-m], read from the encoder window (needs L >= m >= H)
            hist = torch.from_numpy(b["past_observed"])[:, :, [cfg["obs_idx"].index(i) for i in tgt]]
            naives.append(hist[:, L - steps_per_day:L - steps_per_day + H])
    pred, true, naive = torch.cat(preds), torch.cat(trues), torch.cat(naives)
    quantiles = cfg["quantiles"]
    report = {}
    for j, name in enumerate(targets):
        row = {}
        for q_name, q in (("p50", 0.5), ("p90", 0.9)):
            qi = quantiles.index(q)
            row[f"{q_name}_q_risk"] = q_risk(pred[:, :, j, qi], true[:, :, j], q)
            row[f"naive_{q_name}_q_risk"] = q_risk(naive[:, :, j], true[:, :, j], q)
        tft_p50, naive_p50 = row["p50_q_risk"], row["naive_p50_q_risk"]
        ok = np.isfinite(tft_p50) and np.isfinite(naive_p50) and naive_p50 > 0
        row["p50_vs_naive"] = tft_p50 / naive_p50 if ok else None
        report[name] = row
    return report


def mean_ratio(report):
    ratios = [r["p50_vs_naive"] for r in report.values() if r["p50_vs_naive"] is not None]
    return float(np.mean(ratios)) if ratios else None
