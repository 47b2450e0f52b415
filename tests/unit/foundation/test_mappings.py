"""Column mappings: found by name or path, and refused with a precise reason when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextmove.errors import MappingError, NotFound
from nextmove.foundation.mappings import BUILTIN_MAPPINGS, available_mappings, load_mapping

REPO = Path(__file__).resolve().parents[3]
MAVEN = REPO / "examples" / "mappings" / "maven-crm"


def write_yaml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_mappings_cover_salesforce_and_hubspot() -> None:
    found = available_mappings()
    assert found["salesforce"] == ["accounts", "contacts", "opportunities"]
    assert found["hubspot"] == ["accounts", "contacts", "opportunities"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (name, kind)
        for name, kinds in sorted(available_mappings().items())
        for kind in kinds
        if (BUILTIN_MAPPINGS / name / f"{kind}.yaml").is_file()
    ],
)
def test_every_builtin_mapping_loads(name: str, kind: str) -> None:
    mapping = load_mapping(name, kind)
    assert (mapping.kind, mapping.name) == (kind, name)
    assert mapping.columns


def test_a_builtin_mapping_is_loaded_by_name() -> None:
    mapping = load_mapping("salesforce", "accounts")
    assert mapping.name == "salesforce"
    assert mapping.columns["account_id"] == "Id"
    assert mapping.columns["employees"] == "NumberOfEmployees"
    assert mapping.values["segment"]["Enterprise"] == "ent"
    assert mapping.segment_by_employees == {"smb": 0, "mid": 200, "ent": 2000}
    assert mapping.date_formats == ("%m/%d/%Y", "%m/%d/%Y %I:%M %p")


def test_canonical_needs_no_file() -> None:
    mapping = load_mapping("canonical", "holdings")
    assert (mapping.kind, mapping.name, mapping.columns, mapping.values) == (
        "holdings",
        "canonical",
        {},
        {},
    )


def test_a_yaml_path_is_loaded_and_named_after_the_file(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "erp-accounts.yaml",
        "kind: accounts\ncolumns:\n  account_id: CustNo\n  name: CustName\ndelimiter: ';'\n",
    )
    mapping = load_mapping(str(path), "accounts")
    assert mapping.name == "erp-accounts"
    assert mapping.columns == {"account_id": "CustNo", "name": "CustName"}
    assert mapping.delimiter == ";"


def test_a_yaml_named_for_its_kind_is_named_after_its_folder(tmp_path: Path) -> None:
    write_yaml(tmp_path / "acme" / "accounts.yaml", "kind: accounts\ncolumns: {name: Company}\n")
    by_file = load_mapping(str(tmp_path / "acme" / "accounts.yaml"), "accounts")
    by_folder = load_mapping(str(tmp_path / "acme"), "accounts")
    assert by_file.name == by_folder.name == "acme"
    assert by_folder.columns == {"name": "Company"}


def test_an_explicit_name_in_the_yaml_wins(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "x.yaml", "kind: accounts\nname: Our ERP\n")
    assert load_mapping(str(path), "accounts").name == "Our ERP"


def test_search_folders_are_looked_in_before_the_builtin_ones(tmp_path: Path) -> None:
    write_yaml(
        tmp_path / "salesforce" / "accounts.yaml",
        "kind: accounts\ncolumns: {account_id: Account_Number__c}\n",
    )
    mapping = load_mapping("salesforce", "accounts", [tmp_path])
    assert mapping.columns == {"account_id": "Account_Number__c"}
    assert available_mappings([tmp_path])["salesforce"] == ["accounts"]


def test_the_maven_example_mappings_load() -> None:
    teams = load_mapping(str(MAVEN / "teams.yaml"), "teams")
    assert (teams.name, teams.duplicates, teams.defaults) == (
        "maven-crm",
        "keep_first",
        {"function": "sales"},
    )
    accounts = load_mapping(str(MAVEN / "accounts.yaml"), "accounts")
    assert accounts.scale == {"annual_revenue": 1_000_000}


# --- refusals --------------------------------------------------------------------------


def test_an_unknown_field_in_columns_is_named(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "m.yaml", "kind: accounts\ncolumns:\n  acount_id: Id\n  name: Name\n"
    )
    with pytest.raises(MappingError, match="columns names unknown accounts field") as failure:
        load_mapping(str(path), "accounts")
    message = str(failure.value)
    assert "field(s) acount_id;" in message
    assert "fields are account_id, name, domain" in message


@pytest.mark.parametrize(
    ("section", "body"),
    [
        ("values", "values:\n  stage: {Won: won}\n"),
        ("scale", "scale: {revenue: 1000}\n"),
        ("defaults", "defaults: {tier: gold}\n"),
    ],
)
def test_unknown_fields_in_other_sections_are_named(
    tmp_path: Path, section: str, body: str
) -> None:
    path = write_yaml(tmp_path / "m.yaml", "kind: accounts\n" + body)
    with pytest.raises(MappingError, match=f"{section} names unknown accounts field"):
        load_mapping(str(path), "accounts")


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "m.yaml",
        "kind: accounts\ncolumns:\n  account_id: Id\n  name: [Name\nvalues: {}\n",
    )
    with pytest.raises(MappingError, match=r"is not valid YAML at line 5, column \d+"):
        load_mapping(str(path), "accounts")


def test_a_mapping_for_another_kind_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "m.yaml", "kind: contacts\ncolumns: {contact_id: Id}\n")
    with pytest.raises(MappingError, match="is for contacts, not accounts"):
        load_mapping(str(path), "accounts")


def test_a_builtin_mapping_for_another_kind_is_not_found() -> None:
    with pytest.raises(NotFound, match="no mapping 'salesforce' for holdings"):
        load_mapping("salesforce", "holdings")


def test_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "m.yaml", "kind: accounts\ncolums: {name: Name}\n")
    with pytest.raises(MappingError, match="colums: Extra inputs are not permitted"):
        load_mapping(str(path), "accounts")


def test_a_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "m.yaml", "- kind\n- accounts\n")
    with pytest.raises(MappingError, match="must be a YAML mapping with kind: and columns:"):
        load_mapping(str(path), "accounts")


def test_an_unknown_name_lists_the_mappings_there_are() -> None:
    with pytest.raises(NotFound) as failure:
        load_mapping("pipedrive", "contacts")
    assert str(failure.value) == (
        "no mapping 'pipedrive' for contacts; built-in mappings for contacts: "
        "hubspot, salesforce (or pass a path to a YAML file)"
    )


def test_a_missing_yaml_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_mapping(str(tmp_path / "absent.yaml"), "accounts")


def test_an_unknown_kind_is_not_found() -> None:
    with pytest.raises(NotFound, match="unknown record type 'leads'"):
        load_mapping("salesforce", "leads")
