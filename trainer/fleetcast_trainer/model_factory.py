"""Builds the forecaster from a profile and the dataset's feature list."""

from .features import KNOWN_FEATURES
from .model import SeasonalResidualTFT
from .profiles import SECONDS_PER_DAY, Profile


def build_model(doc, profile, observed_features, num_servers, num_profiles):
    """`doc` is the profiles document with the dataset's metric set (targets, quantiles, normalization
    and optional bounds: metric_set.with_metric_set); `profile` a Profile, or a profile mapping such as
    a train report's "hyperparameters" (bench/service_eager.py passes one)."""
    if not isinstance(profile, Profile):
        profile = Profile.from_dict(profile)
    norm = doc["normalization"]
    return SeasonalResidualTFT(
        num_servers=num_servers,
        num_profiles=num_profiles,
        n_observed=len(observed_features),
        n_known=len(KNOWN_FEATURES),
        target_idx=[observed_features.index(t) for t in doc["targets"]],
        log1p_mask=[norm[f]["transform"] == "log1p" for f in observed_features],
        std_floor=[float(norm[f]["std_floor"]) for f in observed_features],
        lookback=profile.lookback_steps,
        horizon=profile.horizon_steps,
        quantiles=doc["quantiles"],
        hidden=profile.hidden_size,
        heads=profile.attention_heads,
        dropout=profile.dropout,
        season_steps=SECONDS_PER_DAY // profile.resolution_seconds if profile.seasonal_residual else None,
        seasonal_baseline=profile.seasonal_baseline,
        decoder_seasonal_lags=profile.decoder_seasonal_lags,
        seasonal_lag_days=profile.seasonal_lag_days,
        encoder_steps=profile.encoder_steps or None,
        decoder_window_stats=profile.decoder_window_stats,
        normalization_steps=profile.normalization_steps or None,
        normalization_center_steps=profile.normalization_center_steps or None,
        normalization_scale=profile.normalization_scale,
        gate_mismatch=profile.gate_mismatch,
        target_bounds=[tuple(doc.get("bounds", {}).get(t, (None, None))) for t in doc["targets"]],
    )
