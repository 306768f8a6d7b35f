"""The CX review UI (`vocwatch serve`): server-rendered pages over the review queue.

FastAPI routes render Jinja2 templates (autoescaped: customer text is hostile); every page except
/login and /healthz needs a login; roles are checked on the server for every action; every form carries
a CSRF token. Nothing is loaded from a CDN: the CSS, the small script and the charts (inline SVG) ship
in this package.
"""

from vocwatch.web.app import create_app
from vocwatch.web.config import LockoutPolicy, WebConfig

__all__ = ["LockoutPolicy", "WebConfig", "create_app"]
