"""CRM exports land canonical: Salesforce and HubSpot mappings, and the real Maven CRM data."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from nextmove import Engine
from nextmove.foundation.model import ImportSummary
from nextmove.foundation.repository import FoundationRepository
from nextmove.store import UnitOfWork

REPO = Path(__file__).resolve().parents[3]
MAVEN_MAPPINGS = REPO / "examples" / "mappings" / "maven-crm"
MAVEN_DATA = REPO.parent / "shared" / "data" / "maven-crm"


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def stored(engine: Engine, kind: str, *columns: str) -> list[tuple[object, ...]]:
    with UnitOfWork(engine.database) as uow:
        frame = FoundationRepository(uow.connection).frame(kind, list(columns))
    return frame.sort(columns[0]).rows()


def clean(summary: ImportSummary) -> tuple[int, int, int]:
    return summary.rows_read, summary.inserted, summary.quarantined_rows


# --- Salesforce ---------------------------------------------------------------------


def import_salesforce(engine: Engine, tmp_path: Path) -> list[ImportSummary]:
    accounts = write_csv(
        tmp_path / "Account.csv",
        "Id,Name,Website,Industry,Segment__c,BillingCountry,NumberOfEmployees,AnnualRevenue,"
        "OwnerId,ParentId,CreatedDate",
        '001A,"Acme, Corp",acme.com,Technology,,United States,"1,250","USD 1,200,000.00",'
        "005X,,03/31/2026",
        "001B,Globex,globex.com,Manufacturing,Strategic,Germany,45,$950.50,005Y,001A,"
        "01/15/2025 09:30 AM",
        "001C,Initech,initech.com,Software,,US,12000,,005X,,2026-03-01T14:05:00.000Z",
    )
    contacts = write_csv(
        tmp_path / "Contact.csv",
        "Id,AccountId,FirstName,LastName,Email,Title,MailingCountry,HasOptedOutOfEmail,"
        "DoNotCall,Do_Not_Contact__c",
        "003A,001A,Ann,Lee,ann@acme.com,CTO,US,1,0,false",
        "003B,001B,Bob,Ray,bob@globex.com,CFO,DE,0,true,TRUE",
        "003C,001A,Cy,Ng,cy@acme.com,VP,US,false,,0",
    )
    opportunities = write_csv(
        tmp_path / "Opportunity.csv",
        "Id,AccountId,StageName,Amount,CreatedDate,CloseDate,OwnerId",
        '006A,001A,Closed Won,"USD 1,200.00",01/15/2026,03/31/2026,005X',
        "006B,001B,Negotiation/Review,$950.50,02/01/2026,04/30/2026,005Y",
        "006C,001A,Id. Decision Makers,0,02/01/2026,01/01/2026,005Y",
        "006D,001C,Closed Lost,12,02/01/2026,02/02/2026,005Y",
        "006E,001C,Needs Analysis,,02/01/2026,,005Y",
    )
    return [
        engine.import_file("accounts", accounts, mapping="salesforce"),
        engine.import_file("contacts", contacts, mapping="salesforce"),
        engine.import_file("opportunities", opportunities, mapping="salesforce"),
    ]


def test_a_salesforce_export_lands_canonical(engine: Engine, tmp_path: Path) -> None:
    accounts, contacts, opportunities = import_salesforce(engine, tmp_path)

    assert clean(accounts) == (3, 3, 0)
    assert accounts.notes == ("mapped columns not in the file (left empty): region ← 'Region__c'",)
    # Segment: a label is translated (Strategic → ent); an empty one comes from employees.
    assert stored(
        engine,
        "accounts",
        "account_id",
        "name",
        "domain",
        "segment",
        "employees",
        "annual_revenue",
        "parent_account_id",
        "created_on",
    ) == [
        ("001A", "Acme, Corp", "acme.com", "mid", 1250, 1_200_000.0, None, date(2026, 3, 31)),
        ("001B", "Globex", "globex.com", "ent", 45, 950.5, "001A", date(2025, 1, 15)),
        ("001C", "Initech", "initech.com", "ent", 12000, None, None, date(2026, 3, 1)),
    ]

    assert clean(contacts) == (3, 3, 0)
    assert stored(
        engine, "contacts", "contact_id", "email_consent", "phone_consent", "do_not_contact"
    ) == [
        ("003A", "opted_out", "unknown", False),
        ("003B", "unknown", "opted_out", True),
        ("003C", "unknown", "unknown", False),
    ]

    assert clean(opportunities) == (5, 4, 1)
    assert [
        (entry.row_number, entry.field, entry.value, entry.reason)
        for entry in engine.quarantined(run_id=opportunities.run_id)
    ] == [(4, "close_date", "01/01/2026", "close_date is before created_on")]
    assert stored(
        engine,
        "opportunities",
        "opportunity_id",
        "account_id",
        "stage",
        "amount",
        "created_on",
        "close_date",
        "owner_id",
    ) == [
        ("006A", "001A", "won", 1200.0, date(2026, 1, 15), date(2026, 3, 31), "005X"),
        ("006B", "001B", "negotiation", 950.5, date(2026, 2, 1), date(2026, 4, 30), "005Y"),
        ("006D", "001C", "lost", 12.0, date(2026, 2, 1), date(2026, 2, 2), "005Y"),
        ("006E", "001C", "qualification", None, date(2026, 2, 1), None, "005Y"),
    ]


# --- HubSpot ------------------------------------------------------------------------


def test_a_hubspot_export_lands_canonical(engine: Engine, tmp_path: Path) -> None:
    companies = write_csv(
        tmp_path / "companies.csv",
        "Record ID,Company name,Company Domain Name,Industry,Country/Region,State/Region,"
        "Number of Employees,Annual Revenue,Company owner,Parent Company,Create Date,"
        "Company size",
        "9001,Hooli,hooli.com,COMPUTER_SOFTWARE,United States,CA,5000,1000000,77,,"
        "2026-03-31 14:05,",
        "9002,Pied Piper,piedpiper.com,COMPUTER_SOFTWARE,United States,CA,12,,77,9001,"
        "2025-01-02 08:00:00,Small",
        "9003,Raviga,raviga.com,VENTURE,United States,CA,300,,78,,2026-01-01 00:00,",
        "9004,Bachmanity,,VENTURE,United States,CA,,,78,,2026-01-01 00:00,Large",
    )
    contacts = write_csv(
        tmp_path / "contacts.csv",
        "Record ID,Associated Company IDs (Primary),First Name,Last Name,Email,Job Title,"
        "Country/Region,Unsubscribed from all email,Do not contact",
        "501,9001,Gavin,Belson,gavin@hooli.com,CEO,United States,true,false",
        "502,9002,Richard,Hendricks,richard@piedpiper.com,CEO,United States,false,",
        "503,9999,Nobody,Known,nobody@example.com,,United States,false,",
    )
    deals = write_csv(
        tmp_path / "deals.csv",
        "Record ID,Associated Company IDs (Primary),Deal Stage,Amount,Create Date,Close Date,"
        "Deal owner",
        "701,9001,Closed Won,1200.50,2026-01-15 10:00,2026-03-31 17:00,77",
        "702,9002,appointmentscheduled,,2026-02-01 09:00:00,,78",
        "703,9002,Decision Maker Bought-In,5000,2026-02-01 09:00,,78",
        "704,9003,closedlost,10,2026-02-01 09:00,2026-02-10 09:00,78",
    )

    assert clean(engine.import_file("accounts", companies, mapping="hubspot")) == (4, 4, 0)
    assert stored(engine, "accounts", "account_id", "segment", "employees", "created_on") == [
        ("9001", "ent", 5000, date(2026, 3, 31)),
        ("9002", "smb", 12, date(2025, 1, 2)),
        ("9003", "mid", 300, date(2026, 1, 1)),
        ("9004", "ent", None, date(2026, 1, 1)),
    ]

    imported_contacts = engine.import_file("contacts", contacts, mapping="hubspot")
    assert clean(imported_contacts) == (3, 2, 1)
    assert [
        (entry.row_number, entry.field, entry.value)
        for entry in engine.quarantined(run_id=imported_contacts.run_id)
    ] == [(4, "account_id", "9999")]
    assert stored(
        engine, "contacts", "contact_id", "account_id", "email_consent", "do_not_contact"
    ) == [
        ("501", "9001", "opted_out", False),
        ("502", "9002", "unknown", False),
    ]

    assert clean(engine.import_file("opportunities", deals, mapping="hubspot")) == (4, 4, 0)
    assert stored(
        engine, "opportunities", "opportunity_id", "stage", "amount", "created_on", "close_date"
    ) == [
        ("701", "won", 1200.5, date(2026, 1, 15), date(2026, 3, 31)),
        ("702", "prospecting", None, date(2026, 2, 1), None),
        ("703", "proposal", 5000.0, date(2026, 2, 1), None),
        ("704", "lost", 10.0, date(2026, 2, 1), date(2026, 2, 10)),
    ]


# --- the real Maven CRM export ------------------------------------------------------


def maven_split() -> tuple[int, int, int]:
    """(opportunities without an account, rows for a product not in the catalog, both)."""
    pipeline = pl.read_csv(MAVEN_DATA / "sales_pipeline.csv", infer_schema_length=0)
    catalog = pl.read_csv(MAVEN_DATA / "products.csv", infer_schema_length=0)["product"]
    no_account = pipeline["account"].is_null()
    unknown_product = ~pipeline["product"].is_in(catalog.implode())
    return (
        int(no_account.sum()),
        int(unknown_product.sum()),
        int((no_account & unknown_product).sum()),
    )


def test_the_maven_crm_export_imports_with_exact_counts_and_twice_changes_nothing(
    engine: Engine,
) -> None:
    # 8,800 opportunities: 1,425 open deals (Prospecting/Engaging) have no account yet, and
    # 1,480 name the product "GTXPro", which the catalog spells "GTX Pro"; 222 rows are
    # both. A row is quarantined for its first problem only: an empty account is caught by
    # validation, so the reference check sees the other 1,258 GTXPro rows. 1,425 + 1,258
    # = 2,683 quarantined, 6,117 imported.
    assert maven_split() == (1_425, 1_480, 222)

    first = engine.import_folder(MAVEN_MAPPINGS)
    assert [
        (s.kind, s.rows_read, s.inserted, s.updated, s.duplicates, s.quarantined_rows)
        for s in first
    ] == [
        ("teams", 35, 3, 0, 32, 0),  # one team per regional office; each agent row repeats it
        ("owners", 35, 35, 0, 0, 0),
        ("accounts", 85, 85, 0, 0, 0),
        ("products", 7, 7, 0, 0, 0),
        ("opportunities", 8_800, 6_117, 0, 0, 2_683),
    ]
    reasons = Counter(
        (entry.field, entry.reason)
        for entry in engine.quarantined(run_id=first[-1].run_id, limit=10_000)
    )
    assert reasons == {
        ("account_id", "required field account_id is empty"): 1_425,
        (
            "product_id",
            "unknown product: no product with this id is stored or in this file "
            "(import products first)",
        ): 1_258,
    }
    assert stored(engine, "accounts", "account_id", "segment", "annual_revenue")[0] == (
        "Acme Corporation",
        "ent",
        pytest.approx(1_100_040_000.0),
    )
    snapshot = {
        kind: engine.count(kind)
        for kind in ("teams", "owners", "accounts", "products", "opportunities")
    }

    second = engine.import_folder(MAVEN_MAPPINGS)
    assert [(s.kind, s.inserted, s.updated, s.unchanged, s.quarantined_rows) for s in second] == [
        ("teams", 0, 0, 3, 0),
        ("owners", 0, 0, 35, 0),
        ("accounts", 0, 0, 85, 0),
        ("products", 0, 0, 7, 0),
        ("opportunities", 0, 0, 6_117, 2_683),
    ]
    assert {kind: engine.count(kind) for kind in snapshot} == snapshot
