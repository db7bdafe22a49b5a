from __future__ import annotations

import re

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from server.i18n import (
    LANGUAGE_NAMES,
    LOCALE_DIR,
    SUPPORTED,
    activate,
    deactivate,
    format_points,
    negotiate,
    translations,
    zone_name,
)
from server.settings import ASSETS, ROOT
from server.views.app_shell import app_messages
from tests.conftest import csrf_from as _csrf
from tests.conftest import login


def extracted_messages() -> set[str]:
    """What `make messages` extracts: the same babel.cfg and Babel's default keywords
    (the app's `t` is a keyword for pwa/*.js only, set in babel.cfg)."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED if loc != "en"])
def test_every_message_is_translated(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(extracted_messages() - translated)
    assert not missing, f"untranslated in {locale} (run `make messages`): {missing}"
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert not problems, problems


def test_every_app_string_is_seen_by_the_extractor() -> None:
    """Babel's JavaScript lexer misses t() calls inside template literals: a plain scan
    of the source must find nothing it did not."""
    pattern = re.compile(r"""\bt\(\s*(["'])((?:\\.|(?!\1).)*)\1""")
    found = set()
    for path in (ROOT / "pwa").rglob("*.js"):
        code = "\n".join(
            line
            for line in path.read_text("utf-8").splitlines()
            if not line.lstrip().startswith(("//", "*", "/*"))
        )
        for match in pattern.finditer(code):
            found.add(match.group(2).replace("\\'", "'").replace('\\"', '"'))
    assert found, "no t() calls found: the scan is broken"
    assert found <= extracted_messages(), sorted(found - extracted_messages())


def test_the_app_gets_its_strings_as_json(client: TestClient) -> None:
    french = client.get("/app/strings/fr.json").json()
    assert french["lang"] == "fr"
    assert french["strings"]["Sync now"] == "Synchroniser maintenant"
    assert "Visits waiting for review" not in french["strings"]  # server pages' own strings
    assert client.get("/app/strings/xx.json").status_code == 404


def test_the_app_gets_only_the_strings_that_differ_from_the_english(client: TestClient) -> None:
    """t() shows the English where the table has nothing: English costs no bytes, and a
    translated language carries every string it translates."""
    assert client.get("/app/strings/en.json").json()["strings"] == {}
    for lang in ("id", "fr"):
        table = client.get(f"/app/strings/{lang}.json").json()["strings"]
        catalog = translations(lang)
        wanted = {m for m in app_messages(ASSETS / "pwa") if catalog.gettext(m) != m}
        assert wanted and set(table) == wanted
        assert all(table[m] == catalog.gettext(m) for m in wanted)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("id", "id"),
        ("in-ID", "id"),
        ("de,en;q=0.5", "en"),
        ("", "en"),
        (None, "en"),
        ("es", "en"),
        ("en;q=0, fr;q=0.1", "fr"),
        ("id;q=0.3, fr", "fr"),
        (";;;,,q=", "en"),
        ("*", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_pages_and_api_errors_follow_accept_language(client: TestClient) -> None:
    page = client.get("/login", headers={"accept-language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text and "Se connecter" in page.text
    assert page.headers["content-language"] == "fr"
    error = client.get("/api/v1/session", headers={"accept-language": "id"})
    assert error.json()["error"]["message"] == "Silakan masuk."


def test_language_switch_is_remembered_by_cookie_and_for_the_user(
    demo_client: TestClient,
) -> None:
    token = _csrf(demo_client.get("/login").text)
    switched = demo_client.post(
        "/language",
        data={"lang": "id", "next": "/login", "csrf_token": token},
        follow_redirects=False,
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "Masuk" in demo_client.get("/login").text
    login(demo_client, "admin@demo.test")
    token = _csrf(demo_client.get("/").text)  # tokens are bound to the login session
    demo_client.post("/language", data={"lang": "fr", "csrf_token": token})
    # A fresh browser (no cookie) gets the user's own language once logged in.
    demo_client.cookies.delete("vs_lang")
    home = demo_client.get("/", headers={"accept-language": "en"})
    assert '<html lang="fr">' in home.text and "Bienvenue" in home.text


def test_unknown_language_is_refused(demo_client: TestClient) -> None:
    token = _csrf(demo_client.get("/login").text)
    response = demo_client.post("/language", data={"lang": "xx", "csrf_token": token})
    assert response.status_code == 422


def test_numbers_and_dates_follow_the_locale() -> None:
    from server import i18n

    token = i18n.activate("fr")
    try:
        assert i18n.format_number(12345.5, 1) == "12\u202f345,5"
        assert i18n.format_day("2026-11-20") == "20 nov. 2026"
        assert i18n.format_moment("2026-11-20T03:00:00+00:00", "Asia/Jakarta").startswith(
            "20 nov. 2026, 10:00"
        )
    finally:
        i18n.deactivate(token)


def test_time_zones_and_points_are_named_in_the_users_language() -> None:
    token = activate("id")
    try:
        assert zone_name("Asia/Jakarta") == "Waktu Indonesia Barat"
        assert zone_name("Mars/Olympus") == "Mars/Olympus"
        assert format_points(7.5) == "7,5" and format_points(12.0) == "12"
    finally:
        deactivate(token)
    assert zone_name("Asia/Makassar") == "Central Indonesia Time"


def test_the_app_ships_the_same_languages_as_the_server() -> None:
    """i18n.SUPPORTED is the one list; the app keeps a copy (it needs it offline)."""
    source = (ROOT / "pwa" / "i18n.js").read_text()
    (names,) = re.findall(r"export const LANGUAGES = \{([^}]*)\}", source)
    app = dict(re.findall(r'(\w+): "([^"]+)"', names))
    assert app == {code: LANGUAGE_NAMES[code] for code in SUPPORTED}
