"""`twilio-audit watch`: receive or poll Twilio's error events, diagnose caller-ID failures
with the audit's own rules against a snapshot, and notify (see docs/watch.md)."""

from auditor.watch.service import WatchConfig, Watcher

__all__ = ["WatchConfig", "Watcher"]
