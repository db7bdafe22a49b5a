"""``visitscore demo``: a deterministic, realistic programme to try everything with.

One chain, "Toko Contoh", with 12 branches in 3 regions. Each branch has a service
profile (ninja-quiet, long queues, scripted, fine until a problem, great, average), and
about six months of approved visits are drawn from it with a seeded random generator,
scored by the real scoring code. Owners' self-assessments are rosier than the
shoppers' findings, as in the survey behind this product.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

from . import photos
from .auth import hash_password
from .db import Database
from .photo_store import PhotoStore
from .queries import (
    action_plans,
    assignments,
    audit,
    chains,
    programme,
    questionnaires,
    rollups,
    summaries,
    users,
    visits,
)
from .queries import photos as photo_queries
from .questionnaire import Definition
from .scoring import score_visit
from .visit_payload import PhotoEntry, canonical_hash

PASSWORD = "visitscore-demo"
SEED = 20261123

DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin@demo.test", "Ayu Admin", "admin"),
    ("reviewer@demo.test", "Rina Reviewer", "reviewer"),
    ("manager@demo.test", "Made Manager", "manager"),
    ("owner@demo.test", "Oka Owner", "owner"),
    ("owner2@demo.test", "Olivia Owner", "owner"),
    ("shopper@demo.test", "Sari Shopper", "shopper"),
    ("shopper2@demo.test", "Sam Shopper", "shopper"),
    ("shopper3@demo.test", "Siti Shopper", "shopper"),
]

# code, name, region, city, address, lat, lon, time zone, profile
BRANCHES: list[tuple[str, str, str, str, str, float, float, str, str]] = [
    (
        "JKT-MTG",
        "Toko Contoh Menteng",
        "Jakarta",
        "Jakarta Pusat",
        "Jl. HOS Cokroaminoto 12",
        -6.1963,
        106.8324,
        "Asia/Jakarta",
        "great",
    ),
    (
        "JKT-KMG",
        "Toko Contoh Kemang",
        "Jakarta",
        "Jakarta Selatan",
        "Jl. Kemang Raya 45",
        -6.2607,
        106.8137,
        "Asia/Jakarta",
        "long_queue",
    ),
    (
        "JKT-KGD",
        "Toko Contoh Kelapa Gading",
        "Jakarta",
        "Jakarta Utara",
        "Jl. Boulevard Raya 8",
        -6.1588,
        106.9056,
        "Asia/Jakarta",
        "ninja",
    ),
    (
        "JKT-PLT",
        "Toko Contoh Pluit",
        "Jakarta",
        "Jakarta Utara",
        "Jl. Pluit Selatan 3",
        -6.1173,
        106.7901,
        "Asia/Jakarta",
        "average",
    ),
    (
        "JBR-DGO",
        "Toko Contoh Dago",
        "Jawa Barat",
        "Bandung",
        "Jl. Ir. H. Juanda 101",
        -6.8853,
        107.6134,
        "Asia/Jakarta",
        "scripted",
    ),
    (
        "JBR-BRG",
        "Toko Contoh Braga",
        "Jawa Barat",
        "Bandung",
        "Jl. Braga 56",
        -6.9175,
        107.6093,
        "Asia/Jakarta",
        "great",
    ),
    (
        "JBR-BGR",
        "Toko Contoh Bogor",
        "Jawa Barat",
        "Bogor",
        "Jl. Pajajaran 20",
        -6.5971,
        106.8060,
        "Asia/Jakarta",
        "fools_gold",
    ),
    (
        "JBR-BKS",
        "Toko Contoh Bekasi",
        "Jawa Barat",
        "Bekasi",
        "Jl. Ahmad Yani 7",
        -6.2383,
        106.9756,
        "Asia/Jakarta",
        "long_queue",
    ),
    (
        "BAL-DPS",
        "Toko Contoh Denpasar",
        "Bali",
        "Denpasar",
        "Jl. Teuku Umar 88",
        -8.6705,
        115.2126,
        "Asia/Makassar",
        "average",
    ),
    (
        "BAL-KTA",
        "Toko Contoh Kuta",
        "Bali",
        "Badung",
        "Jl. Legian 150",
        -8.7095,
        115.1686,
        "Asia/Makassar",
        "ninja",
    ),
    (
        "BAL-UBD",
        "Toko Contoh Ubud",
        "Bali",
        "Gianyar",
        "Jl. Raya Ubud 21",
        -8.5069,
        115.2625,
        "Asia/Makassar",
        "great",
    ),
    (
        "BAL-SNR",
        "Toko Contoh Sanur",
        "Bali",
        "Denpasar",
        "Jl. Danau Tamblingan 64",
        -8.6936,
        115.2614,
        "Asia/Makassar",
        "scripted",
    ),
]
OWNER_BRANCHES = {"owner@demo.test": BRANCHES[0:4], "owner2@demo.test": BRANCHES[8:12]}

SCENARIOS = [
    "Ask to return a shirt bought last week without the receipt.",
    "Ask for a size that is not on the shelf.",
    "Ask for help choosing a gift under Rp 200.000.",
    "Ask whether a product can be delivered to your home.",
    "",
]


@dataclass(frozen=True)
class Profile:
    """How likely each good thing is at a branch (0..1), and its typical waits."""

    greet: float  # greeted out loud, eye contact, thanks, farewell
    greet_delay: tuple[float, float]  # seconds: mean, spread
    tills_open: float  # share of tills open
    queue_wait: tuple[float, float]
    personal: float  # asked about needs, tailored, not scripted, options
    problem: float  # took ownership, resolved, courteous
    warmth: float  # overall friendliness, would return


PROFILES: dict[str, Profile] = {
    "great": Profile(0.92, (6, 4), 0.8, (70, 40), 0.85, 0.9, 0.9),
    "average": Profile(0.7, (15, 10), 0.55, (150, 80), 0.6, 0.65, 0.65),
    "ninja": Profile(0.25, (45, 25), 0.6, (120, 60), 0.4, 0.55, 0.4),
    "long_queue": Profile(0.7, (12, 8), 0.2, (420, 150), 0.55, 0.6, 0.5),
    "scripted": Profile(0.8, (8, 5), 0.6, (140, 60), 0.2, 0.6, 0.55),
    "fools_gold": Profile(0.85, (8, 5), 0.65, (110, 50), 0.7, 0.15, 0.6),
}


def _chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def _scale(rng: random.Random, p: float, lo: int, hi: int) -> int:
    centre = lo + p * (hi - lo)
    return max(lo, min(hi, round(rng.gauss(centre, (hi - lo) / 5))))


def draw_answers(
    rng: random.Random, profile: Profile, definition: Definition, has_scenario: bool
) -> tuple[dict[str, Any], dict[str, float]]:
    """Answers for one visit, plus the greeting delay and queue wait in seconds."""
    p = profile
    greeted = _chance(rng, p.greet)
    total_tills = rng.choice([4, 6, 8, 10, 15])
    open_tills = max(
        1,
        min(total_tills, round(total_tills * rng.uniform(p.tills_open - 0.2, p.tills_open + 0.2))),
    )
    answers: dict[str, Any] = {
        "greeted_verbally": {"value": greeted},
        "eye_contact": {"value": _scale(rng, p.greet, 0, 4)},
        "thanked": {"value": _chance(rng, p.greet)},
        "farewell": {"value": _chance(rng, p.greet - 0.1)},
        "tills": {"value": {"open": open_tills, "total": total_tills}},
        "people_ahead": {"value": max(0, round(rng.gauss(p.queue_wait[0] / 60, 1.5)))},
        "staff_idle": {"value": _chance(rng, 1 - p.tills_open)},
        "asked_needs": {"value": _chance(rng, p.personal)},
        "tailored_suggestion": {"value": _chance(rng, p.personal - 0.1)},
        "sounded_scripted": {"value": _chance(rng, 1 - p.personal)},
        "offered_options": {"value": _chance(rng, p.personal)},
        "friendliness": {"value": _scale(rng, p.warmth, 1, 5)},
        "would_return": {"value": _chance(rng, p.warmth)},
    }
    if rng.random() < 0.5:
        answers["self_checkouts"] = {"na": True}
    else:
        total = rng.choice([2, 4, 6])
        answers["self_checkouts"] = {"value": {"open": rng.randint(0, total), "total": total}}
    answers["used_name"] = {"na": True} if rng.random() < 0.7 else {"value": _chance(rng, 0.5)}
    if has_scenario:
        outcome = rng.random()
        resolution = (
            "resolved"
            if outcome < p.problem
            else "partly"
            if outcome < p.problem + (1 - p.problem) / 2
            else "passed_on"
        )
        answers["took_ownership"] = {"value": _chance(rng, p.problem)}
        answers["resolution"] = {"value": resolution}
        answers["stayed_courteous"] = {"value": _scale(rng, p.problem, 0, 4)}
    else:
        for key in ("took_ownership", "resolution", "stayed_courteous"):
            answers[key] = {"na": True}
    if not greeted and rng.random() < 0.5:
        answers["greeted_verbally"]["comment"] = "Nobody said hello; two staff were chatting."
    if open_tills <= total_tills // 4:
        answers["tills"]["comment"] = f"Only {open_tills} of {total_tills} tills open at peak time."
    known = {q["key"] for s in definition["sections"] for q in s["questions"]}
    assert set(answers) <= known, set(answers) - known
    delay = max(1.0, rng.gauss(*p.greet_delay))
    wait = max(5.0, rng.gauss(*p.queue_wait))
    return answers, {"greeting_delay": delay, "queue_wait": wait}


def draw_stamps(
    start: datetime, greeted: bool, delay: float, wait: float, rng: random.Random
) -> dict[str, str]:
    entered = start + timedelta(seconds=rng.randint(2, 15))
    joined = entered + timedelta(seconds=rng.randint(180, 900))
    served = joined + timedelta(seconds=wait)
    paid = served + timedelta(seconds=rng.randint(40, 200))
    left = paid + timedelta(seconds=rng.randint(15, 90))
    stamps = {
        "entered": entered,
        "joined_queue": joined,
        "served": served,
        "paid": paid,
        "left": left,
    }
    if greeted:
        stamps["greeted"] = entered + timedelta(seconds=delay)
    return {k: v.replace(microsecond=0).isoformat() for k, v in stamps.items()}


def demo_photo(rng: random.Random, label: str) -> bytes:
    """A photo-like JPEG of a checkout line: tills, people, a label."""
    width, height = 1200, 900
    image = Image.new("RGB", (width, height), (rng.randint(200, 235), rng.randint(200, 230), 210))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(height * 0.7), width, height), fill=(120, 110, 100))
    for i in range(6):
        x = 60 + i * 190
        lit = rng.random() < 0.5
        draw.rectangle((x, 380, x + 140, 640), fill=(60, 140, 70) if lit else (90, 90, 95))
        draw.rectangle(
            (x + 20, 300, x + 120, 370), fill=(240, 240, 240) if lit else (130, 130, 130)
        )
    for _ in range(rng.randint(2, 12)):
        x, y = rng.randint(40, width - 40), rng.randint(560, 800)
        draw.ellipse((x - 18, y - 80, x + 18, y - 44), fill=(70, 50, 40))
        draw.rectangle(
            (x - 22, y - 44, x + 22, y + 40), fill=tuple(rng.randint(30, 220) for _ in range(3))
        )
    draw.text((30, 30), label, fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


async def has_data(db: Database) -> bool:
    return await programme.has_data(db)


async def create_demo(
    db: Database, store: PhotoStore, today: date | None = None, seed: int = SEED
) -> dict[str, int]:
    """Fill an empty, migrated database with the demo programme. Deterministic for a
    given ``today`` and seed. Answers counts of what it made."""
    today = today or date.today()
    rng = random.Random(seed)
    uuid_rng = random.Random(seed + 1)

    def new_uuid() -> str:
        return str(uuid.UUID(int=uuid_rng.getrandbits(128), version=4))

    definition = await questionnaires.latest_published(db, "default")
    if definition is None:
        raise RuntimeError("the default questionnaire is missing: run migrations first")
    qid, qversion = definition["id"], definition["version"]
    password_hash = hash_password(PASSWORD)
    counts = {"visits": 0, "photos": 0, "assignments": 0}

    async with db.transaction() as tx:
        chain_id = await chains.create_chain(tx, "TOKO", "Toko Contoh")
        branch_ids: dict[str, int] = {}
        for code, name, region, city, address, lat, lon, tz, _profile in BRANCHES:
            branch_ids[code] = await chains.create_branch(
                tx,
                chain_id=chain_id,
                code=code,
                name=name,
                region=region,
                city=city,
                address=address,
                latitude=lat,
                longitude=lon,
                timezone=tz,
            )
        user_ids: dict[str, int] = {}
        for email, name, role in DEMO_USERS:
            owned = [branch_ids[b[0]] for b in OWNER_BRANCHES.get(email, [])]
            user_ids[email] = await users.create(
                tx,
                email=email,
                name=name,
                role=role,  # type: ignore[arg-type]
                password_hash=password_hash,
                branch_ids=owned,
                chain_ids=[chain_id] if role == "manager" else [],
                locale="id" if email == "owner2@demo.test" else None,
            )

    shoppers = [user_ids[e] for e, _n, r in DEMO_USERS if r == "shopper"]
    admin_id, reviewer_id = user_ids["admin@demo.test"], user_ids["reviewer@demo.test"]
    photo_jobs: list[tuple[str, bytes]] = []
    first_month = (today.replace(day=1) - timedelta(days=160)).replace(day=1)

    async with db.transaction() as tx:
        for code, _name, _region, _city, _address, lat, lon, tz, profile_name in BRANCHES:
            branch_id, zone, profile = branch_ids[code], ZoneInfo(tz), PROFILES[profile_name]
            day = first_month
            while day < today - timedelta(days=2):
                day += timedelta(days=rng.randint(6, 14))
                if day >= today - timedelta(days=1):
                    break
                shopper_id = rng.choice(shoppers)
                scenario = rng.choice(SCENARIOS)
                window_start = day - timedelta(days=rng.randint(0, 3))
                assignment_id = await assignments.create(
                    tx,
                    branch_id=branch_id,
                    shopper_id=shopper_id,
                    questionnaire_id=qid,
                    questionnaire_version=qversion,
                    window_start=window_start.isoformat(),
                    window_end=(window_start + timedelta(days=7)).isoformat(),
                    scenario=scenario,
                    state="done",
                    created_by=admin_id,
                )
                counts["assignments"] += 1
                start = datetime.combine(
                    day, time(rng.randint(9, 19), rng.randint(0, 59)), tzinfo=zone
                )
                answers, waits = draw_answers(rng, profile, definition, bool(scenario))
                stamps = draw_stamps(
                    start,
                    answers["greeted_verbally"]["value"],
                    waits["greeting_delay"],
                    waits["queue_wait"],
                    rng,
                )
                ended = datetime.fromisoformat(stamps["left"]) + timedelta(seconds=30)
                visit_uuid = new_uuid()
                manifest: list[dict[str, Any]] = []
                if rng.random() < 0.18:
                    data = demo_photo(rng, f"{code} {day.isoformat()}")
                    photo_id = new_uuid()
                    manifest.append(
                        {
                            "photo_id": photo_id,
                            "question": "checkout_photo",
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "bytes": len(data),
                            "content_type": "image/jpeg",
                        }
                    )
                    photo_jobs.append((photo_id, data))
                geo = {
                    "lat": round(lat + rng.gauss(0, 0.0004), 6),
                    "lon": round(lon + rng.gauss(0, 0.0004), 6),
                    "accuracy_m": rng.choice([5, 8, 12, 20, 35, 60]),
                }
                payload = {
                    "assignment_id": assignment_id,
                    "questionnaire": {"id": qid, "version": qversion},
                    "revision": 1,
                    "started_at": start.isoformat(),
                    "ended_at": ended.isoformat(),
                    "stamps": stamps,
                    "answers": answers,
                    "comment": "",
                    "geo": geo,
                    "photos": manifest,
                }
                score = score_visit(definition, answers, stamps)
                recent = day >= today - timedelta(days=12)
                state = "submitted" if recent else "approved"
                submitted = (ended + timedelta(hours=rng.randint(1, 20))).astimezone(
                    ZoneInfo("UTC")
                )
                submitted_iso = submitted.replace(microsecond=0).isoformat()
                visit_id = await visits.insert(
                    tx,
                    visit_uuid=visit_uuid,
                    revision=1,
                    assignment_id=assignment_id,
                    branch_id=branch_id,
                    shopper_id=shopper_id,
                    questionnaire_id=qid,
                    questionnaire_version=qversion,
                    state=state,
                    content_hash=canonical_hash(payload),  # as the API computes it
                    started_at=start.isoformat(),
                    ended_at=ended.isoformat(),
                    started_utc=start.astimezone(ZoneInfo("UTC")).isoformat(),
                    stamps=stamps,
                    answers=answers,
                    comment="",
                    geo=geo,
                    received_at=submitted_iso,
                    submitted_at=submitted_iso,
                    score=score,
                )
                await photo_queries.add_manifest(
                    tx,
                    visit_uuid,
                    1,
                    tuple(
                        PhotoEntry(
                            e["photo_id"], e["question"], e["sha256"], e["bytes"], e["content_type"]
                        )
                        for e in manifest
                    ),
                )
                await audit.record(
                    tx, shopper_id, "visit.submitted", "visit", visit_uuid, {"revision": 1}
                )
                if state == "approved":
                    await audit.record(
                        tx, reviewer_id, "visit.approved", "visit", visit_uuid, {"revision": 1}
                    )
                    await rollups.count_approval(tx, visit_id)
                counts["visits"] += 1

        # Open assignments for the coming weeks: at least three per shopper.
        codes = [b[0] for b in BRANCHES]
        for index, shopper_id in enumerate(shoppers):
            for n in range(4):
                code = codes[(index * 4 + n * 3) % len(codes)]
                start_day = today + timedelta(days=n * 4)
                await assignments.create(
                    tx,
                    branch_id=branch_ids[code],
                    shopper_id=shopper_id,
                    questionnaire_id=qid,
                    questionnaire_version=qversion,
                    window_start=start_day.isoformat(),
                    window_end=(start_day + timedelta(days=6)).isoformat(),
                    scenario=SCENARIOS[(index + n) % len(SCENARIOS)],
                    created_by=admin_id,
                )
                counts["assignments"] += 1

        # Owners' self-assessments: rosier than what shoppers find.
        for email, owned in OWNER_BRANCHES.items():
            for branch in owned:
                answers, _waits = draw_answers(rng, PROFILES["great"], definition, True)
                score = score_visit(definition, answers, {})
                await summaries.add_self_assessment(
                    tx,
                    branch_id=branch_ids[branch[0]],
                    author_id=user_ids[email],
                    definition=definition,
                    answers=answers,
                    stamps={},
                    total=score.total,
                    scores=score.to_json(),
                )
        owner_id = user_ids["owner@demo.test"]
        await action_plans.create(
            tx,
            branch_id=branch_ids["JKT-KMG"],
            author_id=owner_id,
            text="Open a second till whenever more than three people are waiting.",
            responsible="Store supervisor",
            due_date=(today + timedelta(days=21)).isoformat(),
            section_key="checkout",
            visit_id=None,
        )

    # Photos: process outside the transaction, then record them as received.
    for photo_id, data in photo_jobs:
        processed = photos.process(io.BytesIO(data))
        key = hashlib.sha256(data).hexdigest()
        await photos.save(store, key, processed)
        async with db.transaction() as tx:
            await photo_queries.mark_received(tx, photo_id, processed, original_kept=False)
        counts["photos"] += 1
    return counts
