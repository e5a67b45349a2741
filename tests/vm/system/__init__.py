"""The system test (README.md). A package, so that pytest imports this directory's conftest as
system.conftest and leaves the module name `conftest` to tests/vm/conftest.py, from which the
tier's test modules and mgclient.py import."""
