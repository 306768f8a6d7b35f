"""VocwatchAddon: installs vocwatch's components into any crawl through settings only.

Listed in `crawlers.settings.ADDONS`, it adds the Retry-After-aware retry middleware (replacing Scrapy's),
the validate/store pipelines, the coverage ledger and the parent watch (crawlers.parentwatch) unless a
setting already names them, so a project setting can still move or disable one of them (e.g.
`ITEM_PIPELINES = {StorePipeline: None}` for a dry run). Scale-out plugs in the same way: the
scrapy-redis scheduler and dupefilter come from the RunSpec's settings (crawlers.scaleout), and then the
add-on adds the extension that lets an idle worker wait for pages other workers are still finding;
without a shared frontier nothing changes.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.settings import BaseSettings

from crawlers.extensions import CrawlLedger
from crawlers.middlewares import RetryAfterMiddleware
from crawlers.parentwatch import ParentWatch
from crawlers.pipelines import StorePipeline, ValidatePipeline
from crawlers.scaleout import SharedFrontierWait

__all__ = ["VocwatchAddon"]


class VocwatchAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", RetryMiddleware, None)
        settings.setdefault_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", RetryAfterMiddleware, 550)
        settings.setdefault_in_component_priority_dict("ITEM_PIPELINES", ValidatePipeline, 100)
        settings.setdefault_in_component_priority_dict("ITEM_PIPELINES", StorePipeline, 300)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", CrawlLedger, 100)
        settings.setdefault_in_component_priority_dict("EXTENSIONS", ParentWatch, 150)
        if settings.getbool("VOCWATCH_SHARED_FRONTIER"):
            settings.setdefault_in_component_priority_dict("EXTENSIONS", SharedFrontierWait, 200)
