"""The endpoint × role matrix: a row for every route and method of the app (a test fails
when one has none). Forms are sent with the role's own valid CSRF token, so what is
tested is the permission, not the token check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from server import auth
from server.app import create_app
from server.models import Branch, User
from server.settings import Settings
from tests.conftest import copy_data, db_rows, login

ROLES = ("anonymous", "admin", "reviewer", "manager", "owner", "shopper")
EMAILS = {
    "admin": "admin@demo.test",
    "reviewer": "reviewer@demo.test",
    "manager": "manager@demo.test",
    "owner": "owner@demo.test",
    "shopper": "shopper@demo.test",
}
SHOPPER_NAMES = ("Sari Shopper", "Sam Shopper", "Siti Shopper", "shopper@demo.test")


def everyone(status: int, anonymous: int) -> dict[str, int]:
    return {role: (anonymous if role == "anonymous" else status) for role in ROLES}


def only(role: str, status: int, others: int, anonymous: int = 401) -> dict[str, int]:
    return {r: anonymous if r == "anonymous" else status if r == role else others for r in ROLES}


def admin_only(status: int) -> dict[str, int]:
    return {**everyone(403, anonymous=401), "admin": status}


EXPORT = {"anonymous": 401, "admin": 200, "reviewer": 403, "manager": 200, "owner": 403}
EXPORT["shopper"] = 404
# Branch 1 (Jakarta) is the owner's and in the manager's chain; shoppers may not know it.
READERS_BRANCH_1 = {"anonymous": 401, "reviewer": 403, "manager": 403, "shopper": 404}
STAFF_ONLY = {**everyone(403, anonymous=401)}

VISIT = "/api/v1/visits/7d0f7c3e-2a43-4b4e-9a39-3f6c0d1c2b11"
PHOTO = "7d0f7c3e-2a43-4b4e-9a39-3f6c0d1c2b12"

# (method, path, expected status by role); PUTs and POSTs send an empty JSON object
ENDPOINTS: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/", everyone(200, anonymous=303)),
    ("GET", "/login", everyone(303, anonymous=200)),
    ("GET", "/api/v1/session", everyone(200, anonymous=401)),
    ("GET", "/api/v1/questionnaires/default/versions/1", everyone(200, anonymous=401)),
    ("GET", "/api/v1/questionnaires/default/versions/99", everyone(404, anonymous=401)),
    ("GET", "/healthz", everyone(200, anonymous=200)),
    ("GET", "/api/v1/openapi.json", everyone(200, anonymous=200)),
    ("GET", "/app/", everyone(200, anonymous=200)),
    ("GET", "/app/strings/id.json", everyone(200, anonymous=200)),
    ("GET", "/app/manifest/id.webmanifest", everyone(200, anonymous=200)),
    ("GET", "/service-worker.js", everyone(200, anonymous=200)),
    # reports: 404 (not 403) wherever the thing is not the user's to know about
    ("GET", "/chains/1/compare", {**everyone(200, anonymous=401), "shopper": 404}),
    ("GET", "/chains/1/compare.json", {**everyone(200, anonymous=401), "shopper": 404}),
    (
        "GET",
        "/chains/1/compare.csv",
        {
            "anonymous": 401,
            "admin": 200,
            "reviewer": 403,
            "manager": 200,
            "owner": 403,
            "shopper": 404,
        },
    ),
    (
        "GET",
        "/chains/1/visits.csv",
        {
            "anonymous": 401,
            "admin": 200,
            "reviewer": 403,
            "manager": 200,
            "owner": 403,
            "shopper": 404,
        },
    ),
    ("GET", "/chains/2/compare", everyone(404, anonymous=401)),
    ("GET", "/branches/1", {**everyone(200, anonymous=401), "shopper": 404}),
    ("GET", "/branches/1/visits", {**everyone(200, anonymous=401), "shopper": 404}),
    ("GET", "/branches/1/visits.json", {**everyone(200, anonymous=401), "shopper": 404}),
    (
        "GET",
        "/branches/1/action-plans/999999/evidence/display",
        {**everyone(404, anonymous=401)},
    ),
    ("GET", "/branches/12.json", {**everyone(200, anonymous=401), "owner": 404, "shopper": 404}),
    ("GET", "/branches/99", everyone(404, anonymous=401)),
    ("GET", "/review", {**everyone(403, anonymous=401), "admin": 200, "reviewer": 200}),
    ("POST", "/review/approve-many", {**STAFF_ONLY, "admin": 422, "reviewer": 422}),
    ("GET", "/review/notes", {**STAFF_ONLY, "admin": 200, "reviewer": 200}),
    ("POST", "/review/notes", {**STAFF_ONLY, "admin": 422, "reviewer": 422}),
    ("POST", "/review/notes/999999/archive", {**STAFF_ONLY, "admin": 404, "reviewer": 404}),
    ("GET", "/admin/programme", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/outbox-import", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/users", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/users/1", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/assignments", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/branches", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/branches/1", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/questionnaires", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/questionnaires/default", {**everyone(403, anonymous=401), "admin": 200}),
    ("GET", "/admin/questionnaires/nope", admin_only(404)),
    (
        "GET",
        "/admin/questionnaires/default/versions/1/preview",
        {**everyone(403, anonymous=401), "admin": 200},
    ),
    (
        "GET",
        "/admin/questionnaires/default/versions/1.json",
        {**everyone(403, anonymous=401), "admin": 200},
    ),
    (
        "GET",
        "/branches/1/self-assessment",
        {
            "anonymous": 401,
            "admin": 403,
            "reviewer": 403,
            "manager": 403,
            "owner": 200,
            "shopper": 404,
        },
    ),
    ("GET", "/visits/7d0f7c3e-2a43-4b4e-9a39-3f6c0d1c2b11", everyone(404, anonymous=401)),
    ("GET", "/api/v1/assignments", only("shopper", 200, others=403)),
    ("GET", "/api/v1/me/visits", only("shopper", 200, others=403)),
    ("POST", "/api/v1/assignments/999999/claim", only("shopper", 404, others=403)),
    ("PUT", VISIT, only("shopper", 422, others=403)),
    ("GET", VISIT, everyone(404, anonymous=401)),
    ("PUT", f"{VISIT}/photos/{PHOTO}", only("shopper", 404, others=403)),
    ("GET", f"/api/v1/photos/{PHOTO}/thumb", everyone(404, anonymous=401)),
    ("GET", "/app", everyone(308, anonymous=308)),
    ("GET", f"{VISIT.replace('/api/v1', '')}.json", everyone(404, anonymous=401)),
    ("GET", "/chains/1/visits.json", {**EXPORT}),
    ("POST", "/chains/1/exports", {**EXPORT, "admin": 303, "manager": 303}),
    ("GET", "/chains/1/compare.xlsx", {**EXPORT}),
    ("POST", "/chains/1/photo-exports", {**EXPORT, "admin": 303, "manager": 303}),
    ("POST", "/chains/2/exports", everyone(404, anonymous=401)),
    ("GET", "/exports/999999", everyone(404, anonymous=401)),
    ("GET", "/exports/999999.json", everyone(404, anonymous=401)),
    ("GET", "/exports/999999/file", everyone(404, anonymous=401)),
    ("GET", "/admin/jobs", {**everyone(403, anonymous=401), "admin": 200}),
    # Shopper pay: the agency makes, approves, pays and exports; a shopper reads their own.
    ("GET", "/admin/pay", admin_only(200)),
    ("GET", "/admin/pay.csv", admin_only(200)),
    ("GET", "/admin/pay.xlsx", admin_only(200)),
    ("POST", "/admin/pay/statements", admin_only(422)),
    ("POST", "/admin/pay/approve", admin_only(422)),
    ("POST", "/admin/pay/paid", admin_only(422)),
    ("GET", "/admin/pay/statements/999999", admin_only(404)),
    ("POST", "/admin/pay/visits/7d0f7c3e-2a43-4b4e-9a39-3f6c0d1c2b11", admin_only(404)),
    ("GET", "/api/v1/me/pay", only("shopper", 200, 403)),
    # The branches list as JSON, for the pickers that search as you type.
    ("GET", "/admin/branches.json", admin_only(200)),
    # The shopper roster and profiles; people from a CSV file.
    ("POST", "/admin/users/import", admin_only(422)),
    ("GET", "/admin/shoppers", admin_only(200)),
    ("POST", "/admin/users/999999/profile", admin_only(404)),
    # Qualifications: the agency defines them and gives them to shoppers.
    ("GET", "/admin/qualifications", admin_only(200)),
    ("POST", "/admin/qualifications", admin_only(422)),
    ("POST", "/admin/users/999999/qualifications", admin_only(404)),
    ("POST", "/admin/users/999999/qualifications/1/revoke", admin_only(404)),
    ("GET", "/admin/webhooks", admin_only(200)),
    ("POST", "/admin/webhooks", admin_only(422)),
    ("GET", "/admin/webhooks/999999", admin_only(404)),
    ("POST", "/admin/webhooks/999999/pause", admin_only(404)),
    ("POST", "/admin/webhooks/999999/resume", admin_only(404)),
    ("POST", "/admin/webhooks/999999/deliveries/999999/resend", admin_only(404)),
    # API tokens: the agency and the chain's managers; a shopper may not know the chain.
    ("GET", "/chains/1/tokens", {**EXPORT, "shopper": 404}),
    ("POST", "/chains/1/tokens", {**EXPORT, "admin": 422, "manager": 422}),
    ("POST", "/chains/1/tokens/999999/revoke", {**EXPORT, "admin": 404, "manager": 404}),
    ("POST", "/api/v1/session", everyone(422, anonymous=422)),
    ("POST", "/login", everyone(422, anonymous=422)),
    ("POST", "/language", everyone(422, anonymous=422)),
    ("GET", "/account/password", everyone(200, anonymous=401)),
    ("POST", "/account/password", everyone(422, anonymous=401)),
    ("GET", "/password-reset", everyone(200, anonymous=200)),
    ("POST", "/password-reset", everyone(422, anonymous=422)),
    # A password link is its own proof (an HMAC): without a valid one, nothing.
    ("GET", "/password-reset/1." + "0" * 40, everyone(404, anonymous=404)),
    ("POST", "/password-reset/1." + "0" * 40, everyone(404, anonymous=404)),
    ("GET", "/account/mail", everyone(200, anonymous=401)),
    ("POST", "/account/mail", everyone(422, anonymous=401)),
    # A stop link is its own proof (signed): without a valid one, nobody gets anywhere.
    ("GET", "/mail/stop/4.report_released." + "0" * 32, everyone(404, anonymous=404)),
    ("POST", "/mail/stop/4.report_released." + "0" * 32, everyone(404, anonymous=404)),
    (
        "POST",
        "/branches/1/action-plans",
        {**READERS_BRANCH_1, "admin": 422, "owner": 422},
    ),
    (
        "POST",
        "/branches/1/action-plans/999999/done",
        {**READERS_BRANCH_1, "admin": 404, "owner": 404},
    ),
    ("POST", "/branches/1/self-assessment", {**READERS_BRANCH_1, "admin": 403, "owner": 422}),
    (
        "POST",
        f"/review/{VISIT.rsplit('/', 1)[1]}/approve",
        {**STAFF_ONLY, "admin": 404, "reviewer": 404},
    ),
    (
        "POST",
        f"/review/{VISIT.rsplit('/', 1)[1]}/correct/eye_contact",
        {**STAFF_ONLY, "admin": 404, "reviewer": 404},
    ),
    (
        "POST",
        f"/review/{VISIT.rsplit('/', 1)[1]}/appeal",
        {**STAFF_ONLY, "admin": 404, "reviewer": 404},
    ),
    (
        "POST",
        f"/visits/{VISIT.rsplit('/', 1)[1]}/appeal",
        {**everyone(403, anonymous=401), "owner": 404, "manager": 404},
    ),
    # The programme's pages: every other role 403 for any id; an admin 404 for a missing one.
    *[
        ("POST", path, admin_only(status))
        for path, status in [
            ("/admin/assignments", 422),
            ("/admin/assignments/1/cancel", 409),
            ("/admin/assignments/999999/cancel", 404),
            ("/admin/assignments/1/shopper", 422),
            ("/admin/assignments/999999/shopper", 404),
            ("/admin/assignments/1/window", 422),
            ("/admin/assignments/999999/window", 404),
            ("/admin/branches", 422),
            ("/admin/branches/import", 422),
            ("/admin/branches/1", 422),
            ("/admin/branches/999999", 404),
            ("/admin/chains", 422),
            ("/admin/questionnaires", 422),
            ("/admin/questionnaires/import", 422),
            ("/admin/questionnaires/default/draft", 409),
            ("/admin/questionnaires/nope/draft", 404),
            ("/admin/questionnaires/default/publish", 409),
            ("/admin/users", 422),
            ("/admin/users/1/role", 422),
            ("/admin/users/999999/role", 404),
            ("/admin/users/1/deactivate", 409),
            ("/admin/users/999999/deactivate", 404),
            ("/admin/users/999999/activate", 404),
            ("/admin/users/1/password", 422),
            ("/admin/programme", 422),
            ("/admin/outbox-import", 422),
        ]
    ],
    ("POST", "/admin/users/1/activate", admin_only(303)),
    ("GET", "/admin/users/999999", admin_only(404)),
    ("GET", "/admin/branches/999999", admin_only(404)),
    ("GET", "/admin/questionnaires/default/questions/greeted_verbally", admin_only(303)),
    ("GET", "/admin/questionnaires/nope/questions/greeted_verbally", admin_only(404)),
    # These end the session they are sent with (the test logs in afresh for them).
    ("POST", "/logout", everyone(303, anonymous=303)),
    ("DELETE", "/api/v1/session", everyone(200, anonymous=200)),
]
SESSION_ENDING = {("POST", "/logout"), ("DELETE", "/api/v1/session")}


@pytest.fixture(scope="module")
def matrix_client(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    data = copy_data(demo_template, tmp_path_factory.mktemp("matrix") / "data")
    with TestClient(create_app(Settings(data_dir=data))) as client:
        tokens: dict[str, str] = {}
        for role, email in EMAILS.items():
            client.cookies.clear()
            login(client, email)
            tokens[role] = client.cookies["vs_session"]
        client.cookies.clear()
        yield client, tokens


def as_role(client: TestClient, tokens: dict[str, str], role: str) -> TestClient:
    client.cookies.clear()
    if role != "anonymous":
        client.cookies.set("vs_session", tokens[role])
    return client


def _csrf_for(client: TestClient, role: str) -> str:
    """The token this role's session puts in its forms (every page's language form)."""
    page = client.get("/login" if role == "anonymous" else "/")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, role
    return match.group(1)


@pytest.mark.parametrize(
    ("method", "path", "expected"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
def test_endpoint_role_matrix(
    matrix_client: tuple[TestClient, dict[str, str]],
    method: str,
    path: str,
    expected: dict[str, int],
) -> None:
    client, tokens = matrix_client
    for role in ROLES:
        if (method, path) in SESSION_ENDING:
            client.cookies.clear()
            if role != "anonymous":
                login(client, EMAILS[role])  # a session of its own, ended by this request
        else:
            as_role(client, tokens, role)
        if method == "POST" and not path.startswith("/api/"):
            response = client.post(
                path, data={"csrf_token": _csrf_for(client, role)}, follow_redirects=False
            )
        else:
            response = client.request(
                method, path, follow_redirects=False, json={} if method in ("PUT", "POST") else None
            )
        assert response.status_code == expected[role], f"{role} {method} {path}"
        if path.startswith("/api/") and response.status_code >= 400:
            assert set(response.json()) == {"error"}, f"{role} {method} {path}"
        if response.status_code == 403 and method == "POST" and not path.startswith("/api/"):
            assert "expired" not in response.text, f"{role} {method} {path}: the token check"


def test_every_route_and_method_has_a_row() -> None:
    """Derived from the app: a new route without a row here fails."""
    app = create_app(Settings())
    missing = []
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if not any(
                m == method and route.path_regex.match(p.split("?")[0]) for m, p, _ in ENDPOINTS
            ):
                missing.append(f"{method} {route.path}")
    assert not missing, missing


def test_permission_table_is_exactly_as_designed() -> None:
    """DESIGN.md's roles table, as named permissions. Change both together."""
    expected = {
        "programme.manage": {"admin"},
        "visit.review": {"admin", "reviewer"},
        "report.read": {"admin", "reviewer", "manager", "owner"},
        "chain.compare": {"admin", "reviewer", "manager", "owner"},
        "report.export": {"admin", "manager"},
        "selfassessment.write": {"owner"},
        "actionplan.write": {"owner", "admin"},
        "appeal.write": {"owner", "manager"},
        "actionplan.verify": {"manager", "admin"},
        "token.manage": {"admin", "manager"},
        "pay.manage": {"admin"},
        "pay.read_own": {"shopper"},
        "visit.create": {"shopper"},
        "assignment.read_own": {"shopper"},
        "shopper.identity": {"admin", "reviewer"},
        "visit.location": {"admin", "reviewer"},
        "questionnaire.read": {"admin", "reviewer", "manager", "owner", "shopper"},
    }
    assert {k: set(v) for k, v in auth.PERMISSIONS.items()} == expected


