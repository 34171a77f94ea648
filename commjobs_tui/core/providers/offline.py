"""Template drafts written locally, for use without an AI model or network."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from commjobs_tui.core.prompt import (
    FALLBACK_NAME,
    SUBJECT_MAX_LENGTH,
    DonorFacts,
    GiftFact,
    OrgProfile,
    check_draft,
    format_money,
)
from commjobs_tui.core.providers.base import Draft, ErrorKind, ProviderError

OFFLINE_MODEL = "offline"
TEMPLATE_NOTICE = (
    "(Template draft written by commjobs without an AI model. "
    "Review and edit it before sending, then delete this line.)"
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Matched against the lower-cased instruction. Renewal wins over thanks, because
# "thank lapsed donors and ask them to renew" is a renewal letter.
_RENEWAL_WORDS = (
    "renew",
    "lapsed",
    "lapse",
    "reactivat",
    "win back",
    "come back",
    "miss you",
    "rejoin",
    "haven't given",
    "have not given",
)
_THANK_WORDS = ("thank", "gratitude", "grateful", "appreciat", "acknowledg")
_UNSAFE_NAME_CHARACTERS = re.compile(r"[{}\[\]<>]")


class Template(StrEnum):
    THANK_YOU = "thank_you"
    RENEWAL = "renewal"
    GENERAL = "general"


def choose_template(instruction: str, facts: DonorFacts) -> Template:
    """Pick a template from words in the instruction.

    A renewal request for a donor with no gifts gets the general template.
    """
    text = instruction.lower()
    if any(word in text for word in _RENEWAL_WORDS):
        return Template.RENEWAL if facts.gifts else Template.GENERAL
    if any(word in text for word in _THANK_WORDS):
        return Template.THANK_YOU
    return Template.GENERAL


def format_date(day: date) -> str:
    """Format a date as "March 5, 2019" whatever the process locale."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


class OfflineProvider:
    """Provider that fills templates with the donor's facts, without a network.

    Output depends only on its inputs. Token counts are 0, and `model` is
    always "offline" so that cost estimates price it at zero.
    """

    name = "offline"

    def __init__(self) -> None:
        self.model = OFFLINE_MODEL

    async def aclose(self) -> None:
        return None

    async def draft(
        self, facts: DonorFacts, instruction: str, org: OrgProfile
    ) -> Draft:
        """Write a template draft.

        Raises ProviderError (INVALID_OUTPUT, not transient) when the donor's
        fields make the draft fail `check_draft`, because a retry writes the
        same text.
        """
        template = choose_template(instruction, facts)
        subject, paragraphs, closing = _compose(template, facts, org)
        body = "\n\n".join(
            [
                TEMPLATE_NOTICE,
                f"Dear {_greeting_name(facts)},",
                *paragraphs,
                _signature(closing, org),
            ]
        )
        reason = check_draft(subject, body)
        if reason is not None:
            raise ProviderError(
                ErrorKind.INVALID_OUTPUT,
                f"the template draft failed the checks: {reason}; "
                "edit the donor's name fields or write this email by hand",
                transient=False,
            )
        return Draft(subject=subject, body=body, prompt_tokens=0, completion_tokens=0)


def _safe(text: str | None) -> str:
    # Brackets and braces in a CRM name would read as unfilled placeholders.
    return " ".join(_UNSAFE_NAME_CHARACTERS.sub("", text or "").split())


def _greeting_name(facts: DonorFacts) -> str:
    first = _safe(facts.first_name)
    if first:
        return first
    organization = _safe(facts.organization_name)
    if organization:
        return f"friends at {organization}"
    last = _safe(facts.last_name)
    if last:
        return f"{_safe(facts.salutation)} {last}".strip()
    return FALLBACK_NAME


def _subject_name(facts: DonorFacts) -> str:
    return _safe(facts.first_name) or _safe(facts.display_name) or FALLBACK_NAME


def _fit_subject(subject: str) -> str:
    if len(subject) <= SUBJECT_MAX_LENGTH:
        return subject
    return subject[: SUBJECT_MAX_LENGTH - 3].rstrip() + "..."


def _gift_phrase(gift: GiftFact) -> str:
    phrase = (
        f"your gift of {format_money(gift.amount_cents, gift.currency)} "
        f"on {format_date(gift.donated_on)}"
    )
    campaign = _safe(gift.campaign)
    if campaign:
        phrase += f" to the {campaign}"
    return phrase


def _history_sentence(facts: DonorFacts) -> str | None:
    first = facts.first_gift
    if first is None or facts.gift_count < 2:
        return None
    totals = facts.totals_by_currency
    times = "twice" if facts.gift_count == 2 else f"{facts.gift_count} times"
    sentence = (
        f"Since your first gift in {first.donated_on.year}, you have given {times}"
    )
    if len(totals) == 1:
        currency, cents = next(iter(totals.items()))
        sentence += f", {format_money(cents, currency)} in all"
    return sentence + "."


def _compose(
    template: Template, facts: DonorFacts, org: OrgProfile
) -> tuple[str, list[str], str]:
    """Return the subject, the body paragraphs and the closing word."""
    org_name = _safe(org.name) or "our organisation"
    last_gift = facts.last_gift
    history = _history_sentence(facts)
    if template is Template.THANK_YOU:
        subject = f"Thank you, {_subject_name(facts)}"
        if last_gift is None:
            paragraphs = [
                f"Thank you for your interest in {org_name} and for being part "
                "of our community."
            ]
        else:
            opening = f"Thank you for {_gift_phrase(last_gift)}."
            paragraphs = [f"{opening} {history}" if history else opening]
        paragraphs.append(f"Support like yours makes the work of {org_name} possible.")
        return _fit_subject(subject), paragraphs, "With gratitude"
    if template is Template.RENEWAL and last_gift is not None:
        subject = f"Will you renew your support of {org_name}?"
        opening = f"{_capitalise(_gift_phrase(last_gift))} made a real difference."
        paragraphs = [
            f"{opening} {history}" if history else opening,
            "We would be grateful if you would renew your support this year. "
            "Every gift, whatever its size, helps.",
        ]
        return _fit_subject(subject), paragraphs, "With thanks"
    subject = f"A note from {org_name}"
    paragraphs = [f"I am writing with a short note from everyone at {org_name}."]
    if last_gift is not None:
        paragraphs.append(
            f"We remain grateful for your support, including {_gift_phrase(last_gift)}."
        )
    paragraphs.append("Thank you for being part of our community.")
    return _fit_subject(subject), paragraphs, "Warm regards"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _signature(closing: str, org: OrgProfile) -> str:
    lines = [f"{closing},", _safe(org.signer_name) or "The team"]
    title = _safe(org.signer_title)
    if title:
        lines.append(title)
    lines.append(_safe(org.name) or "Our organisation")
    return "\n".join(lines)
