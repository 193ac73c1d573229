"""The browser UI (`archiver serve`): server-rendered pages over the read-side library API.

Read-only: every page is a GET that reads the store through :mod:`archiver.api`; nothing
here writes to the catalog, the WARC files or the index. Pages work without JavaScript and
no UI page runs any script (its Content-Security-Policy allows none).
"""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
