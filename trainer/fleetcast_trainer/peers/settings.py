"""Every tunable of the peers in one frozen object, settled from the command line (docs/peers.md)."""

from dataclasses import asdict, dataclass

from ..errors import DatasetError

PEERS = ("gbm", "ets", "qnaive")
ETS_TRENDS = ("none", "add", "damped")


@dataclass(frozen=True)
class PeerSettings:
    peers: tuple = PEERS  # which peers to run, in this order
    seed: int = 0  # GBM's row sample and its early-stopping split
    threads: int = 2  # OpenMP threads for GBM, worker processes for the ETS fits
    # qnaive: the error quantiles come from the last `qnaive_window_days` before each origin
    qnaive_window_days: int = 14
    qnaive_min_errors: int = 24  # fewer finite past errors: plain seasonal naive at every quantile
    # ets: parameters fitted on the last `ets_fit_days` before fit_end_step
    ets_fit_days: int = 14
    ets_trend: str = "none"  # none | add | damped (additive, damped)
    # gbm
    gbm_max_rows: int = 300_000  # training rows sampled from all (server, origin, step) before fit_end_step
    gbm_max_iter: int = 200
    gbm_learning_rate: float = 0.1
    gbm_max_leaf_nodes: int = 31
    gbm_min_samples_leaf: int = 200
    # also the value one week before the forecast step (NaN where the data is shorter): off by default, so
    # the peer sees what the issue specifies (1- and 2-day lags) and no more history than the TFT's lookback
    gbm_weekly_lag: bool = False

    def __post_init__(self):
        for p in self.peers:
            if p not in PEERS:
                raise DatasetError(f"--peers: unknown peer {p!r}; choose from {', '.join(PEERS)}")
        if not self.peers or len(set(self.peers)) != len(self.peers):
            raise DatasetError("--peers must name each peer at most once, and at least one")
        if self.ets_trend not in ETS_TRENDS:
            raise DatasetError(f"--ets-trend must be one of {', '.join(ETS_TRENDS)}")
        for name in ("threads", "qnaive_window_days", "qnaive_min_errors", "ets_fit_days", "gbm_max_rows",
                     "gbm_max_iter", "gbm_max_leaf_nodes", "gbm_min_samples_leaf"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise DatasetError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not 0 < self.gbm_learning_rate <= 1:
            raise DatasetError("--gbm-learning-rate must be in (0, 1]")

    def for_peer(self, peer):
        """The settings one peer uses (recorded in forecasts.json)."""
        prefix = f"{peer}_"
        out = {k[len(prefix):]: v for k, v in asdict(self).items() if k.startswith(prefix)}
        if peer == "gbm":
            out["random_state"] = self.seed
        return out
