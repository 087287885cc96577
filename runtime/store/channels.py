"""The PostgreSQL notification channels a cluster's processes talk on.

Apart from :mod:`runtime.store.queue` so that naming them imports no database
driver: an embedded runtime on the memory store never loads SQLAlchemy and
``databases`` (about 24 MiB of resident memory, and objects every full garbage
collection walks).
"""

from __future__ import annotations

__all__ = ["CONTROL_CHANNEL", "EVENTS_CHANNEL", "NOTIFY_CHANNEL"]

#: PostgreSQL channel on which a new or handed-back run wakes the claimers.
NOTIFY_CHANNEL = "actorflow_queue"
#: Channel carrying the id of a run that has new events or a new status (for readers
#: in other processes); several in one transaction are delivered once.
EVENTS_CHANNEL = "actorflow_events"
#: Channel carrying the id of a run ended by another process (its executor stops now).
CONTROL_CHANNEL = "actorflow_control"
