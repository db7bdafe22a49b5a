"""What the mail tests share: a real SMTP server on loopback, and an app whose job queue
nobody runs but the test (so the test decides when mail goes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.settings import Settings
from tests.smtp import SmtpServer

SITE = "http://visitscore.test"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(demo_dir: Path, smtp: SmtpServer) -> Settings:
    return Settings(data_dir=demo_dir, run_jobs=False, smtp_url=smtp.url, public_url=SITE)
