"""The analytics tests are plain unit tests: no Home Assistant fixtures needed."""
