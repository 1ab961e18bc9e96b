"""Fleetcast trainer: a Temporal Fusion Transformer for server metrics, exported to ONNX."""

__version__ = "1.0.0"
