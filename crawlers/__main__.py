"""`python -m crawlers`: run one crawl from the RunSpec JSON on stdin (see `crawlers.launch`)."""

from crawlers.launch import main

raise SystemExit(main())
