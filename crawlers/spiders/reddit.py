"""Reddit spider: searches and subreddit listings (newest first), optionally with the comment trees of new
submissions.

With app credentials (`client_id` + `client_secret`) it logs in with the OAuth client-credentials grant and
reads `oauth.reddit.com` with the bearer token (higher rate limits, no robots wall); without them it reads
the public `.json` endpoints of www.reddit.com. All hosts are params so tests can point them at a local
server. Incremental stop: listings are sorted by `new`, so the first stored fullname means caught up.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field
from scrapy import Request
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.items import MentionItem
from crawlers.parsing.jsonapi import ApiPage, as_str, read_json
from crawlers.parsing.reddit import comments_path, read_reddit
from crawlers.runspec import RunSpec
from crawlers.spiders.api import ApiSpider

__all__ = ["RedditParams", "RedditSpider"]


class RedditParams(BaseModel):
    """Options of a reddit source. `RunSpec.query` searches (within `subreddits` when given); without a
    query, the newest submissions of each subreddit are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subreddits: tuple[str, ...] = ()
    comments: bool = False  # also read the comment tree of every new submission
    limit: int = Field(default=100, ge=1, le=100)  # items per page (Reddit's maximum is 100)
    public_url: str = "https://www.reddit.com"  # anonymous `.json` endpoints
    oauth_url: str = "https://oauth.reddit.com"  # API host for bearer tokens
    token_url: str = "https://www.reddit.com/api/v1/access_token"  # noqa: S105 - a URL, not a secret


class RedditSpider(ApiSpider):
    name = "reddit"
    kind = "reddit"
    params_model = RedditParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.query and not self.reddit_params.subreddits:
            raise RunSpecError(f"source {self.spec.source_name!r} (reddit) needs a query or subreddits")
        self._app = self.credential_pair("client_id", "client_secret")

    @property
    def reddit_params(self) -> RedditParams:
        assert isinstance(self.params, RedditParams)
        return self.params

    @property
    def api_url(self) -> str:
        params = self.reddit_params
        return (params.oauth_url if self._app else params.public_url).rstrip("/")

    def login_request(self) -> Request | None:
        if self._app is None:
            return None
        basic = base64.b64encode(":".join(self._app).encode()).decode("ascii")
        return Request(
            self.reddit_params.token_url,
            method="POST",
            body=urlencode({"grant_type": "client_credentials"}),
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )

    def read_login(self, response: Response) -> str | None:
        document = read_json(response)
        return as_str(document.get("access_token")) if isinstance(document, dict) else None

    def first_pages(self) -> Iterable[tuple[str, str]]:
        params = self.reddit_params
        query = self.spec.query
        if query and not params.subreddits:
            yield f"search:{query}", self._url("/search", q=query, sort="new", type="link")
        for sub in params.subreddits:
            if query:
                path = f"/r/{quote(sub)}/search"
                yield f"r/{sub}:{query}", self._url(path, q=query, sort="new", restrict_sr="1", type="link")
            else:
                yield f"r/{sub}", self._url(f"/r/{quote(sub)}/new")

    def read_page(self, response: Response) -> ApiPage:
        return read_reddit(response, source=self.spec.source_name)

    def follow_ups(self, response: Response, page: ApiPage, fresh: list[MentionItem]) -> Iterator[str]:
        """The comment trees of the new submissions on a listing page (never of a comment page)."""
        if not self.reddit_params.comments or not page.ordered:
            return
        for item in fresh:
            if path := comments_path(item.external_id):
                yield self._url(path)

    def _url(self, path: str, **query: str) -> str:
        """An API URL; `.json` makes the public host answer JSON, the OAuth host accepts it too."""
        values = {**query, "limit": str(self.reddit_params.limit), "raw_json": "1"}
        return f"{self.api_url}{path}.json?{urlencode(values)}"
