"""The long-running processes: `vocwatch run` (the APScheduler leader and its standby), the scale-out
workers, and the launcher that runs each crawl in a process of its own."""
