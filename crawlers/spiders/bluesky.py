"""Bluesky spider: `app.bsky.feed.searchPosts`, newest first (`sort=latest`), cursor pagination.

Search needs a session: with `credentials.handle` + `credentials.app_password` the spider first calls
`com.atproto.server.createSession` on the PDS (`service_url`) and reads with the `accessJwt`. App passwords,
not account passwords, are what an operator should configure: they can be revoked one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from scrapy import Request
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.parsing.bluesky import read_bluesky
from crawlers.parsing.jsonapi import ApiPage, as_str, read_json
from crawlers.runspec import RunSpec
from crawlers.spiders.api import ApiSpider

__all__ = ["BlueskyParams", "BlueskySpider"]


class BlueskyParams(BaseModel):
    """Options of a bluesky source; `RunSpec.query` is the search (Lucene-like: `acme lang:de`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_url: str = "https://bsky.social"  # the PDS that logs in and proxies the AppView
    limit: int = Field(default=100, ge=1, le=100)  # posts per page (the API's maximum is 100)


class BlueskySpider(ApiSpider):
    name = "bluesky"
    kind = "bluesky"
    params_model = BlueskyParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.query:
            raise RunSpecError(f"source {self.spec.source_name!r} (bluesky) needs a query")
        self._account = self.credential_pair("handle", "app_password")

    @property
    def bluesky_params(self) -> BlueskyParams:
        assert isinstance(self.params, BlueskyParams)
        return self.params

    def login_request(self) -> Request | None:
        if self._account is None:
            return None
        handle, password = self._account
        return Request(
            self._xrpc("com.atproto.server.createSession"),
            method="POST",
            body=json.dumps({"identifier": handle, "password": password}),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    def read_login(self, response: Response) -> str | None:
        document = read_json(response)
        return as_str(document.get("accessJwt")) if isinstance(document, dict) else None

    def first_pages(self) -> Iterable[tuple[str, str]]:
        query = self.spec.query or ""
        values = {"q": query, "sort": "latest", "limit": str(self.bluesky_params.limit)}
        yield f"search:{query}", f"{self._xrpc('app.bsky.feed.searchPosts')}?{urlencode(values)}"

    def read_page(self, response: Response) -> ApiPage:
        return read_bluesky(response, source=self.spec.source_name)

    def _xrpc(self, method: str) -> str:
        return f"{self.bluesky_params.service_url.rstrip('/')}/xrpc/{method}"
