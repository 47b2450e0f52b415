"""CRM task exports: Salesforce and HubSpot layouts, one row per key, safe to interrupt."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from execution_items import outbox_item

from nextmove.execution import PermanentSendError
from nextmove.execution.connectors import CrmExportConnector, TaskTemplate, TextTemplate
from nextmove.execution.connectors.crm_export import HUBSPOT_COLUMNS, SALESFORCE_COLUMNS


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_salesforce_rows_use_the_task_objects_fields(tmp_path: Path) -> None:
    path = tmp_path / "out" / "sf_tasks.csv"
    crm = CrmExportConnector(
        name="crm",
        crm="salesforce",
        path=path,
        template=TaskTemplate(priority="high", task_type="call"),
    )
    receipt = crm.send(
        outbox_item(payload={"contact_id": "003C", "crm_account_id": "001A", "reasons": "x"})
    )

    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(SALESFORCE_COLUMNS)
    (row,) = rows(path)
    assert row["Subject"] == "Service conversation: prod-premium-support"
    assert (row["WhoId"], row["WhatId"], row["OwnerId"]) == ("003C", "001A", "005OWNER")
    assert row["ActivityDate"] == "2026-11-04"  # two days after it was enqueued
    assert (row["Status"], row["Priority"], row["TaskSubtype"]) == ("Not Started", "High", "Call")
    assert "Routed: owner ana is absent" in row["Description"]
    assert row["Nextmove Key"] == "nm-aaaa"
    assert receipt.reference == "sf_tasks.csv#1"


def test_hubspot_rows_use_the_task_properties(tmp_path: Path) -> None:
    path = tmp_path / "hs_tasks.csv"
    crm = CrmExportConnector(name="crm", crm="hubspot", path=path)
    crm.send(outbox_item(payload={"due_date": "2026-12-01"}))
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(HUBSPOT_COLUMNS)
    (row,) = rows(path)
    assert row["hs_task_subject"] == "Service conversation: prod-premium-support"
    assert row["hs_timestamp"] == "2026-12-01T00:00:00Z"
    assert (row["hs_task_status"], row["hs_task_priority"], row["hs_task_type"]) == (
        "NOT_STARTED",
        "MEDIUM",
        "TODO",
    )
    assert (row["hubspot_owner_id"], row["Nextmove Account"]) == ("005OWNER", "acct-42")


def test_a_resent_key_is_not_written_twice_even_by_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    crm = CrmExportConnector(name="crm", crm="salesforce", path=path)
    crm.send(outbox_item(idempotency_key="nm-1"))
    again = crm.send(outbox_item(idempotency_key="nm-1", attempts=2))
    restarted = CrmExportConnector(name="crm", crm="salesforce", path=path)
    third = restarted.send(outbox_item(idempotency_key="nm-1", attempts=3))
    restarted.send(outbox_item(idempotency_key="nm-2"))

    assert [row["Nextmove Key"] for row in rows(path)] == ["nm-1", "nm-2"]
    assert again.details["already_there"] is True and third.reference == "tasks.csv#1"


def test_a_row_written_by_another_process_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    first = CrmExportConnector(name="crm", crm="hubspot", path=path)
    second = CrmExportConnector(name="crm", crm="hubspot", path=path)
    first.send(outbox_item(idempotency_key="nm-1"))
    second.send(outbox_item(idempotency_key="nm-2"))
    first.send(outbox_item(idempotency_key="nm-2"))
    assert [row["Nextmove Key"] for row in rows(path)] == ["nm-1", "nm-2"]


def test_a_row_torn_by_a_crash_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    crm = CrmExportConnector(name="crm", crm="salesforce", path=path)
    crm.send(outbox_item(idempotency_key="nm-1"))
    with path.open("ab") as handle:
        handle.write(b"Half a subject,003,001")  # the process died mid-write
    CrmExportConnector(name="crm", crm="salesforce", path=path).send(
        outbox_item(idempotency_key="nm-2")
    )
    assert [row["Nextmove Key"] for row in rows(path)] == ["nm-1", "nm-2"]
    assert "Half a subject" not in path.read_text(encoding="utf-8")


def test_line_breaks_stay_inside_one_row(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    template = TaskTemplate(
        description=TextTemplate("line one\nline two\r\nline three", field="description")
    )
    CrmExportConnector(name="crm", crm="salesforce", path=path, template=template).send(
        outbox_item()
    )
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert rows(path)[0]["Description"] == "line one / line two / line three"


def test_a_file_of_another_layout_is_not_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text("Name,Email\nAna,ana@example.com\n", encoding="utf-8")
    crm = CrmExportConnector(name="crm", crm="salesforce", path=path)
    with pytest.raises(PermanentSendError, match="has the columns"):
        crm.send(outbox_item())
    assert path.read_text(encoding="utf-8") == "Name,Email\nAna,ana@example.com\n"


def test_a_bad_due_date_in_the_payload_is_permanent(tmp_path: Path) -> None:
    crm = CrmExportConnector(name="crm", crm="salesforce", path=tmp_path / "t.csv")
    with pytest.raises(PermanentSendError, match="due_date 'next week'"):
        crm.send(outbox_item(payload={"due_date": "next week"}))
