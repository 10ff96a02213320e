"""The ESPHome side: native API link, probe, metric mapping."""
