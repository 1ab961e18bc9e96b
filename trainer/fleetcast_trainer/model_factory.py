"""Builds a TFT from profiles.json settings and the dataset's feature list."""

from .features import KNOWN_FEATURES
from .model import TFT
from .profiles import OPTIONAL_KEYS


def build_model(doc, profile, observed_features, num_servers, num_profiles):
    norm = doc["normalization"]
    return TFT(
        num_servers=num_servers,
        num_profiles=num_profiles,
        n_observed=len(observed_features),
        n_known=len(KNOWN_FEATURES),
        target_idx=[observed_features.index(t) for t in doc["targets"]],
        log1p_mask=[norm[f]["transform"] == "log1p" for f in observed_features],
        std_floor=[float(norm[f]["std_floor"]) for f in observed_features],
        lookback=profile["lookback_steps"],
        horizon=profile["horizon_steps"],
        quantiles=doc["quantiles"],
        hidden=profile["hidden_size"],
        heads=profile["attention_heads"],
        dropout=profile["dropout"],
        season_steps=(
            86400 // profile["resolution_seconds"]
            if "resolution_seconds" in profile and profile.get("seasonal_residual", OPTIONAL_KEYS["seasonal_residual"])
            else None
        ),
        seasonal_baseline=profile.get("seasonal_baseline", OPTIONAL_KEYS["seasonal_baseline"]),
        decoder_seasonal_lags=profile.get("decoder_seasonal_lags", OPTIONAL_KEYS["decoder_seasonal_lags"]),
        seasonal_lag_days=profile.get("seasonal_lag_days", OPTIONAL_KEYS["seasonal_lag_days"]),
        encoder_steps=profile.get("encoder_steps", OPTIONAL_KEYS["encoder_steps"]) or None,
    )
