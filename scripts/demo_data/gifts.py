"""Campaign calendar and gift histories for the demo donors.

Amounts are drawn in whole US dollars and stored as integer cents. Every gift is
dated from 2019 to LAST_GIFT_DATE.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any, NamedTuple

# The demo's "today". Gifts and messages are all dated before it.
REFERENCE_DATE = dt.date(2026, 12, 1)
LAST_GIFT_DATE = REFERENCE_DATE - dt.timedelta(days=1)

# Ranges of the last gift date that define each giving status: active donors gave
# within 12 months of REFERENCE_DATE, lapsed ones 12 to 24 months before it, and
# long-lapsed ones earlier still.
ACTIVE = (dt.date(2025, 12, 1), LAST_GIFT_DATE)
LAPSED = (dt.date(2024, 12, 2), dt.date(2025, 11, 30))
LONG_LAPSED = (dt.date(2019, 6, 1), dt.date(2024, 11, 30))

# Gift sizes in whole US dollars.
SMALL_AMOUNTS = [25, 25, 35, 50, 50, 50, 75, 100, 100, 150, 200, 250, 500]
MONTHLY_AMOUNTS = [10, 15, 20, 25, 25, 30, 50, 100]
MAJOR_AMOUNTS = [1_000, 1_500, 2_500, 2_500, 5_000, 5_000, 7_500, 10_000, 25_000]
GRANT_AMOUNTS = [5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000]
SPONSOR_AMOUNTS = [1_000, 2_500, 2_500, 5_000]
CHURCH_AMOUNTS = [100, 250, 250, 500]
CENTS_PER_DOLLAR = 100

Json = dict[str, Any]


class Appeal(NamedTuple):
    """A campaign with its fund and the first and last day that gifts arrive."""

    campaign: str
    fund: str
    start: dt.date
    end: dt.date


def random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def giving_tuesday(year: int) -> dt.date:
    """Return the Tuesday after US Thanksgiving, the fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    thanksgiving = first + dt.timedelta(days=(3 - first.weekday()) % 7, weeks=3)
    return thanksgiving + dt.timedelta(days=5)


def gala_date(year: int) -> dt.date | None:
    """Return the third Saturday of October, or None in 2020 and 2021 (no gala)."""
    if year in (2020, 2021):
        return None
    first = dt.date(year, 10, 1)
    return first + dt.timedelta(days=(5 - first.weekday()) % 7, weeks=2)


def appeals_of_year(year: int) -> list[Appeal]:
    tuesday = giving_tuesday(year)
    appeals = [
        Appeal(
            f"Spring Appeal {year}",
            "General Fund",
            dt.date(year, 3, 1),
            dt.date(year, 5, 15),
        ),
        Appeal(
            f"Scholarship Appeal {year}",
            "Scholarship Fund",
            dt.date(year, 6, 1),
            dt.date(year, 8, 15),
        ),
        Appeal(f"Giving Tuesday {year}", "General Fund", tuesday, tuesday),
        Appeal(
            f"Year-End Appeal {year}",
            "General Fund",
            dt.date(year, 11, 15),
            dt.date(year, 12, 31),
        ),
    ]
    gala = gala_date(year)
    if gala is not None:
        appeals.append(Appeal(f"Annual Gala {year}", "General Fund", gala, gala))
    if year == 2020:
        appeals.append(
            Appeal(
                "Emergency Relief 2020",
                "Emergency Relief Fund",
                dt.date(2020, 3, 20),
                dt.date(2020, 7, 31),
            )
        )
    if 2023 <= year <= 2025:
        appeals.append(
            Appeal(
                "Capital Campaign",
                "Building Fund",
                dt.date(year, 1, 15),
                dt.date(year, 12, 15),
            )
        )
    return appeals


def gift(amount_dollars: float, on: dt.date, campaign: str | None, fund: str) -> Json:
    return {
        "amount_cents": round(amount_dollars * CENTS_PER_DOLLAR),
        "campaign": campaign,
        "donated_on": on.isoformat(),
        "fund": fund,
    }


def vary_amount(rng: random.Random, base: int) -> float:
    """Return a gift near the donor's usual size, sometimes with the card fee added."""
    amount = max(10, round(base * rng.choice([1, 1, 1, 1, 1.5, 2, 0.5])))
    if rng.random() < 0.05:
        return round(amount * 1.03, 2)
    return amount


def appeal_gift(
    rng: random.Random, year: int, before: dt.date, amount: float
) -> Json | None:
    """Return a gift in `year` dated before `before`, usually for an appeal."""
    appeals = [a for a in appeals_of_year(year) if a.start < before]
    latest = min(dt.date(year, 12, 31), before - dt.timedelta(days=1))
    if latest.year < year:
        return None
    if not appeals or rng.random() < 0.15:
        on = random_date(rng, dt.date(year, 1, 1), latest)
        return gift(amount, on, None, "General Fund")
    appeal = rng.choice(appeals)
    on = random_date(rng, appeal.start, min(appeal.end, latest))
    return gift(amount, on, appeal.campaign, appeal.fund)


