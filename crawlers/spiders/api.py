"""ApiSpider: the orchestration every JSON API kind shares (reddit, mastodon, bluesky, hackernews, appstore).

An API kind differs from the others only in which URLs it starts from, how it logs in and how one response
becomes an `ApiPage`; the order of events is the same for all of them, so it lives here once:

1. log in first when the kind has credentials (OAuth client credentials, an app password): one request
   whose answer is a token; a 400/401/403 there ends the run as `auth_failed`, and no page is requested;
2. request the first page of every configured listing (a search, a hashtag, a subreddit) as its own chain;
3. per page: keep what is not stored yet (`until_seen`), start follow-up listings (comment trees), and go
   on to the next page unless the chain is caught up, past the lookback, out of budget, or the source says
   it shows nothing more (a feed cap, recorded as `cap_reached`).

Secrets are sent in headers or bodies, never in URLs, and are never logged: Scrapy logs URLs only.

robots.txt: the login and the API calls are sent with `dont_obey_robotstxt`. robots.txt governs crawlers
of a site's pages, and some API hosts' robots.txt disallows everything (reddit's does) although the
documented API is meant for programs, so obeying it would end every such source `blocked`. Only the
documented API endpoints a kind requests here skip it; page kinds (rss, reviews, profile) obey robots.txt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawlers.errors import FeedError, RunSpecError
from crawlers.items import MentionItem
from crawlers.outcome import StopReason
from crawlers.parsing.jsonapi import ApiPage
from crawlers.runspec import RunSpec
from crawlers.spiders.base import MentionSpider

__all__ = ["ApiSpider"]

_LISTING_KEY = "vocwatch_listing"  # request.meta: the listing a first page belongs to (cursor key)
_REFUSED_STATUSES = [400, 401, 403]  # a login answered with these will not work by retrying
# API endpoints are for programs; robots.txt is for page crawlers (see the module docstring).
_API_META = {"dont_obey_robotstxt": True}


class ApiSpider(MentionSpider):
    """Base of the JSON API kinds. Subclasses write `first_pages` and `read_page`, and, when they log in,
    `login_request` and `read_login`.

    Every request made here (login, first pages, follow-ups, next pages) carries `dont_obey_robotstxt`:
    these are the source's documented API endpoints, which robots.txt (written for page crawlers, and
    "Disallow: /" on reddit) does not govern; page kinds keep obeying it.

    The cursor is `{"newest": {listing: marker}}`: the newest item's marker (an id or a time) of each
    listing's first page, for kinds whose API can start after it (Mastodon `since_id`, Algolia
    `created_at_i>=`), so a second run downloads only what is new even before `until_seen` stops it.
    """

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.token: str | None = None  # bearer token: from the login, or given as a credential
        self._newest: dict[str, str] = {}
        self._credentials_refused = False

    # -- what a kind says ----------------------------------------------------------------------------

    def first_pages(self) -> Iterable[tuple[str, str]]:
        """(listing name, URL) of the first page of every listing to read; the name keys the cursor."""
        raise NotImplementedError

    def read_page(self, response: Response) -> ApiPage:
        """Parse one API response (a call into `crawlers.parsing.<kind>`); FeedError if unreadable."""
        raise NotImplementedError

    def login_request(self) -> Request | None:
        """The request that trades credentials for a token, or None to crawl without logging in."""
        return None

    def read_login(self, response: Response) -> str | None:
        """The token in a successful login answer (None if there is none)."""
        return None

    def follow_ups(self, response: Response, page: ApiPage, fresh: list[MentionItem]) -> Iterable[str]:
        """URLs of further listings to read because of this page (default: what the parser proposed)."""
        return page.follow_urls

    # -- helpers for kinds ---------------------------------------------------------------------------

    def credential_pair(self, first: str, second: str) -> tuple[str, str] | None:
        """Two credentials that only work together (client id + secret, handle + app password): both,
        or None when neither is set; RunSpecError when only one is, which is a configuration mistake."""
        credentials: Mapping[str, str] = self.spec.credentials
        one, two = credentials.get(first), credentials.get(second)
        if one and two:
            return one, two
        if one or two:
            missing = second if one else first
            raise RunSpecError(
                f"source {self.spec.source_name!r} ({self.kind}): credentials.{missing} is missing"
            )
        return None

    def stored_newest(self, listing: str) -> str | None:
        """The marker stored by the last successful run for this listing."""
        value = (self.state.cursor.get("newest") or {}).get(listing)
        return str(value) if value is not None else None

    def api_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    # -- the crawl -----------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        login = self.login_request()
        if login is not None:
            meta = {**login.meta, **_API_META, "handle_httpstatus_list": _REFUSED_STATUSES}
            yield login.replace(callback=self._logged_in, meta=meta)
            return
        for request in self._first_requests():
            yield request

    def _logged_in(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        try:
            token = self.read_login(response) if response.status < 300 else None
        except FeedError as exc:  # a 200 that is not the API's answer (a proxy's HTML page): not a refusal
            self.page_failed(response, exc)
            return
        if token is None:
            self._refused(response)
            return
        self.token = token
        yield from self._first_requests()

    def _first_requests(self) -> Iterator[Request]:
        for listing, url in self.first_pages():
            request = self.start_page(url, **self._page_kwargs({_LISTING_KEY: listing}))
            if request is None:
                return
            yield request

    def _page_kwargs(self, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # a 401 on a page (a token that expired mid-run) reaches parse, which records auth_failed
        return {
            "callback": self.parse,
            "headers": self.api_headers(),
            "meta": {**(meta or {}), **_API_META, "handle_httpstatus_list": [401]},
        }

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionItem | Request]:
        if response.status == 401:
            self._refused(response)
            return
        try:
            page = self.read_page(response)
        except FeedError as exc:
            self.page_failed(response, exc)
            return
        listing = response.meta.get(_LISTING_KEY)
        if listing and page.newest:
            self._newest[listing] = page.newest
        fresh = self.until_seen(response, page.items, ordered=page.ordered)
        yield from fresh
        for url in self.follow_ups(response, page, fresh):
            request = self.start_page(url, **self._page_kwargs())
            if request is None:
                break
            yield request
        if page.truncated:
            self.stop_chain(self.chain_of(response), StopReason.CAP_REACHED)
        elif page.next_url:
            request = self.next_page(response, page.next_url, **self._page_kwargs())
            if request is not None:
                yield request

    def _refused(self, response: Response) -> None:
        """The source refused our credentials: nothing else will work this run. The URL is logged, the
        credentials are not (they are never in a URL)."""
        self.logger.warning("%s refused the credentials (HTTP %s)", response.url, response.status)
        self._credentials_refused = True
        self.stop_chain(self.chain_of(response), StopReason.AUTH_FAILED)

    def final_stop_reason(self) -> StopReason:
        if self._credentials_refused:
            return StopReason.AUTH_FAILED
        return super().final_stop_reason()

    def next_cursor(self) -> dict[str, Any] | None:
        """{"newest": {listing: marker}}: the stored markers of configured listings, updated by this run."""
        listings = {listing for listing, _ in self.first_pages()}
        stored = {k: v for k, v in (self.state.cursor.get("newest") or {}).items() if k in listings}
        return {"newest": stored | self._newest}
