"""The app bundle (opt in: pytest -m bundle): packaging/build-bundle.sh builds it, and the built app,
copied outside the repo, answers --version headless."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO


@pytest.mark.bundle
def test_the_bundle_builds_and_answers_version_outside_the_repo():
    subprocess.run(["bash", "packaging/build-bundle.sh"], cwd=REPO, check=True, timeout=1800)
    assert (REPO / "dist" / "SecondMe" / "secondme.desktop").is_file()
    smoke = subprocess.run(["bash", "packaging/smoke-test.sh"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert smoke.returncode == 0, smoke.stderr
    assert "smoke test passed: secondme-app " in smoke.stdout
