"""ASGI entry point for uvicorn workers: `uvicorn app.asgi:app`."""

import logging

from app.config import get_settings
from app.logging_setup import configure_logging, production_warnings
from app.main import create_app

# Each worker process sets up its own logging (JSON in production) before building the app.
_settings = get_settings()
configure_logging(_settings)
for _warning in production_warnings(_settings):
    logging.getLogger("mpp").warning("production checklist: %s", _warning)
app = create_app(_settings)
