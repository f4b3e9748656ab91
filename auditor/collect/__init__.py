"""Collection: read a live hierarchy through the official `twilio` SDK into a Snapshot."""

from auditor.collect.config import CollectConfig
from auditor.collect.walker import collect

__all__ = ["CollectConfig", "collect"]