def _user(
    role: str, branches: set[int] = frozenset(), chains: set[int] = frozenset(), user_id: int = 1
) -> User:
    return User(
        user_id,
        f"{role}@x",
        role,
        role,
        None,
        True,  # type: ignore[arg-type]
        frozenset(branches),
        frozenset(chains),
    )


def _branch(branch_id: int, chain_id: int) -> Branch:
    return Branch(branch_id, chain_id, f"B{branch_id}", "b", "r", "c", "a", None, None, "UTC")


def test_object_scoping_rules() -> None:
    mine, other_in_chain, other_chain = _branch(1, 10), _branch(2, 10), _branch(3, 20)
    owner = _user("owner", branches={1})
    manager = _user("manager", chains={10})
    shopper = _user("shopper", user_id=7)
    reviewer = _user("reviewer")
    assert auth.can_see_branch(owner, mine) and not auth.can_see_branch(owner, other_in_chain)
    assert auth.can_see_branch(manager, other_in_chain)
    assert not auth.can_see_branch(manager, other_chain)
    assert not auth.can_see_branch(shopper, mine)
    assert auth.can_see_branch(reviewer, other_chain)
    assert auth.can_see_chain(owner, 10, [mine, other_in_chain])
    assert not auth.can_see_chain(owner, 20, [other_chain])
    # Owners and managers see approved visits only; shoppers only their own.
    assert auth.can_see_visit(owner, shopper_id=7, branch=mine, state="approved")
    assert not auth.can_see_visit(owner, shopper_id=7, branch=mine, state="submitted")
    assert auth.can_see_visit(shopper, shopper_id=7, branch=mine, state="submitted")
    assert not auth.can_see_visit(shopper, shopper_id=8, branch=mine, state="approved")
    assert auth.can_see_visit(reviewer, shopper_id=8, branch=other_chain, state="submitted")
    # Deactivated users hold no permission at all.
    gone = User(9, "x@x", "x", "admin", None, False)
    assert not auth.has(gone, "programme.manage")


