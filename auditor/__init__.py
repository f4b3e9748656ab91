"""twilio-audit: find the caller IDs Twilio will refuse (error 13214) in an account hierarchy."""

__version__ = "0.1.0"
