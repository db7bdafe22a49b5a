"""Picking branches at scale in Chromium (issue "The agency at scale"): with more branches
than a form can list, the branch picker searches the server as you type and the branches
ticked are the ones the form sends; with few, it is a list of checkboxes filtered as you
type. Neither needs Ctrl-click."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from server.views.pickers import PICKER_MAX
from tests.browser.app_helpers import sign_in
from tests.conftest import LiveServer, db_rows, db_write


def add_person(page: Page, email: str) -> None:
    page.get_by_label("Name", exact=True).fill("Kadek Owner")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Role", exact=True).select_option("owner")


def owned(server: LiveServer, email: str) -> list[str]:
    return [
        r[0]
        for r in db_rows(
            server.data_dir,
            "SELECT b.name FROM branch_owners o JOIN branches b ON b.id = o.branch_id"
            " JOIN users u ON u.id = o.user_id WHERE u.email = ? ORDER BY b.name",
            (email,),
        )
    ]


def test_few_branches_are_ticked_from_a_filtered_list(page: Page, app_server: LiveServer) -> None:
    sign_in(page, app_server, "admin@demo.test")
    page.goto(f"{app_server.url}/admin/users")
    add_person(page, "few@example.test")
    page.get_by_label("Branches (owners)").fill("kuta")
    expect(page.get_by_role("checkbox", name="Toko Contoh Ubud (Bali)")).to_be_hidden()
    page.get_by_role("checkbox", name="Toko Contoh Kuta (Bali)").check()
    expect(page.get_by_text("1 chosen")).to_be_visible()
    with page.expect_navigation():  # the form is sent and the list shown again
        page.get_by_role("button", name="Add", exact=True).click()
    assert owned(app_server, "few@example.test") == ["Toko Contoh Kuta"]


def test_many_branches_are_found_on_the_server_as_you_type(
    page: Page, app_server: LiveServer
) -> None:
    [(chain, zone, now)] = db_rows(
        app_server.data_dir, "SELECT chain_id, timezone, created_at FROM branches LIMIT 1"
    )
    db_write(
        app_server.data_dir,
        [
            (
                "INSERT INTO branches (chain_id, code, name, region, city, timezone, created_at)"
                " VALUES (?, ?, ?, 'Scale', 'City', ?, ?)",
                [
                    (chain, f"S{n:04d}", f"Scale branch {n:04d}", zone, now)
                    for n in range(PICKER_MAX)
                ],
            )
        ],
    )
    sign_in(page, app_server, "admin@demo.test")
    page.goto(f"{app_server.url}/admin/users")
    assert page.locator("input[type=checkbox][name=branches]").count() == 0  # none listed
    add_person(page, "many@example.test")
    page.get_by_label("Branches (owners)").fill("kuta")
    page.get_by_role("checkbox", name="Toko Contoh Kuta (Bali)").check()
    page.get_by_label("Branches (owners)").fill("scale branch 0042")
    page.get_by_role("checkbox", name="Scale branch 0042 (Scale)").check()
    with page.expect_navigation():  # the form is sent and the list shown again
        page.get_by_role("button", name="Add", exact=True).click()
    assert owned(app_server, "many@example.test") == ["Scale branch 0042", "Toko Contoh Kuta"]
