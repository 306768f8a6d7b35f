"""vocwatch's composition root: settings, CLI, pipeline jobs, demo. Nothing imports this package."""

__all__: list[str] = []
