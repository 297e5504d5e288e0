"""Map FDA's many spellings of one issuing office to one canonical name.

The listing spells one office in dozens of ways ("Center for Drug Evaluation and Research | CDER",
"Office of Human and Animal Food Operations –West Division 5", "Div ision of Northern Border
Imports", a stray "VIA UPS" glued on). Analysts group letters by office, so the store keeps this
canonical name in `issuing_office` and the string as published in `issuing_office_raw`.
Operations divisions renamed over the years (ORA's "Division of ... East I" and OII's "Office of ...
East Division 1") map to one name per geographic division. An office no rule knows is kept as
published, with its spacing, dashes and quotes cleaned.
"""

from __future__ import annotations

import re

from crawler.normalize.text import unify_dashes

CENTERS = (
    ("center for drug evaluation and research", "Center for Drug Evaluation and Research (CDER)"),
    ("cder", "Center for Drug Evaluation and Research (CDER)"),
    ("center for biologics evaluation and research", "Center for Biologics Evaluation and Research (CBER)"),
    ("center for devices and radiological health", "Center for Devices and Radiological Health (CDRH)"),
    ("center for food safety and applied nutrition", "Center for Food Safety and Applied Nutrition (CFSAN)"),
    ("center for tobacco products", "Center for Tobacco Products (CTP)"),
    ("center for veterinary medicine", "Center for Veterinary Medicine (CVM)"),
    ("human foods program", "Human Foods Program (HFP)"),
    ("the office of prescription drug promotion", "Office of Prescription Drug Promotion (OPDP)"),
    ("office of prescription drug promotion", "Office of Prescription Drug Promotion (OPDP)"),
)
IMPORT_DIVISIONS = (
    ("northeast", "Division of Northeast Imports"),
    ("northern border", "Division of Northern Border Imports"),
    ("southeast", "Division of Southeast Imports"),
    ("southwest", "Division of Southwest Imports"),
    ("west coast", "Division of West Coast Imports"),
)
TYPOS = (
    (re.compile(r"\bdiv ision\b", re.I), "Division"),
    (re.compile(r"\binports?\b", re.I), "Imports"),
)
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}
DEVICE_REGIONS = {"east": 1, "central": 2, "west": 3}
_SPACE = re.compile(r"\s+")
_HAF_BRANCH = re.compile(r"\bhaf([ew])(\d)\b")
_TOKEN = re.compile(r"[a-z0-9]+")


def canonical_office(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = _tidy(raw)
    if not text:
        return None
    key = text.casefold()
    for prefix, name in CENTERS:
        if key.startswith(prefix):
            return name
    for rule in (_food_division, _pharma_division, _device_division, _biologics_division, _import_division):
        name = rule(key)
        if name:
            return name
    return text


def _tidy(raw: str) -> str:
    text = _SPACE.sub(" ", unify_dashes(raw)).strip().strip("\"'").strip()
    for pattern, fixed in TYPOS:
        text = pattern.sub(fixed, text)
    return text


def _division_number(key: str) -> int | None:
    for token in _TOKEN.findall(key):
        if token in ROMAN:
            return ROMAN[token]
        if token.isdigit() and 1 <= int(token) <= 9:
            return int(token)
    return None


def _with_division(office: str, number: int | None) -> str:
    return f"{office} - Division {number}" if number else office


def _food_division(key: str) -> str | None:
    if "human" not in key or "animal food" not in key:
        return None
    branch = _HAF_BRANCH.search(key)
    if branch:
        region, number = ("East" if branch.group(1) == "e" else "West"), int(branch.group(2))
    else:
        words = set(_TOKEN.findall(key))
        region = "East" if "east" in words else "West" if "west" in words else None
        number = _division_number(key)
    office = "Office of Human and Animal Food Operations"
    if region is None:
        return office
    return f"{office} - {region}" + (f" Division {number}" if number else "")


def _pharma_division(key: str) -> str | None:
    if "pharmaceutical quality operations" not in key:
        return None
    return _with_division("Office of Pharmaceutical Quality Operations", _division_number(key))


def _device_division(key: str) -> str | None:
    if not re.search(r"medical devices? and radiological health", key):
        return None
    number = _division_number(key)
    if number is None:
        number = next((n for word, n in DEVICE_REGIONS.items() if word in _TOKEN.findall(key)), None)
    return _with_division("Office of Medical Device and Radiological Health Operations", number)


def _biologics_division(key: str) -> str | None:
    if not re.search(r"biological products? operations", key):
        return None
    return _with_division("Office of Biological Products Operations", _division_number(key))


def _import_division(key: str) -> str | None:
    if "import" not in key:
        return None
    for region, name in IMPORT_DIVISIONS:
        if region in key:
            return name
    return None
