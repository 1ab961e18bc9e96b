"""q-risk of peer forecasts on their windows, with the rules of src/validate/scoring.ts.

For `--score` and the tests: the TypeScript scorer is the one the gates use. q-risk(q) =
2·ΣQL(y, ŷ_q, q) / Σ|y| on raw values; a (window, step, target) is scored only where the actual and every
compared model's quantiles are finite, so all models are scored on exactly the same points. Seasonal
naive (yesterday's value, src/validate/seasonal-naive.ts) is scored at every quantile, as there.
"""

import numpy as np

from .series import take

SEASONAL_NAIVE = "seasonal_naive"
GROUPS = ("known", "unknown", "all")


def actuals(panel):
    """[S, O, H, T] raw actual values of every forecast step."""
    steps = panel.origins[:, None] + np.arange(panel.horizon)[None, :]  # [O, H]
    return panel.raw[:, :, steps].transpose(0, 2, 3, 1)


def seasonal_naive_raw(panel):
    """[S, O, H, T, Q] raw seasonal naive, the same value at every quantile."""
    S, O, H, T, Q = panel.shape
    k = np.arange(H)
    lags = np.array([panel.seasonal_lag(int(x)) for x in k])
    steps = panel.origins[:, None] + k[None, :] - lags[None, :]
    point = take(panel.raw, np.arange(S)[:, None, None, None], np.arange(T)[None, None, None, :],
                 steps[None, :, :, None], panel.origins[None, :, None, None])
    return np.repeat(point[..., None], Q, axis=-1)


def pinball(y, f, q):
    d = y - f
    return np.where(d >= 0, q * d, (q - 1) * d)


def score(panel, forecasts, windows=None):
    """forecasts: name -> [S, O, H, T, Q] raw. windows: optional [S, O] bool (the windows the TFT scores).
    Returns ScoreEntry-shaped dicts for every model (plus seasonal_naive), group, target and quantile."""
    models = dict(forecasts)
    models[SEASONAL_NAIVE] = seasonal_naive_raw(panel)
    y = actuals(panel)  # [S, O, H, T]
    ok = np.isfinite(y)
    for f in models.values():
        ok &= np.isfinite(f).all(axis=-1)
    if windows is not None:
        ok &= windows[:, :, None, None]
    unknown = panel.holdout[:, None, None, None]
    masks = {"known": ok & ~unknown, "unknown": ok & unknown, "all": ok}
    entries = []
    for name, f in models.items():
        for g in GROUPS:
            mask = masks[g]
            for ti, target in enumerate(panel.targets):
                m = mask[..., ti]
                ys = y[..., ti][m]
                denom = np.abs(ys).sum()
                for qi, q in enumerate(panel.quantiles):
                    loss = pinball(ys, f[..., ti, qi][m], q).sum()
                    entries.append({"model": name, "group": g, "target": target, "quantile": float(q),
                                    "q_risk": float(2 * loss / denom) if ys.size and denom > 0 else None,
                                    "points": int(ys.size)})
    return entries


def table(entries, group="all"):
    """Plain-text table: one line per model, q-risk per target × quantile, and the ratio to seasonal naive."""
    by = {(e["model"], e["target"], e["quantile"]): e["q_risk"] for e in entries if e["group"] == group}
    models = list(dict.fromkeys(e["model"] for e in entries))
    cols = list(dict.fromkeys((e["target"], e["quantile"]) for e in entries))
    head = "model".ljust(16) + "".join(f"{t} P{round(q * 100)}".rjust(16) for t, q in cols)
    lines = [head]
    for mdl in models:
        cells = []
        for t, q in cols:
            v, n = by.get((mdl, t, q)), by.get((SEASONAL_NAIVE, t, q))
            cells.append("-".rjust(16) if v is None else
                         (f"{v:.4f}" + (f" ({v / n:.2f})" if n else "")).rjust(16))
        lines.append(mdl.ljust(16) + "".join(cells))
    return "\n".join(lines)
