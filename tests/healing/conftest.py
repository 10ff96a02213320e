"""The healing tests are plain unit tests of the pure package: no Home Assistant."""
