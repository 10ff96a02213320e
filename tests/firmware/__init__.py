"""Tests of the firmware protocol layer: catalogue, images, OTA client and server."""
