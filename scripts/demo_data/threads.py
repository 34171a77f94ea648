"""Past communications of the demo donors: threads of dated messages.

Each thread fits the donor's gifts, tags and notes, so a draft for that donor can
refer back to it. Times are naive UTC, like the database columns.
"""

from __future__ import annotations

import datetime as dt
import random

from demo_data.donors import Draft, last_gift_on
from demo_data.gifts import CENTS_PER_DOLLAR, LAPSED, Json, gala_date

SIGNATURE = "Maya Okonjo\nDirector of Development"


def money(cents: int) -> str:
    text = f"${cents / CENTS_PER_DOLLAR:,.2f}"
    return text.removesuffix(".00")


def message(
    rng: random.Random,
    day: dt.date,
    channel: str,
    subject: str,
    body: str,
    direction: str = "outbound",
) -> Json:
    """Return a message sent on `day` between 15:00 and 22:59 UTC (US office hours)."""
    sent_at = dt.datetime.combine(day, dt.time(rng.randint(15, 22), rng.randint(0, 59)))
    return {
        "body": body,
        "channel": channel,
        "direction": direction,
        "sent_at": sent_at.isoformat(),
        "subject": subject,
    }


def letter(greeting: str, *paragraphs: str) -> str:
    return "\n\n".join([f"Dear {greeting},", *paragraphs, f"Warmly,\n{SIGNATURE}"])


def thankable_gifts(draft: Draft) -> list[Json]:
    """Return the 2026 gifts that a thank-you sent 2 to 5 days later could follow.

    Monthly gifts are left out because a monthly donor gets no note per gift.
    """
    return [
        g
        for g in draft.record["donations"]
        if "2026-01-01" <= g["donated_on"] <= "2026-11-24"
        and g["campaign"] != "Monthly Giving"
    ]


def thank_you_thread(
    rng: random.Random, draft: Draft, channel: str, reply: bool
) -> Json:
    latest = max(thankable_gifts(draft), key=lambda g: g["donated_on"])
    campaign = latest["campaign"]
    subject = (
        f"Thank you for your gift to the {campaign}"
        if campaign
        else "Thank you for your gift"
    )
    purpose = f"to the {campaign}" if campaign else f"to the {latest['fund']}"
    body = letter(
        draft.greeting,
        f"Thank you for your gift of {money(latest['amount_cents'])} {purpose}.",
        "Gifts like yours kept the food pantry open five days a week this year "
        "and paid for new books in the after-school program.",
    )
    sent_on = dt.date.fromisoformat(latest["donated_on"]) + dt.timedelta(
        days=rng.randint(2, 5)
    )
    messages = [message(rng, sent_on, channel, subject, body)]
    if reply:
        answer = (
            "Thank you for the kind note. Happy to help, and see you at the next event!"
        )
        reply_on = sent_on + dt.timedelta(days=1)
        messages.append(
            message(rng, reply_on, "email", f"Re: {subject}", answer, "inbound")
        )
    return {"subject": subject, "messages": messages}


GALA_ANSWERS = [
    "Will attend with one guest.",
    "Bought a table of eight for colleagues.",
    "Cannot attend this year; asked for the video of the program.",
]


def gala_thread(rng: random.Random, draft: Draft) -> Json:
    gala = gala_date(2025)
    assert gala is not None
    subject = "You're invited to the Annual Gala 2025"
    invitation = letter(
        draft.greeting,
        f"Join us on {gala:%A} {gala.day} {gala:%B %Y} for our annual gala. This "
        "year the evening celebrates ten years of the youth mentoring program.",
        "Tickets are $150, and tables of eight are $1,100.",
    )
    call = "Called to follow up on the gala invitation. " + rng.choice(GALA_ANSWERS)
    return {
        "subject": subject,
        "messages": [
            message(
                rng, dt.date(2025, 9, rng.randint(8, 12)), "email", subject, invitation
            ),
            message(rng, dt.date(2025, 10, rng.randint(1, 7)), "phone", subject, call),
        ],
    }


