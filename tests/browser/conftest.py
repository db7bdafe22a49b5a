"""Browser tests: Debian's Chromium driven by Playwright against a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, copy_data

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`visitscore serve` on a free local port, on a copy of the demo data."""
    data = copy_data(demo_template, tmp_path_factory.mktemp("live") / "data")
    server = LiveServer(data)
    yield server
    server.stop()


@pytest.fixture
def app_server(demo_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own on a fresh copy of the demo data, for one test."""
    server = LiveServer(copy_data(demo_template, tmp_path / "data"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_csp_violations(context: Any) -> Iterator[list[str]]:
    """Every browser test fails if a page breaks the Content-Security-Policy: whatever
    the app or a page does in a test must work under it."""
    violations: list[str] = []

    def seen(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    context.on("console", seen)
    yield violations  # a test that provokes one on purpose takes it out of this list
    assert not violations, violations
