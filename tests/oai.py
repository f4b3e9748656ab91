"""Where the tests find Twilio's OpenAPI descriptions (one place for every test)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# TWILIO_OAI_DIR overrides; by default the copy shipped with the tests.
OAI_DIR = Path(os.environ.get("TWILIO_OAI_DIR", Path(__file__).resolve().parent / "twilio-oai"))
SHARED_OAI_DIR = ROOT.parent / "shared" / "twilio-oai"