def tax_summary_thread(rng: random.Random, draft: Draft) -> Json:
    total = sum(
        g["amount_cents"]
        for g in draft.record["donations"]
        if g["donated_on"].startswith("2025")
    )
    subject = "Your 2025 giving summary"
    body = letter(
        draft.greeting,
        f"Your gifts in 2025 totaled {money(total)}. No goods or services were "
        "provided in exchange. Please keep this letter for your tax records.",
    )
    day = dt.date(2026, 1, rng.randint(20, 28))
    return {
        "subject": subject,
        "messages": [message(rng, day, "letter", subject, body)],
    }


def grant_report_thread(rng: random.Random, draft: Draft) -> Json:
    grant = next(
        g for g in draft.record["donations"] if g["donated_on"].startswith("2025")
    )
    subject = f"Grant report: {grant['fund']} 2025"
    body = letter(
        draft.greeting,
        f"Attached is our report on the {money(grant['amount_cents'])} grant to the "
        f"{grant['fund']} in 2025. The program served 412 young people and families, "
        "up from 356 the year before.",
    )
    day = dt.date(2026, 1, rng.randint(25, 30))
    return {"subject": subject, "messages": [message(rng, day, "email", subject, body)]}


def lapsed_thread(rng: random.Random, draft: Draft) -> Json:
    subject = "An update from the after-school program"
    body = letter(
        draft.greeting,
        "It has been a while since we were last in touch, and we wanted to share "
        "some news. Forty students finished the spring reading program, and the "
        "new homework room opened in March.",
    )
    day = dt.date(2026, 3, rng.randint(10, 20))
    return {"subject": subject, "messages": [message(rng, day, "email", subject, body)]}


def removal_thread(rng: random.Random, draft: Draft) -> Json:
    subject = "Re: Spring Appeal 2025"
    request = "Please take me off all of your mailing lists."
    confirmation = letter(
        draft.greeting,
        "We have removed you from all appeals and newsletters. Thank you for "
        "your past support.",
    )
    requested_on = dt.date(2025, 4, rng.randint(2, 9))
    return {
        "subject": subject,
        "messages": [
            message(rng, requested_on, "email", subject, request, "inbound"),
            message(
                rng, requested_on + dt.timedelta(days=1), "email", subject, confirmation
            ),
        ],
    }


def add_threads(rng: random.Random, drafts: list[Draft]) -> None:
    """Give about 30 donors one past thread each, matched to their gifts."""

    def reachable(draft: Draft) -> bool:
        return draft.record["email"] is not None and not draft.record["do_not_contact"]

    def gave_between(draft: Draft, start: str, end: str) -> bool:
        return any(start <= g["donated_on"] <= end for g in draft.record["donations"])

    chosen: set[Draft] = set()

    def pick(candidates: list[Draft], count: int) -> list[Draft]:
        fresh = [d for d in candidates if d not in chosen]
        picked = rng.sample(fresh, min(count, len(fresh)))
        chosen.update(picked)
        return picked

    recent = [d for d in drafts if thankable_gifts(d)]
    for index, draft in enumerate(pick([d for d in recent if reachable(d)], 12)):
        draft.record["threads"].append(thank_you_thread(rng, draft, "email", index < 3))
    unreachable = [
        d for d in recent if d.record["email"] is None and d.record["street"]
    ]
    for draft in pick(unreachable, 3):
        draft.record["threads"].append(thank_you_thread(rng, draft, "letter", False))
    guests = [d for d in drafts if reachable(d) and "event-2025" in d.record["tags"]]
    for draft in pick(guests, 5):
        draft.record["threads"].append(gala_thread(rng, draft))
    givers_2025 = [
        d
        for d in drafts
        if d.record["street"] and gave_between(d, "2025-01-01", "2025-12-31")
    ]
    for draft in pick(givers_2025, 4):
        draft.record["threads"].append(tax_summary_thread(rng, draft))
    for draft in drafts:
        if draft.kind == "foundation" and gave_between(
            draft, "2025-01-01", "2025-12-31"
        ):
            draft.record["threads"].append(grant_report_thread(rng, draft))
    lapsed = [
        d
        for d in drafts
        if reachable(d)
        and LAPSED[0].isoformat() <= last_gift_on(d) <= LAPSED[1].isoformat()
    ]
    for draft in pick(lapsed, 3):
        draft.record["threads"].append(lapsed_thread(rng, draft))
    for draft in [d for d in drafts if d.removal_requested]:
        draft.record["threads"].append(removal_thread(rng, draft))
