"""The query parameters of a page of a list, the same on every list of the API."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from scaliyo.application.shared.pagination import MAX_LIMIT

PageLimit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size (1 to 200).")]
PageCursor = Annotated[
    str | None,
    QueryParameter(max_length=4096, description="The `next_cursor` of the previous page."),
]
