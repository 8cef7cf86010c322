from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactd import staff
from contactd.app import create_app
from contactd.appkeys import POOL
from contactd.settings import Settings
from contactd.staff import Role


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def client(config: Settings) -> AsyncIterator[TestClient[object, object]]:
    """The daemon's HTTP app on a real port, against this test's database."""
    app = create_app(config.with_overrides(max_body_bytes=64 * 1024))
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
def app_pool(client: TestClient[object, object]) -> asyncpg.Pool:
    return client.app[POOL]  # type: ignore[index]


async def token_for(pool: asyncpg.Pool, login: str, role: Role) -> dict[str, str]:
    """Authorization headers for a new staff member with `role`."""
    _, token = await staff.add(pool, login=login, name=login.title(), role=role)
    return {"Authorization": f"Bearer {token}"}
