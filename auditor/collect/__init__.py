"""Collection: read a live hierarchy through the official `twilio` SDK into a Snapshot."""
