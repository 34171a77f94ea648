"""Demo data: the generator, the packaged JSON file and seeding a database."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from commjobs_tui.core import demo
from commjobs_tui.core.demo import (
    DemoDataError,
    demo_database_path,
    parse_demo_data,
    seed_demo,
)
from commjobs_tui.db.models import (
    CommunicationMessage,
    CommunicationThread,
    Donation,
    Donor,
)
from commjobs_tui.db.store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "scripts" / "make_demo_data.py"
RESERVED_DOMAINS = {"example.org", "example.com", "example.net"}
# The demo data treats this day as today.
REFERENCE_DATE = dt.date(2026, 12, 1)
ONE_YEAR_BEFORE = dt.date(2025, 12, 1)
TWO_YEARS_BEFORE = dt.date(2024, 12, 1)
MAJOR_GIFT_CENTS = 100_000


def packaged_bytes() -> bytes:
    resource = resources.files("commjobs_tui").joinpath("data", "demo_donors.json")
    return resource.read_bytes()


def packaged_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(packaged_bytes())
    return document


def run_generator(output: Path) -> bytes:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return output.read_bytes()


async def count_rows(store: Store, model: type[Any]) -> int:
    async with store.session() as session:
        count = await session.scalar(select(func.count()).select_from(model))
    return int(count or 0)


async def last_gift_dates(store: Store) -> dict[int, dt.date]:
    async with store.session() as session:
        rows = await session.execute(
            select(Donation.donor_id, func.max(Donation.donated_on)).group_by(
                Donation.donor_id
            )
        )
        return {donor_id: last for donor_id, last in rows}


async def test_seed_demo_inserts_expected_mix(store: Store) -> None:
    inserted = await seed_demo(store)

    assert 230 <= inserted <= 270
    assert await count_rows(store, Donor) == inserted

    async with store.session() as session:
        donors = list(await session.scalars(select(Donor)))
        amounts = list(await session.scalars(select(Donation.amount_cents)))
        gift_dates = list(await session.scalars(select(Donation.donated_on)))
        channels = set(await session.scalars(select(CommunicationMessage.channel)))
        sent_times = list(await session.scalars(select(CommunicationMessage.sent_at)))
        major_donors = set(
            await session.scalars(
                select(Donation.donor_id).where(
                    Donation.amount_cents >= MAJOR_GIFT_CENTS
                )
            )
        )
    last_gifts = await last_gift_dates(store)

    active = [d for d in last_gifts.values() if d >= ONE_YEAR_BEFORE]
    lapsed = [d for d in last_gifts.values() if d < ONE_YEAR_BEFORE]
    long_lapsed = [d for d in last_gifts.values() if d < TWO_YEARS_BEFORE]
    assert len(active) >= 100
    assert len(lapsed) >= 30
    assert len(long_lapsed) >= 15
    assert len(major_donors) >= 10
    assert max(amounts) <= 2_500_000
    assert min(amounts) > 0

    without_email = [d for d in donors if d.email is None]
    organisations = [d for d in donors if d.organization_name]
    households = [d for d in donors if d.first_name and " and " in d.first_name]
    opted_out = [d for d in donors if d.do_not_contact]
    no_gifts = [d for d in donors if d.id not in last_gifts]
    assert 0.05 * inserted <= len(without_email) <= 0.15 * inserted
    assert len(organisations) >= 10
    assert len(households) >= 10
    assert 2 <= len(opted_out) <= 10
    assert 1 <= len(no_gifts) <= 10

    tags = Counter(tag for d in donors if d.tags for tag in d.tags.split(","))
    assert tags["monthly"] >= 10
    assert tags["board"] >= 3
    assert tags["volunteer"] >= 10
    assert tags["event-2025"] >= 10
    assert sum(1 for d in donors if d.notes) >= 30

    years = {day.year for day in gift_dates}
    assert years >= set(range(2019, 2027))
    assert max(gift_dates) < REFERENCE_DATE
    assert await count_rows(store, CommunicationThread) >= 10
    assert channels >= {"email", "letter", "phone"}
    assert max(sent_times) < dt.datetime(2026, 12, 1)


async def test_seed_demo_matches_data_file(store: Store) -> None:
    await seed_demo(store)
    document = packaged_document()

    async with store.session() as session:
        donors = {d.external_id: d for d in await session.scalars(select(Donor))}
        gift_rows = await session.execute(
            select(Donor.external_id, func.count(), func.sum(Donation.amount_cents))
            .join(Donation)
            .group_by(Donor.external_id)
        )
        gifts = {external_id: (count, total) for external_id, count, total in gift_rows}
        thread_rows = await session.execute(
            select(Donor.external_id, CommunicationThread.subject, func.count())
            .join(CommunicationThread)
            .join(CommunicationMessage)
            .group_by(CommunicationThread.id)
        )
        threads = sorted((e, s or "", n) for e, s, n in thread_rows)

    assert len(donors) == len(document["donors"])
    expected_threads = []
    for record in document["donors"]:
        donor = donors[record["external_id"]]
        assert donor.email == record["email"]
        assert donor.last_name == record["last_name"]
        assert donor.tags == (",".join(record["tags"]) or None)
        expected_gifts = record["donations"]
        if expected_gifts:
            expected = (
                len(expected_gifts),
                sum(g["amount_cents"] for g in expected_gifts),
            )
            assert gifts[record["external_id"]] == expected
        else:
            assert record["external_id"] not in gifts
        for thread in record["threads"]:
            expected_threads.append(
                (record["external_id"], thread["subject"], len(thread["messages"]))
            )
    assert threads == sorted(expected_threads)


async def test_seed_demo_twice_inserts_nothing(store: Store) -> None:
    first = await seed_demo(store)
    second = await seed_demo(store)

    assert first > 0
    assert second == 0
    assert await count_rows(store, Donor) == first


async def test_seed_demo_skips_database_with_donors(store: Store) -> None:
    async with store.session() as session, session.begin():
        session.add(Donor(external_id="crm:1", first_name="Test", last_name="Donor"))

    assert await seed_demo(store) == 0
    assert await count_rows(store, Donor) == 1
    assert await count_rows(store, Donation) == 0


async def test_seed_demo_concurrent_seeds_insert_once(db_path: Path) -> None:
    stores = [Store(db_path), Store(db_path)]
    try:
        results = await asyncio.gather(*(seed_demo(s) for s in stores))
        donors = await count_rows(stores[0], Donor)
    finally:
        for store in stores:
            await store.close()

    assert sorted(results)[0] == 0
    assert sorted(results)[1] == donors


async def test_seed_demo_failure_leaves_table_empty(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = packaged_document()
    # Messages are inserted last, and their channel column is NOT NULL.
    with_threads = [d for d in document["donors"] if d["threads"]]
    with_threads[-1]["threads"][-1]["messages"][-1]["channel"] = None
    raw = json.dumps(document).encode()
    monkeypatch.setattr(demo, "read_demo_data", lambda: raw)

    with pytest.raises(IntegrityError):
        await seed_demo(store)

    assert await count_rows(store, Donor) == 0
    assert await count_rows(store, Donation) == 0
    assert await count_rows(store, CommunicationThread) == 0
    assert await count_rows(store, CommunicationMessage) == 0


def test_generator_output_is_deterministic(tmp_path: Path) -> None:
    first = run_generator(tmp_path / "first.json")
    second = run_generator(tmp_path / "second.json")

    assert first == second
    assert first == packaged_bytes(), (
        "the committed demo data differs from the generator output; "
        "run python scripts/make_demo_data.py and commit the result"
    )


def test_demo_emails_use_reserved_domains() -> None:
    emails = [d["email"] for d in packaged_document()["donors"] if d["email"]]

    assert len(emails) == len(set(emails))
    for email in emails:
        local, _, domain = email.rpartition("@")
        assert local, email
        assert domain in RESERVED_DOMAINS, email


def test_demo_data_file_is_small_and_sorted() -> None:
    raw = packaged_bytes()
    external_ids = [d["external_id"] for d in json.loads(raw)["donors"]]

    assert len(raw) < 400_000
    assert external_ids == sorted(external_ids)
    assert external_ids[0] == "demo:0001"


def test_demo_database_path_in_user_data_dir() -> None:
    path = demo_database_path()

    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert path == data_home / "commjobs" / "demo.db"
    assert not path.parent.exists()


def invalid_document(change: str) -> bytes:
    document = packaged_document()
    first = document["donors"][0]
    if change == "version":
        document["version"] = 2
    elif change == "no donors":
        document["donors"] = []
    elif change == "negative amount":
        first["donations"] = [{**first["donations"][0], "amount_cents": -500}]
    elif change == "missing field":
        del first["email"]
    elif change == "bad date":
        first["donations"] = [{**first["donations"][0], "donated_on": "31/12/2025"}]
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "version None"),
        (invalid_document("version"), "version 2"),
        (invalid_document("no donors"), "contains no donors"),
        (invalid_document("negative amount"), "donor 0"),
        (invalid_document("missing field"), "donor 0"),
        (invalid_document("bad date"), "donor 0"),
    ],
    ids=["syntax", "array", "version", "empty", "amount", "field", "date"],
)
def test_parse_demo_data_rejects_invalid_file(raw: bytes, expected: str) -> None:
    with pytest.raises(DemoDataError) as caught:
        parse_demo_data(raw)

    assert expected in str(caught.value)
    assert "reinstall commjobs" in str(caught.value)
