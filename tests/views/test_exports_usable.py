"""Exports people can use (issue "Telling people"): the answers in the reader's words,
the comments, the local time, the questionnaire and version, the period and the region;
`;` and a decimal comma for French and Indonesian spreadsheets; XLSX; and every photo of
a period and some branches as a ZIP made in the background."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.api.conftest import jpeg_bytes, manifest, new_id, open_assignments, visit_body
from tests.conftest import csrf_token, db_rows, login
from tests.views.test_mail import run_queue


def visit_with_answers(client: TestClient, photos: int = 0) -> tuple[str, list[bytes]]:
    """A visit the shopper sends (the answers of tests/api/conftest.py, a comment that
    looks like a formula) and the reviewer approves."""
    login(client, "shopper@demo.test")
    assignment = open_assignments(client)[0]
    visit_id = new_id()
    data = [jpeg_bytes(color=(10 * n, 90, 200)) for n in range(1, photos + 1)]
    entries = [manifest(d) for d in data]
    body = visit_body(assignment, photos=entries, comment="=1+1 is not a formula")
    sent = client.put(f"/api/v1/visits/{visit_id}", json=body)
    assert sent.status_code == 201, sent.text
    for entry, photo in zip(entries, data, strict=True):
        stored = client.put(f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=photo)
        assert stored.status_code == 201
    login(client, "reviewer@demo.test")
    approved = client.post(
        f"/review/{visit_id}/approve",
        data={"csrf_token": csrf_token(client, "/review")},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    return visit_id, data


def table(client: TestClient, path: str, language: str = "en") -> list[dict[str, str]]:
    answer = client.get(path, headers={"accept-language": language})
    assert answer.status_code == 200, answer.text[:300]
    delimiter = ";" if language in ("fr", "id") else ","
    text = answer.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def test_the_visits_export_reads_like_the_report(demo_client: TestClient, demo_dir: Path) -> None:
    visit_id, _photos = visit_with_answers(demo_client)
    login(demo_client, "manager@demo.test")
    rows = table(demo_client, "/chains/1/visits.csv?from=2026-11&to=2026-11")
    (row,) = [r for r in rows if r["Visit"] == visit_id]
    assert row["Date"] == "2026-11-24" and row["Time"] == "10:00"  # the branch's clock
    assert (row["Questionnaire"], row["Version"]) == ("default", "1")
    assert row["Staffed tills open / total"] == "1 of 15 open"
    assert row["Was your problem solved during the visit?"] == "Partly resolved"
    assert row["Eye contact and smile"] == "3 of 4"
    assert row["Self-checkouts open / total"] == "N/A"
    assert row["Anything else the owner should know"] == "Queue was long."
    assert "Eye contact and smile: smiled, busy" in row["Comments on answers"]
    assert row["Visit comment"] == "'=1+1 is not a formula"  # never run as a formula
    assert float(row["Score"]) > 0 and row["tills"]  # the scores stay as they were

    french = table(demo_client, "/chains/1/visits.csv?from=2026-11&to=2026-11", "fr")
    (row,) = [r for r in french if r["Visite"] == visit_id]
    assert row["Votre problème a-t-il été résolu pendant la visite ?"] == "Partiellement résolu"
    assert "," in row["Score"] and "." not in row["Score"]  # a decimal comma

    as_json = demo_client.get("/chains/1/visits.json?from=2026-11&to=2026-11").json()
    (visit,) = [v for v in as_json["visits"] if v["visit_id"] == visit_id]
    assert visit["answers"]["tills"] == {
        "question": "Staffed tills open / total",
        "text": "1 of 15 open",
        "value": {"open": 1, "total": 15},
        "na": False,
        "comment": "",
    }
    assert visit["started_at"] == "2026-11-24T10:00:00+07:00"
    assert visit["questionnaire"] == {"id": "default", "version": 1}


def test_an_export_keeps_to_its_period_and_region(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "manager@demo.test")
    rows = table(demo_client, "/chains/1/visits.csv?from=2026-09&to=2026-10&region=Bali")
    expected = db_rows(
        demo_dir,
        "SELECT count(*) FROM visits v JOIN branches b ON b.id = v.branch_id"
        " WHERE v.state = 'approved' AND b.region = 'Bali'"
        " AND v.local_date >= '2026-09-01' AND v.local_date < '2026-11-01'",
    )[0][0]
    assert len(rows) == expected > 0
    assert {r["Region"] for r in rows} == {"Bali"}
    assert all("2026-09-01" <= r["Date"] < "2026-11-01" for r in rows)
    assert demo_client.get("/chains/1/visits.csv?region=Atlantis").status_code == 400


def xlsx_rows(content: bytes) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_every_export_also_comes_as_xlsx(demo_dir: Path) -> None:
    settings = Settings(data_dir=demo_dir, run_jobs=False)
    with TestClient(create_app(settings)) as client:
        visit_id, _photos = visit_with_answers(client)
        login(client, "manager@demo.test")
        csrf = csrf_token(client, "/chains/1/compare")
        asked = client.post(
            "/chains/1/exports",
            data={"csrf_token": csrf, "format": "xlsx", "from": "2026-11", "to": "2026-11"},
            follow_redirects=False,
        )
        assert asked.status_code == 303
        run_queue(settings)
        done = client.get(asked.headers["location"] + ".json").json()
        assert done["state"] == "done", done
        download = client.get(done["file"])
        assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert (
            'filename="visits-TOKO-2026-11-to-2026-11.xlsx"'
            in download.headers["content-disposition"]
        )
        rows = xlsx_rows(download.content)
        streamed = table(client, "/chains/1/visits.csv?from=2026-11&to=2026-11")
        assert list(rows[0]) == list(streamed[0].keys())
        assert len(rows) - 1 == len(streamed) == done["rows"]
        mine = next(r for r in rows if r[0] == visit_id)
        header = list(rows[0])
        assert isinstance(mine[header.index("Score")], float)  # a number, not text
        assert mine[header.index("Visit comment")] == "=1+1 is not a formula"  # text
        assert mine[header.index("Staffed tills open / total")] == "1 of 15 open"

        compared = client.get("/chains/1/compare.xlsx?from=2026-06&to=2026-11")
        assert compared.status_code == 200
        sheet = xlsx_rows(compared.content)
        assert sheet[0][:2] == ("Branch", "Code") and len(sheet) == 13
        assert isinstance(sheet[1][4], float)


def test_the_photos_of_a_period_and_branches_come_as_a_zip(demo_dir: Path) -> None:
    settings = Settings(data_dir=demo_dir, run_jobs=False)
    with TestClient(create_app(settings)) as client:
        visit_id, _sent = visit_with_answers(client, photos=2)
        branch = db_rows(
            demo_dir, "SELECT branch_id FROM visits WHERE visit_uuid = ?", (visit_id,)
        )[0][0]
        login(client, "manager@demo.test")
        asked = client.post(
            "/chains/1/photo-exports",
            data={
                "csrf_token": csrf_token(client, "/chains/1/compare"),
                "from": "2026-11",
                "to": "2026-11",
                "branches": [str(branch)],
            },
            follow_redirects=False,
        )
        assert asked.status_code == 303
        run_queue(settings)
        done = client.get(asked.headers["location"] + ".json").json()
        assert done["state"] == "done" and done["file_name"].endswith(".zip"), done
        download = client.get(done["file"])
        assert download.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        names = archive.namelist()
        assert names[-1] == "index.csv"
        mine = [n for n in names if visit_id in n]
        assert len(mine) == 2 and all(n.startswith("2026-11-24/") for n in mine)
        assert names[:-1] == sorted(names[:-1])  # in order: day, branch, visit
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
        assert {r["File"] for r in index} == set(names[:-1])
        assert {r["Visit"] for r in index if r["File"] in mine} == {visit_id}
        # Each file is the display copy the report shows.
        photo = archive.read(mine[0])
        assert photo.startswith(b"\xff\xd8") and len(photo) > 1000
        # Another branch's visits are not in it.
        codes = {r["Code"] for r in index}
        assert len(codes) == 1
        # A branch that is not one of this chain's is refused.
        bad = client.post(
            "/chains/1/photo-exports",
            data={"csrf_token": csrf_token(client, "/chains/1/compare"), "branches": ["999999"]},
        )
        assert bad.status_code == 422


@pytest.mark.parametrize("language", ["fr", "id"])
def test_a_french_or_indonesian_reader_gets_semicolons(
    demo_client: TestClient, language: str
) -> None:
    login(demo_client, "manager@demo.test")
    text = demo_client.get(
        "/chains/1/visits.csv?from=2026-11&to=2026-11", headers={"accept-language": language}
    ).content.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.count(";") > 20 and header.count(",") < header.count(";")
