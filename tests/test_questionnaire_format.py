"""The questionnaire exchange format: export, import, schema, and every problem listed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from server.cli import main
from server.questionnaire import export_document, load_default, parse_document
from server.settings import ROOT
from tests.conftest import db_rows

SCHEMA = json.loads((ROOT / "docs" / "questionnaire.schema.json").read_text())


def test_the_schema_is_valid_and_accepts_the_default_questionnaire() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(export_document(load_default(), published=True), SCHEMA)


def test_version_2_carries_conditions_and_scenarios_and_version_1_still_imports() -> None:
    shared = json.loads((ROOT / "tests" / "cases" / "visibility.json").read_text())
    document = export_document(shared["definition"], published=True)
    assert document["format_version"] == 2
    jsonschema.validate(document, SCHEMA)
    definition, problems = parse_document(document)
    assert problems == [] and definition == shared["definition"]
    old = {**export_document(load_default(), published=True), "format_version": 1}
    jsonschema.validate(old, SCHEMA)
    assert parse_document(old)[1] == []
    # A condition the schema cannot read is one the server refuses too.
    bad = copy.deepcopy(document)
    bad["questionnaire"]["sections"][0]["questions"][1]["show_if"] = {"question": "returned"}
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(bad))
    assert parse_document(bad)[1]
    assert parse_document({**document, "format_version": 3})[1][0].path == "format_version"


def broken() -> dict[str, Any]:
    document = export_document(copy.deepcopy(load_default()), published=True)
    questions = document["questionnaire"]["sections"]
    questions[0]["questions"][1]["type"] = "essay"
    questions[1]["questions"][0]["weight"] = -1
    questions[3]["questions"][1]["options"][0]["value"] = 2
    return document


def test_schema_and_server_agree_that_a_broken_file_is_broken() -> None:
    document = broken()
    schema_errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))
    assert schema_errors
    definition, problems = parse_document(document)
    assert definition is None
    assert {p.path for p in problems} == {
        "questionnaire.sections[0].questions[1].type",
        "questionnaire.sections[1].questions[0].weight",
        "questionnaire.sections[3].questions[1].options[0].value",
    }


def test_export_then_import_as_a_draft_then_publish(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    exported = runner.invoke(main, ["export-questionnaire", "default", "--data-dir", str(data)])
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.output)
    assert document["format"] == "visitscore-questionnaire" and document["published"] is True
    document["questionnaire"]["title"]["en"] = "Store visit, 2027"
    path = tmp_path / "q.json"
    path.write_text(json.dumps(document))
    draft = runner.invoke(main, ["import-questionnaire", str(path), "--data-dir", str(data)])
    assert draft.exit_code == 0 and "draft" in draft.output
    again = runner.invoke(main, ["import-questionnaire", str(path), "--data-dir", str(data)])
    assert again.exit_code == 0  # replaces the draft, does not pile up versions
    assert db_rows(
        data,
        "SELECT version, published_at IS NOT NULL FROM questionnaire_versions ORDER BY version",
    ) == [(1, 1), (2, 0)]
    published = runner.invoke(
        main, ["import-questionnaire", str(path), "--publish", "--data-dir", str(data)]
    )
    assert published.exit_code == 0 and "Published default version 2" in published.output
    v2 = json.loads(
        runner.invoke(
            main, ["export-questionnaire", "default", "--version", "2", "--data-dir", str(data)]
        ).output
    )
    assert v2["questionnaire"]["title"]["en"] == "Store visit, 2027" and v2["published"]
    v1 = json.loads(
        runner.invoke(
            main, ["export-questionnaire", "default", "--version", "1", "--data-dir", str(data)]
        ).output
    )
    assert v1["questionnaire"]["title"]["en"] == "Store visit"  # published: never changed


def test_a_broken_file_lists_every_problem_and_stores_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    runner.invoke(main, ["migrate", "--data-dir", str(data)])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(broken()))
    result = runner.invoke(main, ["import-questionnaire", str(path), "--data-dir", str(data)])
    assert result.exit_code == 1
    assert "questionnaire.sections[0].questions[1].type" in result.output
    assert "questionnaire.sections[1].questions[0].weight" in result.output
    assert "3 problems" in result.output and "nothing was stored" in result.output
    assert db_rows(data, "SELECT count(*) FROM questionnaire_versions") == [(1,)]


def test_not_json_and_unknown_questionnaires_fail_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    path = tmp_path / "q.json"
    path.write_text("{not json")
    result = runner.invoke(main, ["import-questionnaire", str(path), "--data-dir", str(data)])
    assert result.exit_code == 1 and "is not valid JSON" in result.output
    missing = runner.invoke(main, ["export-questionnaire", "nope", "--data-dir", str(data)])
    assert missing.exit_code == 1 and "no questionnaire 'nope'" in missing.output
