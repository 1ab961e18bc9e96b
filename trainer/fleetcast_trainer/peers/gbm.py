"""Global gradient boosting: one HistGradientBoostingRegressor(loss="quantile") per target and quantile.

Rows are (server, origin o, horizon step k) for the forecast step t = o + k; every server of the fleet
shares one model per target and quantile (T × Q models: 9 for the shipped layout).

**Horizon as a feature, not one model per step.** The features that matter are already aligned to the
forecast step (its own 1-day and 2-day lags, its time of day), so what the step adds is mostly "how far
the origin's recent deviation carries", a smooth effect the trees learn from `k` and its interactions.
One model per step would fit H times as many models (108 instead of 9 at H = 12) on H times fewer rows
each, which at 250 servers × 30 days costs several times the 2-core budget without more information.

**Scale-free target.** Servers differ by orders of magnitude, so each row is expressed relative to its
seasonal-naive value b = u[t - lag(k)] and divided by s = the server's standard deviation over the day
before the origin (floored): the model predicts z = (u[t] - b) / s, i.e. a correction to seasonal naive
in units of the series' own variability, and the forecast is b + z_q · s (then the inverse transform; a
quantile of log1p(y) maps to the same quantile of y). Features, all computed from values before the
origin only (`take` masks the rest):

  k; time of day (sin, cos) and day of week of step t; whether t and t - lag(k) differ in being a weekend
  day; the 2-day lag, the 1-day lag's neighbours (t - lag - 1, t - lag + 1) and optionally the 1-week lag,
  each minus b, over s; the last three values before the origin minus their values a day earlier (today's
  deviation from yesterday), and the mean of six; the last value minus b; b minus the last day's mean; log s;
  the last day's mean.

Training uses only forecast steps t < fit_end_step (never the held-out window), all servers, a seeded
sample of at most `gbm_max_rows` rows; HistGradientBoosting's own early stopping holds out 10 %
(seeded too), so the same data and seed give the same forecasts.
"""

import time
import warnings

import numpy as np

from .series import take

FEATURES = [
    "k", "tod_sin", "tod_cos", "dow", "weekend_change", "lag2d", "lag1d_prev", "lag1d_next", "lag7d",
    "diff1", "diff2", "diff3", "diff_mean6", "last", "base_vs_day_mean", "log_scale", "day_mean",
]
DAY = 86400
FLOOR_SHARE = 0.05  # the scale floor: this share of the fleet's median day-std of a target