def test_home_page_shows_each_role_only_its_own(
    matrix_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = matrix_client
    owner = as_role(client, tokens, "owner").get("/").text
    assert "Toko Contoh Menteng" in owner and "Toko Contoh Kuta" not in owner
    assert owner.count('<th scope="row">') == 4
    manager = as_role(client, tokens, "manager").get("/").text
    assert manager.count('<th scope="row">') == 12
    shopper = as_role(client, tokens, "shopper").get("/").text
    assert "Your open assignments" in shopper and "Average score" not in shopper
    assert 'href="/app/"' in shopper
    for page in (owner, manager):
        for name in SHOPPER_NAMES:
            assert name not in page


def test_a_visit_report_never_names_the_shopper_to_owners_or_managers(
    matrix_client: tuple[TestClient, dict[str, str]], demo_template: Path
) -> None:
    client, tokens = matrix_client
    ((visit,),) = db_rows(
        demo_template,
        "SELECT v.visit_uuid FROM visits v JOIN branch_owners o"
        " ON o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " WHERE u.email = 'owner@demo.test' AND v.state = 'approved' LIMIT 1",
    )
    for role in ("owner", "manager"):
        report = as_role(client, tokens, role).get(f"/visits/{visit}.json")
        assert report.status_code == 200
        assert "shopper" not in report.json()
        page = client.get(f"/visits/{visit}").text
        assert not [name for name in SHOPPER_NAMES if name in page]
    staff = as_role(client, tokens, "reviewer").get(f"/visits/{visit}.json").json()
    assert staff["shopper"]
