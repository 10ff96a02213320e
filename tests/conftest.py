"""Fixtures shared by the Home Assistant tests.

The integration package is imported here, before the test plugin mounts its own config dir,
so that Home Assistant's loader resolves ``custom_components`` to this repository.
"""

from __future__ import annotations

import pytest

import custom_components.predictive_maintenance  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load our custom integration in every test."""
