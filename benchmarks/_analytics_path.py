"""Put the analytics package on sys.path so benchmarks import it without Home Assistant."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE_PARENT = REPO / "custom_components" / "predictive_maintenance"

if str(PACKAGE_PARENT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_PARENT))
