"""Measurement and adaptation: attribution, lift against the holdout, off-policy
evaluation, drift detection and the measurement report."""
