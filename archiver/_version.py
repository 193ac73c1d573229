"""The one source of the version: pyproject.toml, the CLI and the WARC headers read it."""

__version__ = "0.1.0"
