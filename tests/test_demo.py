from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

from tests.conftest import DEMO_TODAY, build_demo, db_rows


def q(path: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    db = sqlite3.connect(path / "visitscore.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_demo_has_the_promised_shape(demo_template: Path) -> None:
    assert q(demo_template, "SELECT name FROM chains") == [("Toko Contoh",)]
    assert q(demo_template, "SELECT count(*), count(DISTINCT region) FROM branches") == [(12, 3)]
    roles = dict(q(demo_template, "SELECT role, count(*) FROM users GROUP BY role"))
    assert roles == {"admin": 1, "reviewer": 1, "manager": 1, "owner": 2, "shopper": 3}
    owned = q(
        demo_template,
        "SELECT u.email, count(*) FROM branch_owners o JOIN users u"
        " ON u.id = o.user_id GROUP BY u.email ORDER BY 1",
    )
    assert owned == [("owner2@demo.test", 4), ("owner@demo.test", 4)]
    open_per_shopper = q(
        demo_template,
        "SELECT u.email, count(a.id) FROM users u LEFT JOIN"
        " assignments a ON a.shopper_id = u.id AND a.state = 'open'"
        " WHERE u.role = 'shopper' GROUP BY u.email",
    )
    assert len(open_per_shopper) == 3 and all(n >= 3 for _, n in open_per_shopper)


def test_demo_spans_six_months_of_varied_approved_visits(demo_template: Path) -> None:
    ((first, last, n),) = q(
        demo_template,
        "SELECT min(started_utc), max(started_utc), count(*) FROM visits WHERE state = 'approved'",
    )
    span = date.fromisoformat(last[:10]) - date.fromisoformat(first[:10])
    assert 150 <= span.days <= 190 and n >= 150
    assert date.fromisoformat(last[:10]) < DEMO_TODAY
    by_branch = dict(
        q(
            demo_template,
            "SELECT b.code, avg(v.score_total) FROM visits v JOIN"
            " branches b ON b.id = v.branch_id WHERE v.state = 'approved'"
            " GROUP BY b.code",
        )
    )
    assert by_branch["JKT-MTG"] > 75  # great
    assert by_branch["JKT-KGD"] < 60  # ninja-quiet
    assert by_branch["JKT-KMG"] < 60  # long queues
    assert max(by_branch.values()) - min(by_branch.values()) > 30
    checkout = q(
        demo_template,
        "SELECT avg(json_extract(v.scores, '$.sections[1]'))"
        " FROM visits v JOIN branches b ON b.id = v.branch_id"
        " WHERE b.code = 'JKT-KMG'",
    )[0][0]
    assert checkout < 50  # the long-queue branch loses it at the checkout
    # Some visits wait for review, so the reviewer has a queue.
    assert q(demo_template, "SELECT count(*) FROM visits WHERE state = 'submitted'")[0][0] > 0


def test_demo_photos_are_stored_and_stripped(demo_template: Path) -> None:
    from PIL import Image

    rows = q(demo_template, "SELECT blob_key, width, height FROM photos")
    assert len(rows) >= 10
    for key, width, height in rows:
        display = demo_template / "photos" / key[:2] / key[2:4] / f"{key}-display.jpg"
        thumb = display.with_name(f"{key}-thumb.jpg")
        with Image.open(display) as image:
            assert max(image.size) <= 1600 and not image.getexif()
        with Image.open(thumb) as image:
            assert max(image.size) <= 320
        assert width and height


def test_every_state_change_is_audited(demo_template: Path) -> None:
    missing = q(
        demo_template,
        "SELECT count(*) FROM visits v WHERE v.state = 'approved' AND NOT"
        " EXISTS (SELECT 1 FROM audit_log a WHERE a.entity = 'visit' AND"
        " a.entity_id = v.visit_uuid AND a.action = 'visit.approved')",
    )
    assert missing == [(0,)]


def test_demo_is_deterministic(demo_template: Path, tmp_path: Path) -> None:
    build_demo(tmp_path / "again")
    sql = (
        "SELECT visit_uuid, branch_id, shopper_id, answers, stamps, score_total, state"
        " FROM visits ORDER BY id"
    )
    assert q(tmp_path / "again", sql) == q(demo_template, sql)
    assert q(tmp_path / "again", "SELECT id, sha256 FROM photos ORDER BY id") == q(
        demo_template, "SELECT id, sha256 FROM photos ORDER BY id"
    )


def test_demo_visits_carry_a_content_hash_as_the_api_computes_it(demo_template: Path) -> None:
    rows = db_rows(demo_template, "SELECT content_hash FROM visits")
    assert rows and all(re.fullmatch("[0-9a-f]{64}", h) for (h,) in rows)
    assert len({h for (h,) in rows}) == len(rows)  # each visit's body is its own
