"""The command line: thin click commands that parse, call one library function, print.

Only this package imports click. ``app`` holds the group and the error handling; the
commands live in ``reading`` (search, history, show, diff, report, runs, verify) and
``writing`` (crawl, seeds, reindex, schedule, gc, import, upload), ``exporting``
(export), ``serving`` (serve, replay) and ``notifying`` (notify test).
"""

from . import exporting, notifying, reading, serving, writing  # noqa: F401 - registers the commands
from .app import main

__all__ = ["main"]
