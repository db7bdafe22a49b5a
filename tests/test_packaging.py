"""The wheel is enough to run Visitscore: built offline with the locked backend,
installed in a clean virtual environment, it makes the demo and serves the app."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from server.settings import ROOT
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("visitscore-*.whl")
    return path, build.stdout + build.stderr


def test_the_wheel_carries_the_app_and_builds_without_warnings(wheel: tuple[Path, str]) -> None:
    path, output = wheel
    assert "warning" not in output.lower(), output
    names = set(zipfile.ZipFile(path).namelist())
    for asset in [
        *(p.relative_to(ROOT) for p in (ROOT / "pwa").rglob("*") if p.is_file()),
        *(p.relative_to(ROOT) for p in (ROOT / "static").rglob("*") if p.is_file()),
        Path("service-worker.js"),
    ]:
        assert f"server/_assets/{asset.as_posix()}" in names, asset
    for packaged in [
        "server/migrations/0001_initial.sql",
        "server/questionnaires/default.json",
        "server/templates/base.html",
        "server/locale/fr/LC_MESSAGES/messages.po",
    ]:
        assert packaged in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]


def test_an_installed_wheel_makes_the_demo_and_serves_the_app(
    wheel: tuple[Path, str], tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel[0]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stderr
    # The dependencies come from the test environment (no network in tests); the
    # checkout itself is not on the clean environment's path.
    site = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.check_output(
        [python, "-c", "import server; print(server.__file__)"], text=True, cwd=tmp_path
    )
    assert where.startswith(str(env_dir)), where

    data = tmp_path / "data"
    demo = subprocess.run(
        [str(env_dir / "bin" / "visitscore"), "demo", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert demo.returncode == 0, demo.stderr
    server = LiveServer(data, python=python, cwd=tmp_path)
    try:
        for path, kind in [
            ("/app/", "text/html"),
            ("/service-worker.js", "javascript"),
            ("/static/style.css", "text/css"),
            ("/app/app.js", "javascript"),
        ]:
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                assert response.status == 200, path
                assert kind in response.headers["content-type"], path
                assert response.read(), path
    finally:
        server.stop()
