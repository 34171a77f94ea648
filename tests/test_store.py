"""Store behaviour that protects donor data: errors carry no row values."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from commjobs_tui.db.models import Donor
from commjobs_tui.db.store import Store


async def test_errors_hide_parameters(store: Store) -> None:
    async with store.session() as session:
        session.add(
            Donor(external_id="crm:1", first_name="Imogen", email="im@example.org")
        )
        await session.commit()
    with pytest.raises(IntegrityError) as caught:
        async with store.session() as session:
            session.add(Donor(external_id="crm:1", first_name="Imogen"))
            await session.commit()
    message = str(caught.value)
    assert "UNIQUE constraint failed" in message
    assert "Imogen" not in message
    assert "crm:1" not in message
