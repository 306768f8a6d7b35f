"""Real local stand-ins for the outside world, for tests and the demo (like httpx's `MockTransport`).

- `FakeSlackServer`: the Slack Web API over real HTTP; `slack_sdk.WebClient(base_url=...)` talks to it.
- `LocalSite` / `Reply`: a directory served over real HTTP with scripted replies (status, delay, headers).
- `BackgroundServer`: the loopback HTTP server in a daemon thread both are built on.

No product module imports this package (import-linter); only `vocwatch.demo` and the tests do.
"""

from vocwatch.testing.background_server import BackgroundServer
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.testing.localsite import LocalSite, Reply

__all__ = ["BackgroundServer", "FakeSlackServer", "LocalSite", "Reply"]
