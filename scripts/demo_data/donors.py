"""Donor records of the demo: people, households and organisations.

A Draft is one donor record plus the facts that later steps use to add tags, notes
and past threads consistently with the donor's gifts.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from demo_data.gifts import (
    ACTIVE,
    CHURCH_AMOUNTS,
    LAPSED,
    LONG_LAPSED,
    Json,
    appeal_history,
    grant_history,
    person_history,
    sponsor_history,
)
from demo_data.vocabulary import (
    BUSINESSES,
    CANADIAN_CITIES,
    CHURCHES,
    CITIES,
    DO_NOT_CONTACT_NOTES,
    EMAIL_DOMAINS,
    FEMALE_NAMES,
    FOUNDATIONS,
    INDIVIDUAL_NOTES,
    LAST_NAMES,
    MALE_NAMES,
    NEUTRAL_NAMES,
    NICKNAMES,
    ORGANISATION_NOTES,
    PERSON_NOTES,
    PRONOUNS,
    STREET_KINDS,
    STREETS,
    City,
)

# Number of individual or household donors with each giving profile. The other
# people get the "regular" profile, 250 donors in all with the organisations.
PERSON_COUNT = 231
PROFILE_COUNTS = {
    "major": 16,
    "monthly": 24,
    "lapsed": 30,
    "long_lapsed": 28,
    "new": 14,
    "prospect": 4,
}
COUPLE_COUNT = 26
NO_EMAIL_COUNT = 25
DO_NOT_CONTACT_COUNT = 5
CANADIAN_COUNT = 3
BOARD_COUNT = 8
VOLUNTEER_COUNT = 30
NO_ADDRESS: Json = {
    "street": None,
    "city": None,
    "state": None,
    "postal_code": None,
    "country": None,
    "phone": None,
}


class Person(NamedTuple):
    """The name fields of an individual, a household or an organisation's contact."""

    first_name: str
    last_name: str
    salutation: str | None
    pronouns: str
    email_stems: list[str]


def ascii_slug(text: str) -> str:
    """Return the ASCII letters and digits of `text` in lowercase, accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


@dataclass(eq=False)
class Draft:
    """A donor record and the facts used to fill in its tags, notes and threads."""

    record: Json
    kind: str  # "person", "household", "foundation", "business" or "church"
    profile: str
    pronouns: str
    greeting: str
    removal_requested: bool = False


class DonorFactory:
    """Builds donor records with unique names and email addresses."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_names: set[tuple[str, str]] = set()
        self.used_emails: set[str] = set()

    def first_name(self, pronouns: str) -> str:
        names = {"female": FEMALE_NAMES, "male": MALE_NAMES, "neutral": NEUTRAL_NAMES}
        return self.rng.choice(names[pronouns])

    def salutation(self, pronouns: str) -> str | None:
        roll = self.rng.random()
        if roll < 0.1:
            return None
        if roll < 0.2:
            return self.rng.choice(["Dr.", "Dr.", "Rev."])
        if pronouns == "female":
            return "Mrs." if roll < 0.4 else "Ms."
        if pronouns == "male":
            return "Mr."
        return "Mx."

    def individual(self) -> Person:
        while True:
            roll = self.rng.random()
            pronouns = "neutral"
            if roll < 0.47:
                pronouns = "female"
            elif roll < 0.94:
                pronouns = "male"
            first = self.first_name(pronouns)
            last = self.rng.choice(LAST_NAMES)
            if (first, last) not in self.used_names:
                break
        self.used_names.add((first, last))
        first_slug, last_slug = ascii_slug(first), ascii_slug(last)
        stems = [
            f"{first_slug}.{last_slug}",
            f"{first_slug[0]}{last_slug}",
            f"{first_slug}{last_slug}",
            f"{last_slug}.{first_slug}",
        ]
        return Person(first, last, self.salutation(pronouns), pronouns, stems)

    def household(self) -> Person:
        primary = self.individual()
        partner_pronouns = {"female": "male", "male": "female"}.get(
            primary.pronouns, "female"
        )
        if self.rng.random() < 0.15:
            partner_pronouns = primary.pronouns
        partner = primary.first_name
        while partner == primary.first_name:
            partner = self.first_name(partner_pronouns)
        first = f"{primary.first_name} and {partner}"
        stem = f"{ascii_slug(primary.first_name)}.and.{ascii_slug(partner)}"
        stems = [f"{stem}.{ascii_slug(primary.last_name)}", *primary.email_stems]
        return Person(first, primary.last_name, None, "neutral", stems)

    def email(self, stems: list[str]) -> str:
        stem = self.rng.choice(stems)
        domain = self.rng.choice(EMAIL_DOMAINS)
        address = f"{stem}@{domain}"
        counter = 2
        while address in self.used_emails:
            address = f"{stem}{counter}@{domain}"
            counter += 1
        self.used_emails.add(address)
        return address

    def address(self, city: City) -> Json:
        street = f"{self.rng.randint(1, 9899)} {self.rng.choice(STREETS)} "
        street += self.rng.choice(STREET_KINDS)
        if self.rng.random() < 0.1:
            street += f", Apt {self.rng.randint(1, 12)}{self.rng.choice('ABCD')}"
        if city.country == "Canada":
            digits = self.rng.randint(1, 9), self.rng.randint(0, 9)
            postal = f"{city.postal_prefix} {digits[0]}{self.rng.choice('ABEHKLR')}"
            postal += str(digits[1])
        else:
            postal = f"{city.postal_prefix}{self.rng.randint(1, 99):02d}"
        phone = f"({city.area_code}) 555-01{self.rng.randint(0, 99):02d}"
        return {
            "street": street,
            "city": city.name,
            "state": city.state,
            "postal_code": postal,
            "country": city.country,
            "phone": phone if self.rng.random() < 0.85 else None,
        }

    def record(
        self, person: Person | None, organization: str | None, email_stems: list[str]
    ) -> Json:
        record: Json = {
            "salutation": person.salutation if person else None,
            "first_name": person.first_name if person else None,
            "last_name": person.last_name if person else None,
            "organization_name": organization,
            "notes": None,
            "tags": [],
            "do_not_contact": False,
            "donations": [],
            "threads": [],
        }
        record["email"] = self.email(email_stems)
        if self.rng.random() < 0.04:
            record.update(NO_ADDRESS)
        else:
            record.update(self.address(self.rng.choice(CITIES)))
        return record


