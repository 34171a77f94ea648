"""The communications record: marking emails sent, threads and their messages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from commjobs_tui.core.communications import (
    donor_messages,
    list_threads,
    mark_job_sent,
    record_export,
    thread_messages,
)
from commjobs_tui.core.errors import NotFoundError, UserError
from commjobs_tui.db.models import (
    CommunicationMessage,
    CommunicationThread,
    EmailGenerationSession,
    GeneratedEmail,
)
from commjobs_tui.db.store import Store
from tests.jobdata import add_donor, add_email, add_job

MONDAY = dt.datetime(2026, 3, 2, 10, 0)
TUESDAY = dt.datetime(2026, 3, 3, 10, 0)
WEDNESDAY = dt.datetime(2026, 3, 4, 10, 0)


async def count_rows(store: Store, model: type[object]) -> int:
    async with store.session() as session:
        total = await session.scalar(select(func.count()).select_from(model))
    assert total is not None
    return total


async def sent_at_of(store: Store, email_id: int) -> dt.datetime | None:
    async with store.session() as session:
        email = await session.get(GeneratedEmail, email_id)
    assert email is not None
    return email.sent_at


async def mixed_job(store: Store) -> tuple[int, dict[str, int]]:
    """A job with two completed emails, a failed, a pending one and a preview."""
    job_id = await add_job(store, "Spring appeal")
    ada = await add_donor(store, "Ada", "Lovelace", "ada@example.org")
    jose = await add_donor(store, "José", "García", "jose@example.org")
    grace = await add_donor(store, "Grace", "Hopper", "grace@example.org")
    alan = await add_donor(store, "Alan", "Turing", "alan@example.org")
    ids = {
        "ada": await add_email(store, job_id, ada, subject="Thank you, Ada"),
        "jose": await add_email(store, job_id, jose, subject="Gracias, José"),
        "failed": await add_email(store, job_id, grace, status="failed"),
        "pending": await add_email(store, job_id, alan, status="pending"),
        "preview": await add_email(store, job_id, ada, is_preview=True),
    }
    return job_id, ids


async def test_mark_sent_records_completed(store: Store) -> None:
    job_id, ids = await mixed_job(store)

    result = await mark_job_sent(store, job_id, at=MONDAY)

    assert result.recorded == 2
    assert result.already_sent == 0
    assert result.not_completed == 2
    assert await sent_at_of(store, ids["ada"]) == MONDAY
    assert await sent_at_of(store, ids["jose"]) == MONDAY
    assert await sent_at_of(store, ids["failed"]) is None
    assert await sent_at_of(store, ids["pending"]) is None
    assert await sent_at_of(store, ids["preview"]) is None
    threads = await list_threads(store)
    assert len(threads) == 2
    assert {thread.subject for thread in threads} == {"Thank you, Ada", "Gracias, José"}
    for thread in threads:
        assert thread.message_count == 1
        assert thread.last_channel == "email"
        assert thread.last_sent_at == MONDAY


async def test_mark_sent_twice_records_nothing(store: Store) -> None:
    job_id, _ids = await mixed_job(store)
    await mark_job_sent(store, job_id, at=MONDAY)

    again = await mark_job_sent(store, job_id, at=TUESDAY)

    assert again.recorded == 0
    assert again.already_sent == 2
    assert again.not_completed == 2
    assert await count_rows(store, CommunicationMessage) == 2
    assert await count_rows(store, CommunicationThread) == 2
    threads = await list_threads(store)
    assert [thread.last_sent_at for thread in threads] == [MONDAY, MONDAY]


async def test_mark_sent_selected_ids(store: Store) -> None:
    job_id, ids = await mixed_job(store)

    first = await mark_job_sent(
        store,
        job_id,
        email_ids=[ids["ada"], ids["failed"]],
        at=MONDAY,
        channel="letter",
    )
    rest = await mark_job_sent(store, job_id, at=TUESDAY)

    assert first.recorded == 1
    assert first.not_completed == 1
    assert rest.recorded == 1
    assert rest.already_sent == 1
    assert await sent_at_of(store, ids["ada"]) == MONDAY
    assert await sent_at_of(store, ids["jose"]) == TUESDAY
    threads = await list_threads(store)
    assert [(thread.donor_name, thread.last_channel) for thread in threads] == [
        ("José García", "email"),
        ("Ada Lovelace", "letter"),
    ]


async def test_mark_sent_converts_aware_time(store: Store) -> None:
    job_id, ids = await mixed_job(store)
    berlin = dt.timezone(dt.timedelta(hours=1))

    await mark_job_sent(store, job_id, at=dt.datetime(2026, 3, 2, 11, 0, tzinfo=berlin))

    assert await sent_at_of(store, ids["ada"]) == MONDAY


async def test_mark_sent_unknown_job(store: Store) -> None:
    with pytest.raises(NotFoundError, match="communication job 99 not found"):
        await mark_job_sent(store, 99, at=MONDAY)


async def test_mark_sent_foreign_and_preview_ids(store: Store) -> None:
    job_id, ids = await mixed_job(store)
    other_job = await add_job(store, "Other")
    other_donor = await add_donor(store, "Other", "Donor", "other@example.org")
    foreign = await add_email(store, other_job, other_donor)

    with pytest.raises(NotFoundError) as caught:
        await mark_job_sent(
            store,
            job_id,
            email_ids=[ids["ada"], foreign, ids["preview"], 12345],
            at=MONDAY,
        )

    message = str(caught.value)
    expected = sorted([foreign, ids["preview"], 12345])
    assert f"emails {', '.join(map(str, expected))} are not emails" in message
    assert await sent_at_of(store, ids["ada"]) is None
    assert await count_rows(store, CommunicationMessage) == 0


async def test_mark_sent_unknown_channel(store: Store) -> None:
    job_id, _ids = await mixed_job(store)

    with pytest.raises(UserError, match="unknown channel 'fax'"):
        await mark_job_sent(store, job_id, channel="fax", at=MONDAY)
    with pytest.raises(UserError, match="unknown channel 'export'"):
        await mark_job_sent(store, job_id, channel="export", at=MONDAY)


async def test_thread_per_donor_per_job(store: Store) -> None:
    donor = await add_donor(store, "Ada", "Lovelace", "ada@example.org")
    spring = await add_job(store, "Spring appeal")
    autumn = await add_job(store, "Autumn appeal")
    await add_email(store, spring, donor, subject="Spring thanks")
    await add_email(store, autumn, donor, subject="Autumn thanks")

    await record_export(store, spring, fmt="csv", at=MONDAY)
    await mark_job_sent(store, spring, at=TUESDAY)
    await mark_job_sent(store, autumn, at=WEDNESDAY)

    threads = await list_threads(store, donor_id=donor)
    assert [thread.subject for thread in threads] == ["Autumn thanks", "Spring thanks"]
    assert [thread.message_count for thread in threads] == [1, 2]
    messages = await thread_messages(store, threads[1].id)
    assert [message.channel for message in messages] == ["export", "email"]
    assert [message.sent_at for message in messages] == [MONDAY, TUESDAY]
    assert messages[0].job_id == spring
    assert messages[0].job_name == "Spring appeal"
    assert messages[1].donor_name == "Ada Lovelace"
    assert messages[1].subject == "Spring thanks"
    assert messages[1].body == "Dear friend,\n\nThank you for your gift.\n"


async def test_record_export_once_per_email(store: Store) -> None:
    job_id, ids = await mixed_job(store)

    first = await record_export(store, job_id, fmt="csv", at=MONDAY)
    second = await record_export(store, job_id, fmt="eml", at=TUESDAY)

    assert first == 2
    assert second == 0
    assert await sent_at_of(store, ids["ada"]) is None
    threads = await list_threads(store, channel="export")
    assert len(threads) == 2
    assert {thread.last_sent_at for thread in threads} == {MONDAY}


async def test_record_export_selected_ids(store: Store) -> None:
    job_id, ids = await mixed_job(store)

    recorded = await record_export(
        store, job_id, fmt="mbox", at=MONDAY, email_ids=[ids["jose"]]
    )

    assert recorded == 1
    (thread,) = await list_threads(store)
    assert thread.donor_name == "José García"


async def test_list_threads_text_filter(store: Store) -> None:
    job_id, _ids = await mixed_job(store)
    anders = await add_donor(store, "Anders", "Ångström", "anders@example.org")
    await add_email(store, job_id, anders, subject="Tack")
    await mark_job_sent(store, job_id, at=MONDAY)

    by_name = await list_threads(store, text="lovelace")
    by_capital_accent = await list_threads(store, text="ångström")
    by_full_name = await list_threads(store, text="ada love")
    by_accent = await list_threads(store, text="JOSÉ")
    by_email = await list_threads(store, text="jose@EXAMPLE")
    by_body = await list_threads(store, text="your gift")
    no_match = await list_threads(store, text="nobody")
    blank = await list_threads(store, text="   ")

    assert [thread.donor_name for thread in by_name] == ["Ada Lovelace"]
    assert [thread.donor_name for thread in by_full_name] == ["Ada Lovelace"]
    assert [thread.donor_name for thread in by_accent] == ["José García"]
    assert [thread.donor_name for thread in by_capital_accent] == ["Anders Ångström"]
    assert [thread.donor_name for thread in by_email] == ["José García"]
    assert len(by_body) == 3
    assert no_match == []
    assert len(blank) == 3


async def test_list_threads_like_wildcards_literal(store: Store) -> None:
    job_id = await add_job(store)
    percent = await add_donor(store, "Percent", "Donor", "p@example.org")
    plain = await add_donor(store, "Plain", "Donor", "q@example.org")
    await add_email(store, job_id, percent, subject="100% thanks", body="x")
    await add_email(store, job_id, plain, subject="1000 thanks", body="y")
    await mark_job_sent(store, job_id, at=MONDAY)

    percent_match = await list_threads(store, text="100%")
    underscore_match = await list_threads(store, text="10_0")

    assert [thread.donor_name for thread in percent_match] == ["Percent Donor"]
    assert underscore_match == []


async def test_list_threads_channel_since_paging(store: Store) -> None:
    job_id, ids = await mixed_job(store)
    await mark_job_sent(store, job_id, email_ids=[ids["ada"]], at=MONDAY)
    await mark_job_sent(
        store, job_id, email_ids=[ids["jose"]], at=WEDNESDAY, channel="phone"
    )

    phone = await list_threads(store, channel="phone")
    recent = await list_threads(store, since=TUESDAY)
    first_page = await list_threads(store, limit=1)
    second_page = await list_threads(store, limit=1, offset=1)

    assert [thread.donor_name for thread in phone] == ["José García"]
    assert [thread.donor_name for thread in recent] == ["José García"]
    assert [thread.donor_name for thread in first_page] == ["José García"]
    assert [thread.donor_name for thread in second_page] == ["Ada Lovelace"]
    assert first_page[0].donor_email == "jose@example.org"


async def test_list_threads_rejects_bad_paging(store: Store) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        await list_threads(store, limit=0)
    with pytest.raises(ValueError, match="offset must not be negative"):
        await list_threads(store, offset=-1)


async def test_list_threads_empty_thread_last(store: Store) -> None:
    job_id, _ids = await mixed_job(store)
    await mark_job_sent(store, job_id, at=MONDAY)
    donor = await add_donor(store, "Quiet", "Donor", "quiet@example.org")
    async with store.session() as session:
        session.add(CommunicationThread(donor_id=donor, subject="Never used"))
        await session.commit()

    threads = await list_threads(store)

    assert len(threads) == 3
    assert threads[-1].subject == "Never used"
    assert threads[-1].message_count == 0
    assert threads[-1].last_sent_at is None
    assert threads[-1].last_channel is None


async def test_thread_messages_unknown_thread(store: Store) -> None:
    with pytest.raises(NotFoundError, match="communication thread 7 not found"):
        await thread_messages(store, 7)


async def test_donor_messages_newest_first(store: Store) -> None:
    donor = await add_donor(store, "Ada", "Lovelace", "ada@example.org")
    for index, day in enumerate((MONDAY, WEDNESDAY, TUESDAY)):
        job_id = await add_job(store, f"Job {index}")
        await add_email(store, job_id, donor, subject=f"Subject {index}")
        await mark_job_sent(store, job_id, at=day)

    newest = await donor_messages(store, donor)
    two = await donor_messages(store, donor, limit=2)

    assert [message.sent_at for message in newest] == [WEDNESDAY, TUESDAY, MONDAY]
    assert [message.subject for message in two] == ["Subject 1", "Subject 2"]
    assert [message.job_name for message in two] == ["Job 1", "Job 2"]


async def test_donor_messages_unknown_donor(store: Store) -> None:
    with pytest.raises(NotFoundError, match="donor 5 not found"):
        await donor_messages(store, 5)


async def test_history_survives_job_deletion(store: Store) -> None:
    job_id, _ids = await mixed_job(store)
    await mark_job_sent(store, job_id, at=MONDAY)
    async with store.session() as session:
        job = await session.get(EmailGenerationSession, job_id)
        assert job is not None
        await session.delete(job)
        await session.commit()

    threads = await list_threads(store)
    messages = await thread_messages(store, threads[0].id)

    assert len(threads) == 2
    assert messages[0].job_id is None
    assert messages[0].job_name is None
    assert messages[0].body == "Dear friend,\n\nThank you for your gift.\n"
