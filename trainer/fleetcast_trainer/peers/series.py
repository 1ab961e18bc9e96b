"""The target series every peer works on, the windows they forecast, and the shared output rules.

Arrays: `u[S, T, N]` float64 = the targets of each server in modelling space (the request's transform:
`log1p` for heavy-tailed targets, else raw), N dataset steps, NaN where there is no data. A forecast is
`[S, O, H, T, Q]`: server row (dataset.json order), origin, horizon step, target, quantile, the layout
of the TFT's `quantiles` output with the server and origin in front.
"""

import numpy as np

from ..errors import DatasetError

SECONDS_PER_DAY = 86400
LOG1P_CLAMP = 80.0  # like the TFT's de-normalization: exp() of more than this is not a metric value


class Panel:
    """The dataset's targets for the peers, plus the forecast windows of the request."""

    def __init__(self, dataset, request):
        res = dataset.resolution
        if SECONDS_PER_DAY % res:
            raise DatasetError(f"dataset.json: resolution_seconds {res} does not divide a day")
        self.request = request
        self.period = SECONDS_PER_DAY // res  # m: steps per day, the seasonal period
        self.resolution = res
        self.start_epoch = dataset.start_epoch
        self.names = [s["name"] for s in dataset.servers]
        self.holdout = np.array([bool(s["holdout"]) for s in dataset.servers])
        self.profiles = [s["profile"] for s in dataset.servers]
        self.targets = list(request.targets)
        self.quantiles = np.array(request.quantiles, dtype=np.float64)
        self.horizon = request.horizon_steps
        self.n_steps = dataset.n_steps
        self.fit_end = request.fit_end_step
        self.origins = np.array(request.origins(dataset.n_steps), dtype=np.int64)
        idx = [dataset.features.index(t) for t in self.targets]
        self.raw = np.ascontiguousarray(np.asarray(dataset.values[:, :, idx], dtype=np.float64).transpose(0, 2, 1))
        self.log1p = np.array([request.transforms[t] == "log1p" for t in self.targets])
        self.u = self.raw.copy()
        if self.log1p.any():
            with np.errstate(invalid="ignore"):
                self.u[:, self.log1p] = np.log1p(np.maximum(self.raw[:, self.log1p], 0.0))
        # A server's observed features, for --score's "complete lookback" rule (heldout.ts).
        self._all_finite = ~np.isnan(dataset.values).any(axis=2)  # [S, N]

    @property
    def shape(self):
        """[S, O, H, T, Q] of a forecast."""
        return (len(self.names), len(self.origins), self.horizon, len(self.targets), len(self.quantiles))

    def seasonal_lag(self, k):
        """Lag (steps) of the seasonal naive value for horizon step k: whole days reaching before the origin
        (src/validate/seasonal-naive.ts: k = 0 forecasts the origin step itself)."""
        return self.period * (k // self.period + 1)

    def step_epochs(self, steps):
        return self.start_epoch + self.resolution * np.asarray(steps, dtype=np.int64)

    def lookback_complete(self, lookback):
        """[S, O] bool: the `lookback` steps before each origin have no NaN in any feature."""
        if lookback <= 0:
            return np.ones((len(self.names), len(self.origins)), dtype=bool)
        bad = np.concatenate([np.zeros((self._all_finite.shape[0], 1), np.int64),
                              np.cumsum(~self._all_finite, axis=1)], axis=1)
        lo = self.origins - lookback
        ok = lo >= 0
        lo = np.maximum(lo, 0)
        return ((bad[:, self.origins] - bad[:, lo]) == 0) & ok[None, :]

    def to_raw(self, values, target_axis):
        """Modelling space -> raw units (expm1 for log1p targets, clamped like the TFT)."""
        out = np.array(values, dtype=np.float64, copy=True)
        for t, is_log in enumerate(self.log1p):
            if is_log:
                sl = [slice(None)] * out.ndim
                sl[target_axis] = t
                sl = tuple(sl)
                out[sl] = np.expm1(np.minimum(out[sl], LOG1P_CLAMP))
        return out

    def finalize(self, forecast_u):
        """[S, O, H, T, Q] in modelling space -> raw units, clipped to each target's bounds, quantiles sorted.

        Sorting after clipping keeps every quantile inside the bounds; a cell with any NaN quantile is
        NaN in all of them (a peer either forecasts a step or it does not)."""
        out = self.to_raw(forecast_u, target_axis=3)
        for t, target in enumerate(self.targets):
            lo, hi = self.request.bounds.get(target, (None, None))
            if lo is not None or hi is not None:
                out[:, :, :, t] = np.clip(out[:, :, :, t], lo if lo is not None else -np.inf,
                                          hi if hi is not None else np.inf)
        bad = np.isnan(out).any(axis=-1, keepdims=True)
        out = np.sort(out, axis=-1)
        out = np.where(bad, np.nan, out)
        return out.astype(np.float32)


def take(u, rows, targets, steps, limit):
    """u[rows, targets, steps] with NaN where a step is < 0 or >= `limit` (the origin: no future value
    can leak into a forecast). All index arrays broadcast together."""
    steps = np.asarray(steps)
    ok = (steps >= 0) & (steps < np.asarray(limit)) & (steps < u.shape[2])
    safe = np.where(ok, steps, 0)
    return np.where(ok, u[rows, targets, safe], np.nan)


def seasonal_naive_u(panel):
    """[S, O, H, T] seasonal naive point forecast in modelling space (NaN where the lag value is missing)."""
    S, O, H, T, _ = panel.shape
    k = np.arange(H)
    lags = np.array([panel.seasonal_lag(int(x)) for x in k])
    steps = panel.origins[:, None] + k[None, :] - lags[None, :]  # [O, H]
    rows = np.arange(S)[:, None, None, None]
    tg = np.arange(T)[None, None, None, :]
    return take(panel.u, rows, tg, steps[None, :, :, None], panel.origins[None, :, None, None])