def gift_on(on: dt.date, amount: float) -> Json:
    """Return a gift dated `on`, credited to the appeal running that day if any."""
    for appeal in appeals_of_year(on.year):
        if appeal.start <= on <= appeal.end:
            return gift(amount, on, appeal.campaign, appeal.fund)
    return gift(amount, on, None, "General Fund")


def appeal_history(
    rng: random.Random,
    last_range: tuple[dt.date, dt.date],
    amount: Callable[[], float],
    *,
    first_year: int | None = None,
    gifts_per_year: tuple[int, int] = (1, 2),
) -> list[Json]:
    """Return yearly gifts that end with one gift dated within `last_range`."""
    last = random_date(rng, *last_range)
    if first_year is None:
        first_year = rng.randint(2019, last.year)
    gifts = []
    for year in range(first_year, last.year + 1):
        if year < last.year and rng.random() < 0.2:
            continue
        for _ in range(rng.randint(*gifts_per_year)):
            found = appeal_gift(rng, year, last, amount())
            if found is not None:
                gifts.append(found)
    gifts.append(gift_on(last, amount()))
    return gifts


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def monthly_history(rng: random.Random, stopped: bool) -> list[Json]:
    """Return a recurring gift on the 1st or 15th that runs 6 to 36 months."""
    day = rng.choice([1, 15])
    if stopped:
        end = dt.date(rng.randint(2022, 2025), rng.randint(1, 10), day)
    else:
        end = dt.date(2026, 11, day)
    length = rng.randint(6, 36)
    start = max(add_months(end, -length), dt.date(2019, 1, day))
    amount = rng.choice(MONTHLY_AMOUNTS)
    raise_month = add_months(start, rng.randint(3, 30))
    gifts = []
    month = start
    while month <= end:
        if month == raise_month and rng.random() < 0.4:
            amount = amount + 5 if amount < 50 else amount + 25
        gifts.append(gift(amount, month, "Monthly Giving", "General Fund"))
        month = add_months(month, 1)
    return gifts


def grant_history(rng: random.Random, last_year: int) -> list[Json]:
    """Return one grant a year to a restricted fund, each in the same month."""
    month = rng.randint(2, 6)
    fund = rng.choice(["Youth Program Fund", "Food Pantry Fund", "Scholarship Fund"])
    amount = rng.choice(GRANT_AMOUNTS)
    first_year = rng.randint(2019, min(2023, last_year))
    gifts = []
    for year in range(first_year, last_year + 1):
        on = dt.date(year, month, rng.randint(1, 28))
        gifts.append(gift(amount, on, f"Foundation Grants {year}", fund))
        if rng.random() < 0.3:
            amount = min(amount + 2_500, 25_000)
    return gifts


def sponsor_history(
    rng: random.Random, last_range: tuple[dt.date, dt.date]
) -> list[Json]:
    """Return a business's $250 and $500 appeal gifts plus gala sponsorships."""
    gifts = appeal_history(
        rng,
        last_range,
        lambda: rng.choice([250, 500]),
        gifts_per_year=(0, 1),
    )
    last = max(g["donated_on"] for g in gifts)
    for year in range(2019, 2027):
        gala = gala_date(year)
        if gala is None or gala.isoformat() >= last or rng.random() < 0.3:
            continue
        amount = rng.choice(SPONSOR_AMOUNTS)
        gifts.append(gift(amount, gala, f"Annual Gala {year}", "General Fund"))
    return gifts


def person_history(rng: random.Random, profile: str) -> list[Json]:
    """Return the gifts of an individual or household with the given profile."""
    base = rng.choice(SMALL_AMOUNTS)

    def small() -> float:
        return vary_amount(rng, base)

    def major() -> float:
        if rng.random() < 0.7:
            return rng.choice(MAJOR_AMOUNTS)
        return rng.choice([250, 500])

    match profile:
        case "prospect":
            return []
        case "new":
            first = (dt.date(2026, 1, 15), LAST_GIFT_DATE)
            return appeal_history(
                rng, first, small, first_year=2026, gifts_per_year=(0, 1)
            )
        case "monthly":
            return monthly_history(rng, stopped=rng.random() < 0.2)
        case "major":
            last_range = ACTIVE if rng.random() < 0.8 else LAPSED
            return appeal_history(
                rng, last_range, major, first_year=rng.randint(2019, 2022)
            )
        case "lapsed":
            return appeal_history(rng, LAPSED, small)
        case "long_lapsed":
            return appeal_history(rng, LONG_LAPSED, small, gifts_per_year=(1, 1))
        case _:
            return appeal_history(rng, ACTIVE, small)
