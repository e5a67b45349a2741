"""Fixtures of the systemd tier: the VM booted systemd as PID 1 (tests/vm/systemd/guest-run)
and the Debian packages of this tree built on the host (tests/package/build-debs, in
$MEDIAGATE_DEBS). The tests run in file order: install and upgrade, the unit under systemd,
purge. The helpers are in vmsystemd.py."""

import os
from pathlib import Path

import pytest

IN_SYSTEMD_VM = os.environ.get("MEDIAGATE_VM_INIT") == "systemd"
if not IN_SYSTEMD_VM:
    # Only in the VM that booted systemd (tests/vm/run-tier runs it after the other VM tests).
    collect_ignore_glob = ["test_*.py"]
else:
    from .vmsystemd import PACKAGES, installed_version_of, repack_with_version


@pytest.fixture(scope="session")
def debs():
    """The packages of this tree, built on the host: {package: path}."""
    d = Path(os.environ.get("MEDIAGATE_DEBS", ""))
    found = {p.name.split("_")[0]: p for p in d.glob("*.deb") if "dbgsym" not in p.name}
    assert set(PACKAGES) <= set(found), f"no packages in {d} (tests/package/build-debs): {sorted(found)}"
    return found


@pytest.fixture(scope="session")
def previous_debs(debs, tmp_path_factory):
    """The packages as an older release: the version lowered below the built one."""
    dest = tmp_path_factory.mktemp("previous")
    version = installed_version_of(debs["mediagate"])
    previous = version + "~vmtest1"
    return {name: repack_with_version(path, version, previous, dest) for name, path in debs.items()}, previous


def pytest_sessionstart(session):
    if IN_SYSTEMD_VM:
        # The VM is throw-away: man-db's index is not worth minutes of emulated CPU per dpkg run.
        Path("/var/lib/man-db/auto-update").unlink(missing_ok=True)
        # A host that is a container image forbids maintainer scripts to start services
        # (policy-rc.d exits 101); the VM is a real system, where they do.
        Path("/usr/sbin/policy-rc.d").unlink(missing_ok=True)
