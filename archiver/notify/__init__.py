"""Notifications (issue 16): after a crawl run is recorded, one message per run and
``[[notify]]`` entry, through Apprise (mail, webhooks, chat).

``events`` finds what happened, ``message`` writes it, ``send`` delivers it (the only
module importing apprise), ``outbox`` keeps each message in the catalog until it is sent.
"""

from .outbox import flush, notify_run, queue_run
from .send import Delivery, check, deliver, label_of

__all__ = ["Delivery", "check", "deliver", "flush", "label_of", "notify_run", "queue_run"]
