"""Predictive Maintenance for ESPHome devices."""