class TargetView:
    """One target of every server with the running sums that give last-day means and stds in O(1)."""

    def __init__(self, panel, t):
        self.panel = panel
        self.u = panel.u[:, t, :]  # [S, N]
        finite = np.isfinite(self.u)
        z = np.where(finite, self.u, 0.0)
        pad = np.zeros((self.u.shape[0], 1))
        self.cs = np.concatenate([pad, np.cumsum(z, axis=1)], axis=1)
        self.cs2 = np.concatenate([pad, np.cumsum(z * z, axis=1)], axis=1)
        self.cnt = np.concatenate([pad, np.cumsum(finite, axis=1)], axis=1)
        # last finite value at or before each step (the fallback base)
        idx = np.where(finite, np.arange(self.u.shape[1])[None, :], -1)
        self.last_idx = np.maximum.accumulate(idx, axis=1)
        stds = self.day_stats(np.arange(self.u.shape[0]), np.full(self.u.shape[0], panel.fit_end))[1]
        median = np.nanmedian(stds) if np.isfinite(stds).any() else 1.0
        self.floor = max(FLOOR_SHARE * float(median), 1e-6)

    def get(self, rows, steps, origins):
        return take(self.u[:, None, :], rows, 0, steps, origins)

    def day_stats(self, rows, origins):
        """Mean and population std of the day before each origin (finite values only)."""
        m = self.panel.period
        hi, lo = origins, np.maximum(origins - m, 0)
        n = self.cnt[rows, hi] - self.cnt[rows, lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (self.cs[rows, hi] - self.cs[rows, lo]) / n
            var = (self.cs2[rows, hi] - self.cs2[rows, lo]) / n - mean * mean
        std = np.sqrt(np.maximum(var, 0.0))
        return np.where(n > 0, mean, np.nan), np.where(n > 1, std, np.nan)


def feature_names(weekly_lag):
    return [f for f in FEATURES if weekly_lag or f != "lag7d"]


def build_rows(view, rows, origins, ks, weekly_lag):
    """Features [n, F] (feature_names order), base [n] and scale [n] for rows (server, origin, step k),
    from values before the origin only."""
    panel = view.panel
    m = panel.period
    lag1 = m * (ks // m + 1)
    lag2 = lag1 + m
    steps = origins + ks
    get = lambda st: view.get(rows, st, origins)  # noqa: E731
    base = get(steps - lag1)
    base = np.where(np.isnan(base), get(steps - lag2), base)
    last_i = view.last_idx[rows, np.maximum(origins - 1, 0)]
    fallback = np.where((last_i >= 0) & (origins > 0), view.u[rows, np.maximum(last_i, 0)], np.nan)
    base = np.where(np.isnan(base), fallback, base)
    mean, std = view.day_stats(rows, origins)
    scale = np.maximum(np.nan_to_num(std, nan=view.floor), view.floor)
    rel = lambda x: (x - base) / scale  # noqa: E731

    epoch = panel.step_epochs(steps)
    tod = 2 * np.pi * (epoch % DAY) / DAY
    dow = (epoch // DAY + 3) % 7  # Monday = 0 (docs/MODEL_FORMAT.md)
    dow_lag = (panel.step_epochs(steps - lag1) // DAY + 3) % 7
    diffs = [(get(origins - j) - get(origins - j - m)) / scale for j in range(1, 7)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no diff at all: NaN, like a missing lag
        diff_mean = np.nanmean(np.stack(diffs), axis=0)
    cols = [
        ks.astype(np.float64), np.sin(tod), np.cos(tod), dow.astype(np.float64),
        (dow >= 5).astype(np.float64) - (dow_lag >= 5).astype(np.float64),
        rel(get(steps - lag2)), rel(get(steps - lag1 - 1)), rel(get(steps - lag1 + 1)),
        rel(get(steps - 7 * m)) if weekly_lag else None,
        diffs[0], diffs[1], diffs[2], diff_mean,
        rel(get(origins - 1)), (base - mean) / scale, np.log(scale), mean,
    ]
    return np.stack([c for c in cols if c is not None], axis=1), base, scale


def training_rows(panel, rng, max_rows):
    """A seeded sample of (server, origin, k) with the forecast step before fit_end_step and at least one
    day before the origin."""
    S, H, m = len(panel.names), panel.horizon, panel.period
    lo = m + 1  # first origin
    n_t = panel.fit_end - lo  # forecast steps t in [lo, fit_end)
    if n_t <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    total = S * n_t * H
    flat = np.arange(total) if total <= max_rows else np.sort(rng.choice(total, size=max_rows, replace=False))
    s, rest = np.divmod(flat, n_t * H)
    t_off, k = np.divmod(rest, H)
    t = lo + t_off
    o = t - k
    keep = o >= lo
    return s[keep], o[keep], k[keep]


_DATA = {}  # target index -> (X, y, X_pred): set before the worker processes fork, read by them


def _one_thread():
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _fit_one(job):
    """(target index, quantile, settings) -> (target index, quantile, z predictions, iterations, seconds)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    ti, q, s = job
    X, y, Xp = _DATA[ti]
    t0 = time.time()
    model = HistGradientBoostingRegressor(
        loss="quantile", quantile=q, max_iter=s.gbm_max_iter, learning_rate=s.gbm_learning_rate,
        max_leaf_nodes=s.gbm_max_leaf_nodes, min_samples_leaf=s.gbm_min_samples_leaf, early_stopping=True,
        validation_fraction=0.1, n_iter_no_change=10, random_state=s.seed,
    )
    model.fit(X, y)
    return ti, q, model.predict(Xp), int(model.n_iter_), time.time() - t0


def forecast(panel, settings, log):
    """Fits the T × Q models in `threads` worker processes of one OpenMP thread each.

    One process per model rather than OpenMP threads inside one model: the fits are independent, the
    speed-up is the same on idle cores, and on a shared, oversubscribed machine OpenMP's spinning
    threads made each fit 5-10 times slower (measured: 8 s -> 50-95 s per model). The forecasts do
    not depend on the number of processes."""
    import multiprocessing

    started = time.time()
    S, O, H, T, Q = panel.shape
    rng = np.random.default_rng(settings.seed)
    tr_s, tr_o, tr_k = training_rows(panel, rng, settings.gbm_max_rows)
    pr_s, pr_o, pr_k = (a.ravel() for a in np.meshgrid(np.arange(S), panel.origins, np.arange(H), indexing="ij"))
    pr_oi = np.searchsorted(panel.origins, pr_o)
    out = np.full(panel.shape, np.nan)
    pred_base = {}
    _DATA.clear()
    for ti, target in enumerate(panel.targets):
        view = TargetView(panel, ti)
        X, base, scale = build_rows(view, tr_s, tr_o, tr_k, settings.gbm_weekly_lag)
        y = (view.u[tr_s, tr_o + tr_k] - base) / scale
        ok = np.isfinite(y)
        if ok.sum() < 100:
            log(f"gbm: {target}: only {int(ok.sum())} training rows before step {panel.fit_end}; no forecast")
            continue
        Xp, base_p, scale_p = build_rows(view, pr_s, pr_o, pr_k, settings.gbm_weekly_lag)
        _DATA[ti] = (X[ok], y[ok], Xp)
        pred_base[ti] = (base_p, scale_p)
    jobs = [(ti, float(q), settings) for ti in _DATA for q in panel.quantiles]
    log(f"gbm: {len(jobs)} models on {min(settings.threads, len(jobs))} process(es), "
        f"{len(tr_s)} sampled training rows before step {panel.fit_end}")
    models_info = []

    def collect(result):
        ti, q, z, iterations, seconds = result
        qi = int(np.argmin(np.abs(panel.quantiles - q)))
        base_p, scale_p = pred_base[ti]
        out[pr_s, pr_oi, pr_k, ti, qi] = base_p + z * scale_p
        rows = int(_DATA[ti][1].size)
        models_info.append({"target": panel.targets[ti], "quantile": q, "rows": rows, "iterations": iterations,
                            "seconds": round(seconds, 3)})
        log(f"gbm: {panel.targets[ti]} q={q:g}: {rows} rows, {iterations} iterations, {seconds:.1f}s")

    try:
        if settings.threads > 1 and len(jobs) > 1:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(settings.threads, len(jobs)), initializer=_one_thread) as pool:
                for result in pool.imap(_fit_one, jobs):
                    collect(result)
        else:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1, user_api="openmp"):
                for job in jobs:
                    collect(_fit_one(job))
    finally:
        _DATA.clear()
    models_info.sort(key=lambda m: (panel.targets.index(m["target"]), m["quantile"]))
    return out, {"features": feature_names(settings.gbm_weekly_lag), "models": models_info,
                 "fit_seconds_sum": round(sum(m["seconds"] for m in models_info), 3),
                 "training_rows_sampled": int(len(tr_s)), "seconds": time.time() - started}
