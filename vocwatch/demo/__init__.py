"""The offline demo: `vocwatch demo` (`pipeline.py`, one pass) and `vocwatch demo --daemon` (`daemon.py`).

Sample feeds bundled under `data/feeds` are served over real HTTP by `vocwatch.testing.LocalSite` and the
alerts go to `vocwatch.testing.FakeSlackServer`. No product module imports this package (import-linter).
"""
