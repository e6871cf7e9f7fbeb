"""Deterministic upstream simulator: what provincial and city platforms return to a county."""
