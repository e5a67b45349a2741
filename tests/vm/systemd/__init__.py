"""The systemd part of the VM tier (tests/vm/README.md). A package, so that pytest imports this
directory's conftest as systemd.conftest and leaves the module name `conftest` to
tests/vm/conftest.py, from which the drivers part's test modules import."""
