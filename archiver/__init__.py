"""archiver: archive a news story and its sources from a seed post."""

__version__ = "0.1.0"