def greeting_for(person: Person | None, organization: str | None) -> str:
    if person is not None:
        return person.first_name
    return f"friends at {organization}"


def build_people(factory: DonorFactory) -> list[Draft]:
    rng = factory.rng
    profiles = [name for name, count in PROFILE_COUNTS.items() for _ in range(count)]
    profiles += ["regular"] * (PERSON_COUNT - len(profiles))
    rng.shuffle(profiles)
    households = set(rng.sample(range(PERSON_COUNT), COUPLE_COUNT))
    drafts = []
    for index, profile in enumerate(profiles):
        is_household = index in households
        person = factory.household() if is_household else factory.individual()
        record = factory.record(person, None, person.email_stems)
        record["donations"] = person_history(rng, profile)
        kind = "household" if is_household else "person"
        greeting = greeting_for(person, None)
        drafts.append(Draft(record, kind, profile, person.pronouns, greeting))
    for index in rng.sample(range(PERSON_COUNT), CANADIAN_COUNT):
        drafts[index].record.update(factory.address(rng.choice(CANADIAN_CITIES)))
    return drafts


def build_organisations(factory: DonorFactory) -> list[Draft]:
    rng = factory.rng
    drafts = []
    grant_years = [2026, 2026, 2026, 2026, 2025, 2022]
    for name, last_year in zip(FOUNDATIONS, grant_years, strict=True):
        drafts.append(
            organisation(factory, name, "foundation", grant_history(rng, last_year))
        )
    business_ranges = [ACTIVE] * 6 + [LAPSED, LONG_LAPSED]
    for name, last_range in zip(BUSINESSES, business_ranges, strict=True):
        drafts.append(
            organisation(factory, name, "business", sponsor_history(rng, last_range))
        )
    church_ranges = [ACTIVE] * 4 + [LAPSED]
    for name, last_range in zip(CHURCHES, church_ranges, strict=True):

        def church_amount() -> float:
            return rng.choice(CHURCH_AMOUNTS)

        gifts = appeal_history(rng, last_range, church_amount, first_year=2019)
        if rng.random() < 0.5:
            for found in gifts:
                found["fund"] = "Food Pantry Fund"
        drafts.append(organisation(factory, name, "church", gifts))
    return drafts


