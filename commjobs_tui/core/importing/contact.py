"""Email addresses, postal addresses and yes/no flags from CRM exports."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Maximum address length: RFC 5321 limits a path to 256 characters, including
# the angle brackets.
MAX_EMAIL_LENGTH = 254
US = "United States"
_FORBIDDEN_IN_LOCAL_PART = set(' \t"(),:;<>[]\\')
# Letters and digits, with inner hyphens. \w also matches "_", which hostnames
# must not contain, hence [^\W_].
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:(?:[^\W_]|-)*[^\W_])?$")
_ADDRESS_LIST_SEPARATOR = re.compile(r"[;,\s]+")
_MAILING_ADDRESS_SEPARATOR = re.compile(r"\s{2,}")
_POSTAL_CODE = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9 \-]{2,9}$")
_CANADIAN_POSTAL_CODE = re.compile(r"^([A-Za-z]\d[A-Za-z])\s*-?\s*(\d[A-Za-z]\d)$")
TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "x", "checked", "on"})


@dataclass(frozen=True)
class EmailCheck:
    """A cleaned email, or None with the reason the cell was not usable."""

    email: str | None
    problem: str | None = None  # set when the cell was not empty


def clean_email(text: str) -> EmailCheck:
    """Trim and lower-case an email cell and check that it is a usable address.

    A cell listing several addresses ("a@x.org; b@y.org") gives the first valid
    one, with a problem saying the others were left out.
    """
    value = text.strip().removeprefix("mailto:").strip("<> ").lower()
    if not value:
        return EmailCheck(None)
    candidates = [part for part in _ADDRESS_LIST_SEPARATOR.split(value) if part]
    if len(candidates) > 1 and all("@" in part for part in candidates):
        valid = [part for part in candidates if _email_problem(part) is None]
        if not valid:
            return EmailCheck(None, f"invalid email '{text.strip()}': no valid address")
        return EmailCheck(
            valid[0],
            f"kept the first of {len(candidates)} emails in '{text.strip()}'",
        )
    problem = _email_problem(value)
    if problem is not None:
        return EmailCheck(None, f"invalid email '{text.strip()}': {problem}")
    return EmailCheck(value)


def _email_problem(value: str) -> str | None:
    if "@" not in value:
        return "no @"
    if any(char.isspace() for char in value):
        return "contains a space"
    if value.count("@") > 1:
        return "more than one @"
    if len(value) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    local, _, domain = value.partition("@")
    if not local or _FORBIDDEN_IN_LOCAL_PART.intersection(local):
        return "invalid name before the @"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "invalid name before the @"
    labels = domain.split(".")
    if len(labels) < 2:
        return "the domain has no dot"
    if not all(_DOMAIN_LABEL.match(label) for label in labels):
        return "invalid domain"
    return None


def is_true(text: str) -> bool:
    """Return True for the ways exports write a checked box: Y, yes, true, 1, x."""
    return text.strip().casefold() in TRUE_WORDS


def is_organization_flag(text: str) -> bool:
    """Return True for an "is organization" cell: a yes, or a type such as
    "Organization" or "Company"."""
    value = text.strip().casefold()
    return is_true(value) or value.startswith(("org", "company", "business"))


def _letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalpha())


_US_STATES = {
    "AL": ("alabama", "ala"),
    "AK": ("alaska",),
    "AZ": ("arizona", "ariz"),
    "AR": ("arkansas", "ark"),
    "CA": ("california", "calif", "cal", "cali"),
    "CO": ("colorado", "colo"),
    "CT": ("connecticut", "conn"),
    "DE": ("delaware", "del"),
    "DC": ("districtofcolumbia", "washingtondc", "washdc"),
    "FL": ("florida", "fla"),
    "GA": ("georgia",),
    "HI": ("hawaii",),
    "ID": ("idaho",),
    "IL": ("illinois", "ill"),
    "IN": ("indiana", "ind"),
    "IA": ("iowa",),
    "KS": ("kansas", "kan", "kans"),
    "KY": ("kentucky",),
    "LA": ("louisiana",),
    "ME": ("maine",),
    "MD": ("maryland",),
    "MA": ("massachusetts", "mass"),
    "MI": ("michigan", "mich"),
    "MN": ("minnesota", "minn"),
    "MS": ("mississippi", "miss"),
    "MO": ("missouri",),
    "MT": ("montana", "mont"),
    "NE": ("nebraska", "neb", "nebr"),
    "NV": ("nevada", "nev"),
    "NH": ("newhampshire",),
    "NJ": ("newjersey",),
    "NM": ("newmexico", "nmex"),
    "NY": ("newyork",),
    "NC": ("northcarolina",),
    "ND": ("northdakota", "ndak"),
    "OH": ("ohio",),
    "OK": ("oklahoma", "okla"),
    "OR": ("oregon", "ore", "oreg"),
    "PA": ("pennsylvania", "penn", "penna"),
    "RI": ("rhodeisland",),
    "SC": ("southcarolina",),
    "SD": ("southdakota", "sdak"),
    "TN": ("tennessee", "tenn"),
    "TX": ("texas", "tex"),
    "UT": ("utah",),
    "VT": ("vermont",),
    "VA": ("virginia",),
    "WA": ("washington", "wash"),
    "WV": ("westvirginia", "wva", "wvirg"),
    "WI": ("wisconsin", "wis", "wisc"),
    "WY": ("wyoming", "wyo"),
    "PR": ("puertorico",),
    "GU": ("guam",),
    "VI": ("virginislands", "usvirginislands"),
    "AS": ("americansamoa",),
    "MP": ("northernmarianaislands",),
    "AA": ("armedforcesamericas",),
    "AE": ("armedforceseurope",),
    "AP": ("armedforcespacific",),
}
# Keys are letters only, so "Calif.", "CALIF" and "calif" are one spelling.
US_STATE_CODES = {
    spelling: code
    for code, spellings in _US_STATES.items()
    for spelling in (code.casefold(), *spellings)
}

_COUNTRIES = {
    US: (
        "us",
        "usa",
        "unitedstates",
        "unitedstatesofamerica",
        "theunitedstates",
        "america",
    ),
    "Canada": ("ca", "can", "canada"),
    "United Kingdom": ("uk", "gb", "gbr", "unitedkingdom", "greatbritain"),
    "Ireland": ("ie", "irl", "ireland", "republicofireland"),
    "Australia": ("au", "aus", "australia"),
    "New Zealand": ("nz", "nzl", "newzealand"),
    "Mexico": ("mx", "mex", "mexico", "méxico"),
    "Germany": ("de", "deu", "germany", "deutschland"),
    "France": ("fr", "fra", "france"),
    "Spain": ("es", "esp", "spain", "españa"),
    "Italy": ("it", "ita", "italy", "italia"),
    "Netherlands": ("nl", "nld", "netherlands", "thenetherlands", "holland"),
    "Belgium": ("be", "bel", "belgium"),
    "Switzerland": ("ch", "che", "switzerland", "schweiz", "suisse"),
    "Austria": ("at", "aut", "austria", "österreich"),
    "Sweden": ("se", "swe", "sweden"),
    "Norway": ("no", "nor", "norway"),
    "Denmark": ("dk", "dnk", "denmark"),
    "Portugal": ("pt", "prt", "portugal"),
    "Poland": ("pl", "pol", "poland"),
    "Israel": ("il", "isr", "israel"),
    "India": ("in", "ind", "india"),
    "Japan": ("jp", "jpn", "japan"),
    "China": ("cn", "chn", "china"),
    "Brazil": ("br", "bra", "brazil", "brasil"),
    "South Africa": ("za", "zaf", "southafrica"),
    "Kenya": ("ke", "ken", "kenya"),
    "Nigeria": ("ng", "nga", "nigeria"),
    "Philippines": ("ph", "phl", "philippines"),
}
COUNTRY_NAMES = {
    spelling: name for name, spellings in _COUNTRIES.items() for spelling in spellings
}


def normalize_country(text: str) -> str:
    """Return the English name for common spellings and ISO codes of a country.

    "US", "U.S.A." and "United States of America" all become "United States".
    Other values are returned trimmed, as written.
    """
    return COUNTRY_NAMES.get(_letters(text), text.strip())


def normalize_state(text: str, country: str) -> str:
    """Return the two-letter code of a US state, or the value trimmed.

    Only a US or empty country is looked up, so a province named like a US
    state abbreviation keeps its spelling.
    """
    value = text.strip()
    if country not in ("", US):
        return value
    return US_STATE_CODES.get(_letters(value), value)


def is_us_address(country: str, state: str) -> bool:
    """Return True for a US country, or no country and a US state code."""
    if country:
        return country == US
    return state in _US_STATES


def normalize_postal_code(text: str, *, country: str, state: str) -> str:
    """Restore leading zeros that spreadsheets drop from US ZIP codes.

    "7076" becomes "07076" and "7076-1234" becomes "07076-1234". A Canadian
    code is written in capitals with a space ("K1A 0B1"). Other values are
    returned trimmed.
    """
    value = text.strip()
    if is_us_address(country, state):
        zip5, dash, plus4 = value.partition("-")
        if zip5.isdigit() and 3 <= len(zip5) <= 5:
            if not dash:
                return zip5.zfill(5)
            if plus4.isdigit() and len(plus4) == 4:
                return f"{zip5.zfill(5)}-{plus4}"
        if value.isdigit() and len(value) in (8, 9):
            padded = value.zfill(9)
            return f"{padded[:5]}-{padded[5:]}"
        return value
    if country == "Canada":
        match = _CANADIAN_POSTAL_CODE.match(value)
        if match:
            return f"{match[1]} {match[2]}".upper()
    return value


@dataclass(frozen=True)
class MailingAddress:
    """The parts of a one-cell postal address. Parts not found are empty."""

    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


def split_mailing_address(text: str) -> MailingAddress:
    """Split a one-cell address whose parts are separated by two or more spaces.

    Mailchimp exports its address field this way: street, optional second
    street line, city, state, ZIP and country. Parts are read from the end, so
    a missing second street line does not shift the others. A cell without
    such separators becomes the street.
    """
    parts = [part.strip() for part in _MAILING_ADDRESS_SEPARATOR.split(text.strip())]
    parts = [part for part in parts if part]
    if len(parts) < 3:
        return MailingAddress(street=" ".join(parts))
    country = ""
    if _letters(parts[-1]) in COUNTRY_NAMES and not _POSTAL_CODE.match(parts[-1]):
        country = parts.pop()
    postal_code = parts.pop() if _POSTAL_CODE.match(parts[-1]) else ""
    state = ""
    if len(parts) >= 3 and not any(char.isdigit() for char in parts[-1]):
        state = parts.pop()
    city = parts.pop() if len(parts) >= 2 else ""
    return MailingAddress(
        street=", ".join(parts),
        city=city,
        state=state,
        postal_code=postal_code,
        country=country,
    )
