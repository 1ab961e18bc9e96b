"""Peer forecasters scored beside the TFT on the held-out window (docs/peers.md).

`python3 -m fleetcast_trainer.peers --input DATASET_DIR --out DIR [--peers gbm,ets,qnaive] [--json]`

- `qnaive`: seasonal naive plus the empirical quantiles of its own past errors, per server and target;
- `ets`: per-server additive Holt-Winters (statsmodels ExponentialSmoothing), updated at each origin,
  quantiles from its in-sample multi-step errors;
- `gbm`: one global HistGradientBoostingRegressor (quantile loss) per target and quantile, with the
  horizon step as a feature.

Everything here reads the training dataset directory (dataset.json + dataset.f32) and needs numpy;
`ets` needs statsmodels and `gbm` scikit-learn, imported only when those peers run.
"""
