"""The app bundle (-m "not bundle" leaves it out): packaging/build-bundle.sh builds it, and the built
app, copied outside the repo, answers --version headless."""

from __future__ import annotations

import subprocess
import sys

import pytest

from secondme import __version__
from tests.conftest import REPO


@pytest.mark.bundle
def test_the_bundle_builds_and_answers_version_outside_the_repo():
    subprocess.run(["bash", "packaging/build-bundle.sh"], cwd=REPO, check=True, timeout=1800)
    assert (REPO / "dist" / "SecondMe" / "secondme.desktop").is_file()
    smoke = subprocess.run(["bash", "packaging/smoke-test.sh"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert smoke.returncode == 0, smoke.stderr
    assert "smoke test passed: secondme-app " in smoke.stdout


def test_the_app_answers_version_without_a_window_or_a_data_dir(secondme_home):
    code = "import sys; sys.argv = ['secondme-app', '--version']; from secondme.ui.main import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"secondme-app {__version__}"
    assert not any(secondme_home.iterdir())  # no config, key or database was created
