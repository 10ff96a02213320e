"""Tests of the integration runtime inside Home Assistant, against simulated devices."""
