"""``GET /leads``: filters, sorts, and keyset pages that neither repeat nor skip a lead while
leads are being added."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.leads import leads_workspace


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def create(client, headers, **body) -> dict:
    response = await client.post("/api/v1/leads", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def pages(client, headers, *, insert=None, **params) -> list[list[str]]:
    """Every page's lead ids, calling ``insert(page_number)`` between pages."""
    seen: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/leads", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if insert is not None:
            await insert(len(seen))


async def test_filters_select_and_combine(client, database, owner_engine):
    _, headers, owner = await leads_workspace(database, owner_engine, "Filters")
    stages = (await client.get("/api/v1/pipeline/stages", headers=headers)).json()["items"]
    qualified = next(s["id"] for s in stages if s["name"] == "Qualified")
    await client.put(
        "/api/v1/settings/icp",
        json={"seniorities": [], "titles": ["Chief Executive Officer"]},
        headers=headers,
    )
    jose = await create(
        client,
        headers,
        email="jose@acme.com",
        first_name="José",
        last_name="Núñez",
        title="CEO",
        company="Acme",
        tags=["VIP", "Q3"],
        status=qualified,
        owner_id=str(owner),
    )
    ann = await create(
        client,
        headers,
        email="ann@globex.com",
        first_name="Ann",
        company="Globex",
        tags=["vip"],
        source="csv",
    )
    bob = await create(client, headers, email="bob@initech.com", first_name="Bob", tags=["Q3"])

    async def ids(**params) -> set[str]:
        response = await client.get("/api/v1/leads", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids(q="jose nun") == {jose["id"]}  # accents and case ignored
    assert await ids(q="GLOBEX") == {ann["id"]}
    assert await ids(q="initech.com") == {bob["id"]}
    assert await ids(tag="VIP") == {jose["id"], ann["id"]}
    assert await ids(tag=["vip", "q3"]) == {jose["id"]}
    assert await ids(status=qualified) == {jose["id"]}
    assert await ids(owner=str(owner)) == {jose["id"]}
    assert await ids(owner="none") == {ann["id"], bob["id"]}
    assert await ids(source="csv") == {ann["id"]}
    assert await ids(source=["csv", "api"]) == {jose["id"], ann["id"], bob["id"]}
    assert jose["score"] > max(ann["score"], bob["score"])
    assert await ids(score_min=jose["score"]) == {jose["id"]}
    assert await ids(score_max=jose["score"] - 1) == {ann["id"], bob["id"]}
    assert await ids(created_after=ann["created_at"]) == {ann["id"], bob["id"]}
    assert await ids(created_before=ann["created_at"]) == {jose["id"]}
    assert await ids(status=qualified, tag="q3", score_min=1, q="acme") == {jose["id"]}

    by_name = await client.get(
        "/api/v1/leads", params={"sort": "name", "order": "asc"}, headers=headers
    )
    assert [item["first_name"] for item in by_name.json()["items"]] == ["Ann", "Bob", "José"]
    by_score = await client.get("/api/v1/leads", params={"sort": "score"}, headers=headers)
    scores = [item["score"] for item in by_score.json()["items"]]
    assert scores == sorted(scores, reverse=True)

    tags = (await client.get("/api/v1/tags", headers=headers)).json()["items"]
    assert {(tag["tag"].casefold(), tag["count"]) for tag in tags} == {("vip", 2), ("q3", 2)}


@pytest.mark.parametrize(
    ("sort", "order"),
    [("created_at", "desc"), ("created_at", "asc"), ("name", "asc"), ("score", "desc")],
)
async def test_pages_never_repeat_or_skip_a_lead_while_leads_are_added(
    client, database, owner_engine, sort, order
):
    _, headers, _ = await leads_workspace(database, owner_engine, f"Pages {sort} {order}")
    initial = set()
    for index in range(23):
        lead = await create(
            client,
            headers,
            email=f"p{index:02d}@pages.example.com",
            first_name=f"N{(index * 7) % 23:02d}",
            title="CEO" if index % 3 == 0 else None,
        )
        initial.add(lead["id"])
    added = []

    async def insert(page_number: int) -> None:
        # new leads that sort before, among and after what was already seen
        for variant in ("A", "M", "Z"):
            lead = await create(
                client,
                headers,
                email=f"new-{page_number}-{variant}@pages.example.com",
                first_name=f"{variant}{page_number}",
            )
            added.append(lead["id"])

    seen = await pages(client, headers, insert=insert, sort=sort, order=order, limit=5)
    flat = [lead_id for page in seen for lead_id in page]
    assert len(flat) == len(set(flat)), "a lead was shown twice"
    assert initial <= set(flat), "a lead that existed throughout was skipped"
    assert set(flat) <= initial | set(added)
    if (sort, order) == ("created_at", "desc"):
        assert set(flat) == initial  # the newest are on pages already passed


@pytest.mark.parametrize(
    ("cap", "small_set"),
    [(50_000, 5000), (1, 5000), (3, 1), (1000, 1)],
    ids=["rare words", "every word common", "rare with probes, walked", "rare, walked"],
)
async def test_every_search_strategy_finds_the_same_leads(
    client, database, owner_engine, monkeypatch, cap, small_set
):
    """Word search chooses how to run by how common each word is; the answer never changes."""
    from scaliyo.adapters.persistence import lead_repository

    monkeypatch.setattr(lead_repository, "SEARCH_CAP", cap)
    monkeypatch.setattr(lead_repository, "SMALL_SET", small_set)
    monkeypatch.setattr(lead_repository, "SAMPLE_HITS", 1 if cap == 1 else 10)  # sampled, walked
    _, headers, _ = await leads_workspace(database, owner_engine, f"Search {cap} {small_set}")
    people = [
        ("Jennifer", "Hall", "Acme Corp"),
        ("Jennifer", "Halloran", "Globex"),
        ("Jenny", "Smith", "Acme Labs"),
        ("John", "Hall", "Initech"),
        ("Ana", "Hallé", "Umbrella"),
    ]
    for index, (first, last, company) in enumerate(people):
        await create(
            client,
            headers,
            email=f"{first.lower()}.{index}@{company.split()[0].lower()}.example.com",
            first_name=first,
            last_name=last,
            company=company,
        )

    async def names(q: str) -> set[str]:
        response = await client.get("/api/v1/leads", params={"q": q, "limit": 2}, headers=headers)
        assert response.status_code == 200, response.text
        seen = {f"{i['first_name']} {i['last_name']}" for i in response.json()["items"]}
        cursor = response.json()["next_cursor"]
        while cursor:
            more = await client.get(
                "/api/v1/leads", params={"q": q, "limit": 2, "cursor": cursor}, headers=headers
            )
            seen |= {f"{i['first_name']} {i['last_name']}" for i in more.json()["items"]}
            cursor = more.json()["next_cursor"]
        return seen

    assert await names("jen hall") == {"Jennifer Hall", "Jennifer Halloran"}
    assert await names("hall") == {"Jennifer Hall", "Jennifer Halloran", "John Hall", "Ana Hallé"}
    assert await names("HALLE") == {"Ana Hallé"}
    assert await names("acme jen") == {"Jennifer Hall", "Jenny Smith"}
    assert await names("j hall initech") == {"John Hall"}
    assert await names("jennifer zzz") == set()
    assert await names("j h") == {"Jennifer Hall", "Jennifer Halloran", "John Hall"}
    assert await names("a h") == {"Jennifer Hall", "Ana Hallé"}
    assert await names("example com") == {f"{first} {last}" for first, last, _ in people}
