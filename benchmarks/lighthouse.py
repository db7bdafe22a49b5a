"""Lighthouse on the shopper app, mobile profile: the login screen and the home screen of
a logged-in shopper, from a real ``visitscore serve`` of the demo data.

    .venv/bin/python benchmarks/lighthouse.py [--runs 3]

Lighthouse 12 (installed from benchmarks/node/package-lock.json by ``make bench-tools``)
drives Debian's Chromium with its default mobile profile: a Moto G Power sized screen,
simulated slow 4G and a 4× slower CPU. Scores are Lighthouse's own (0–100); each page is
measured ``--runs`` times and the median kept, as Lighthouse advises for its variance.

Target (issue "The shopper app on real phones"): performance at least 95 and
accessibility 100 on both screens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_server import visitscore_server  # noqa: E402

from tests.conftest import build_demo  # noqa: E402

CLI = ROOT / "benchmarks" / "node" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking"
    " --disable-component-update --disable-sync --no-first-run"
)
TARGETS = {"performance": 95, "accessibility": 100}


def session_cookie(base: str) -> str:
    """A shopper's session, as the browser would hold it after logging in."""
    request = urllib.request.Request(
        base + "/api/v1/session",
        data=json.dumps({"email": "shopper@demo.test", "password": "visitscore-demo"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        cookie = answer.headers["set-cookie"]
    return str(cookie).split(";", 1)[0]


def audit(url: str, out: Path, headers: dict[str, str]) -> dict[str, float]:
    """One Lighthouse run: its category scores (0–100) and a few metrics (ms)."""
    command = [
        "node",
        str(CLI),
        url,
        "--form-factor=mobile",
        "--only-categories=performance,accessibility",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if headers:
        command.append(f"--extra-headers={json.dumps(headers)}")
    subprocess.run(
        command,
        check=True,
        timeout=300,
        env={"CHROME_PATH": "/usr/bin/chromium", "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(out.read_text())
    scores = {k: round(c["score"] * 100) for k, c in report["categories"].items()}
    for name in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time"):
        scores[name] = report["audits"][name]["numericValue"]
    failing = [
        a["id"]
        for a in report["audits"].values()
        if a.get("scoreDisplayMode") == "binary"
        and a.get("score") == 0
        and a["id"] in {r["id"] for r in report["categories"]["accessibility"]["auditRefs"]}
    ]
    if failing:
        print(f"    accessibility audits failing: {', '.join(failing)}")
    return scores


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not CLI.exists():
        print("Lighthouse is not installed: run `make bench-tools`")
        return 1
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        build_demo(data)
        with visitscore_server(data) as (_process, base):
            screens = {
                "login": {},
                "home (logged in)": {"Cookie": session_cookie(base)},
            }
            for name, headers in screens.items():
                runs = [
                    audit(base + "/app/", Path(tmp) / f"report-{i}.json", headers)
                    for i in range(args.runs)
                ]
                median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                ok = all(median[k] >= v for k, v in TARGETS.items())
                met = met and ok
                print(
                    f"{name:18s} performance {median['performance']:.0f}"
                    f" (target ≥ {TARGETS['performance']}), accessibility"
                    f" {median['accessibility']:.0f} (target {TARGETS['accessibility']});"
                    f" FCP {median['first-contentful-paint'] / 1000:.1f} s, LCP"
                    f" {median['largest-contentful-paint'] / 1000:.1f} s, TBT"
                    f" {median['total-blocking-time']:.0f} ms"
                    f" over {args.runs} runs {'met' if ok else 'MISSED'}"
                )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
