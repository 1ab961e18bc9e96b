"""Quantile-aware seasonal naive: yesterday's value plus the empirical quantiles of its own past errors.

For origin o and horizon step k the point is u[o + k - lag(k)] (src/validate/seasonal-naive.ts), and
quantile q is that point plus the q-quantile of the errors e_t = u[t] - u[t - lag(k)] over the steps
t in [o - window, o) of the same server and target (modelling space: log errors for log1p targets,
so the band scales with the level). Only values before the origin are used. P50 is the naive value
plus the median error, so it matches seasonal naive on unbiased noise and corrects a steady drift.
"""

import time
import warnings

import numpy as np

from .series import seasonal_naive_u


def forecast(panel, settings, log):
    started = time.time()
    S, O, H, T, Q = panel.shape
    u = panel.u
    window = settings.qnaive_window_days * panel.period
    point = seasonal_naive_u(panel)  # [S, O, H, T]
    out = np.full(panel.shape, np.nan)
    lags = {}
    for k in range(H):
        lags.setdefault(panel.seasonal_lag(k), []).append(k)
    fallback = np.zeros((S, T), dtype=bool)
    for oi, o in enumerate(panel.origins):
        for lag, ks in lags.items():
            steps = np.arange(max(lag, o - window), o)
            errors = u[:, :, steps] - u[:, :, steps - lag]  # [S, T, W], all before the origin
            enough = np.isfinite(errors).sum(axis=-1) >= settings.qnaive_min_errors
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: handled below
                offsets = np.nanquantile(errors, panel.quantiles, axis=-1) if steps.size else \
                    np.full((Q, S, T), np.nan)  # [Q, S, T]
            offsets = np.where(enough[None], offsets, 0.0).transpose(1, 2, 0)  # [S, T, Q]
            fallback |= ~enough
            out[:, oi, ks] = point[:, oi, ks, :, None] + offsets[:, None, :, :]
    if fallback.any():
        log(f"qnaive: {int(fallback.sum())} server/target series had fewer than {settings.qnaive_min_errors} "
            "past errors at some origin: plain seasonal naive at every quantile there")
    return out, {"fallback_series": int(fallback.sum()), "seconds": time.time() - started}