def organisation(
    factory: DonorFactory, name: str, kind: str, gifts: list[Json]
) -> Draft:
    """Return an organisation whose contact person is named in three cases of four."""
    contact = factory.individual() if factory.rng.random() < 0.75 else None
    org_slug = ".".join(ascii_slug(word) for word in name.split()[:2])
    stems = [f"info.{org_slug}", f"office.{org_slug}"]
    if contact is not None and kind != "church":
        stems = contact.email_stems
    record = factory.record(contact, name, stems)
    record["donations"] = gifts
    record["notes"] = factory.rng.choice(ORGANISATION_NOTES[kind])
    pronouns = contact.pronouns if contact else "neutral"
    return Draft(record, kind, "organisation", pronouns, greeting_for(contact, name))


def last_gift_on(draft: Draft) -> str:
    """Return the ISO date of the newest gift, or "" for a donor with no gifts."""
    return max((g["donated_on"] for g in draft.record["donations"]), default="")


def add_note(draft: Draft, note: str) -> None:
    current = draft.record["notes"]
    draft.record["notes"] = note if current is None else f"{current} {note}"


def add_tags(rng: random.Random, drafts: list[Draft]) -> None:
    active_since = ACTIVE[0].isoformat()
    for draft in drafts:
        campaigns = {g["campaign"] for g in draft.record["donations"]}
        tags = draft.record["tags"]
        if draft.profile == "monthly" and last_gift_on(draft) >= active_since:
            tags.append("monthly")
        if "Annual Gala 2025" in campaigns:
            tags.append("event-2025")
        if draft.kind == "business" and any(
            c is not None and c.startswith("Annual Gala") for c in campaigns
        ):
            tags.append("sponsor")
    people = [d for d in drafts if d.kind in ("person", "household")]
    board_candidates = [
        d
        for d in people
        if d.profile in ("major", "regular") and last_gift_on(d) >= active_since
    ]
    for year, draft in enumerate(rng.sample(board_candidates, BOARD_COUNT), 2018):
        draft.record["tags"].append("board")
        add_note(draft, f"Board member since {year}.")
    for draft in rng.sample(people, VOLUNTEER_COUNT):
        draft.record["tags"].append("volunteer")
    for draft in rng.sample(people, 10):
        draft.record["tags"].append("event-2025")
    loyal = [d for d in people if d.record["donations"] and first_year(d) == 2019]
    for draft in rng.sample(loyal, 3):
        draft.record["tags"].append("legacy-society")
        add_note(
            draft,
            "Named the organisation in {their} will.".format(
                **PRONOUNS[draft.pronouns]
            ),
        )
    for draft in drafts:
        draft.record["tags"] = sorted(set(draft.record["tags"]))


def first_year(draft: Draft) -> int:
    return min(int(g["donated_on"][:4]) for g in draft.record["donations"])


def add_person_notes(rng: random.Random, drafts: list[Draft]) -> None:
    people = [d for d in drafts if d.kind in ("person", "household")]
    for draft in people:
        first = draft.record["first_name"]
        if draft.kind == "person" and first in NICKNAMES and rng.random() < 0.6:
            draft.greeting = NICKNAMES[first]
            add_note(draft, f"Prefers to be called {NICKNAMES[first]}.")
        if draft.profile == "monthly" and "monthly" not in draft.record["tags"]:
            stopped = dt.date.fromisoformat(last_gift_on(draft))
            add_note(draft, f"Monthly gift stopped after {stopped:%B %Y}.")
    for draft in rng.sample(people, 45):
        choices = PERSON_NOTES
        if draft.kind == "person":
            choices = PERSON_NOTES + INDIVIDUAL_NOTES
        add_note(draft, rng.choice(choices).format(**PRONOUNS[draft.pronouns]))
    # Board members stay contactable, because they would resign rather than opt out.
    not_board = [d for d in people if "board" not in d.record["tags"]]
    opted_out = rng.sample(not_board, DO_NOT_CONTACT_COUNT)
    for index, draft in enumerate(opted_out):
        draft.record["do_not_contact"] = True
        add_note(draft, DO_NOT_CONTACT_NOTES[index % len(DO_NOT_CONTACT_NOTES)])
    # The first note records a request made by email, so a thread goes with it.
    opted_out[0].removal_requested = True
    # Donors who opted out keep their email address, as a CRM export would show.
    contactable = [d for d in people if not d.record["do_not_contact"]]
    for draft in rng.sample(contactable, NO_EMAIL_COUNT):
        draft.record["email"] = None
