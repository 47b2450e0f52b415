"""Word lists the generator draws names, places and titles from."""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "COUNTRIES",
    "FIRST_NAMES",
    "INDUSTRIES",
    "INDUSTRY_DESCRIPTORS",
    "INDUSTRY_MISSPELLINGS",
    "INDUSTRY_WEIGHTS",
    "LAST_NAMES",
    "NAME_ONSETS",
    "NAME_VOWELS",
    "TITLES",
    "Country",
]

INDUSTRIES: tuple[str, ...] = (
    "software",
    "finance",
    "healthcare",
    "manufacturing",
    "retail",
    "education",
    "telecommunications",
    "media",
    "logistics",
    "energy",
    "public_sector",
    "professional_services",
)
INDUSTRY_WEIGHTS: tuple[float, ...] = (
    0.18,
    0.12,
    0.10,
    0.12,
    0.09,
    0.05,
    0.04,
    0.05,
    0.07,
    0.04,
    0.04,
    0.10,
)

INDUSTRY_DESCRIPTORS: tuple[tuple[str, ...], ...] = (
    ("Software", "Labs", "Systems", "Cloud"),
    ("Capital", "Financial", "Bank", "Partners"),
    ("Health", "Medical", "Care", "Clinics"),
    ("Industries", "Manufacturing", "Works", "Machines"),
    ("Retail", "Stores", "Goods", "Outfitters"),
    ("Learning", "Academy", "Education", "College"),
    ("Telecom", "Networks", "Mobile", "Connect"),
    ("Media", "Studios", "Publishing", "Broadcast"),
    ("Logistics", "Freight", "Shipping", "Transport"),
    ("Energy", "Power", "Renewables", "Utilities"),
    ("Authority", "Council", "Agency", "Services"),
    ("Consulting", "Advisors", "Group", "Associates"),
)
"""Company-name endings per industry, aligned with ``INDUSTRIES``."""

INDUSTRY_MISSPELLINGS: tuple[tuple[str, ...], ...] = (
    ("technolgy", "Software & IT", "SaaS"),
    ("Financial Services", "fintech", "Banking"),
    ("Health Care", "helthcare", "Life Sciences"),
    ("manufactoring", "Industrial", "Mfg"),
    ("Retail", "e-commerce", "retial"),
    ("Higher Ed", "educaton"),
    ("telecom", "Telco"),
    ("Media & Entertainment", "meida"),
    ("Transportation", "logisitcs"),
    ("Oil & Gas", "Utilities"),
    ("Government", "public sector"),
    ("Consulting", "prof services"),
)
"""Off-vocabulary spellings seen in real CRMs, aligned with ``INDUSTRIES``."""


class Country(NamedTuple):
    """A country accounts are based in."""

    code: str
    region: str
    tld: str
    eu: bool
    weight: float
    legal_suffix: str


COUNTRIES: tuple[Country, ...] = (
    Country("US", "NA", "com", False, 0.34, "Inc."),
    Country("CA", "NA", "ca", False, 0.05, "Inc."),
    Country("GB", "EMEA", "co.uk", False, 0.09, "Ltd"),
    Country("DE", "EMEA", "de", True, 0.08, "GmbH"),
    Country("FR", "EMEA", "fr", True, 0.06, "SAS"),
    Country("NL", "EMEA", "nl", True, 0.03, "B.V."),
    Country("SE", "EMEA", "se", True, 0.02, "AB"),
    Country("ES", "EMEA", "es", True, 0.03, "S.L."),
    Country("IT", "EMEA", "it", True, 0.03, "S.r.l."),
    Country("IE", "EMEA", "ie", True, 0.02, "Ltd"),
    Country("PL", "EMEA", "pl", True, 0.02, "Sp. z o.o."),
    Country("CH", "EMEA", "ch", False, 0.01, "AG"),
    Country("AU", "APAC", "com.au", False, 0.04, "Pty Ltd"),
    Country("JP", "APAC", "co.jp", False, 0.04, "K.K."),
    Country("SG", "APAC", "sg", False, 0.02, "Pte. Ltd."),
    Country("IN", "APAC", "in", False, 0.05, "Pvt. Ltd."),
    Country("BR", "LATAM", "com.br", False, 0.04, "Ltda."),
    Country("MX", "LATAM", "mx", False, 0.03, "S.A. de C.V."),
)

NAME_ONSETS: tuple[str, ...] = (
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n",
    "p", "r", "s", "t", "v", "z", "br", "tr", "st", "qu",
)  # fmt: skip
NAME_VOWELS: tuple[str, ...] = ("a", "e", "i", "o", "u", "y")

FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Adrian", "Aisha", "Alex", "Amara", "Ana", "Ben", "Carla", "Chen", "Chloe",
    "Daniel", "David", "Elena", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines",
    "Isaac", "Jana", "Javier", "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina",
    "Lucas", "Maya", "Mateo", "Mei", "Mia", "Nadia", "Noah", "Nora", "Olga", "Omar",
    "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Adeyemi", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Chen", "Costa",
    "Dubois", "Evans", "Fischer", "Garcia", "Gonzalez", "Gupta", "Hansen", "Ito",
    "Jansen", "Johnson", "Kim", "Kowalski", "Lee", "Lopez", "Martin", "Meyer",
    "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel",
    "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka",
    "Taylor", "Thompson", "Walsh", "Wang", "Weber", "Williams", "Wilson", "Yamamoto",
)  # fmt: skip

TITLES: tuple[str, ...] = (
    "Chief Executive Officer",
    "Chief Technology Officer",
    "Chief Financial Officer",
    "VP Engineering",
    "VP Marketing",
    "VP Operations",
    "Head of Data",
    "Head of IT",
    "Director of Analytics",
    "Director of Procurement",
    "IT Manager",
    "Marketing Manager",
    "Data Engineer",
    "Operations Analyst",
    "Business Analyst",
)
