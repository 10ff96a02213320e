"""The ESPHome side: native API link, entity-to-metric mapping, reboot and silence detection."""
