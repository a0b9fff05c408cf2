"""Settings, read once from the environment (prefix MPP_)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MPP_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///mpp.db"
    secret_key: str = DEV_SECRET
    bootstrap_admin_password: str | None = None
    # Token and browser-session lifetime.
    token_minutes: int = 12 * 60
    session_minutes: int = 10 * 60
    secure_cookies: bool = False
    allowed_hosts: list[str] = ["*"]
    # The address citizens' phones use (QR codes on tickets and bookings); default: as requested.
    public_url: str | None = None
    # HTTP requests running at once per process; the rest wait in the event loop (see
    # app/api/limits.py). Fewer threads fighting for the GIL keep row locks short.
    max_in_flight: int = 8
    # Database connections per process (PostgreSQL allows 100 in all by default).
    db_pool_size: int = 10
    db_max_overflow: int = 20
    # PostgreSQL: asyncio connections per process for kiosks' ticket issues (the busiest
    # request; see app/services/kiosk_issue.py). 0 sends them through the pool above.
    db_async_pool_size: int = 8
    # Bus backend: "auto" = postgres when the database is PostgreSQL, memory otherwise.
    bus: Literal["auto", "memory", "postgres"] = "auto"
    # Waiting-time estimate: how many recent service durations to look at.
    wait_sample_size: int = 20
    # Personal-data retention in days (UU 27/2022).
    retention_days: int = 90
    log_json: bool = False
    log_level: str = "INFO"
    # Failed sign-ins before a growing delay applies.
    login_max_failures: int = 5
    login_lock_seconds: int = 60
    # Request bodies larger than this answer 413 before they are read whole.
    max_body_bytes: int = 1024 * 1024
    # Public endpoint rate limit (requests per minute per client IP).
    public_rate_per_minute: int = 120

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "MPP_SECRET_KEY must be set to a random string of 32+ characters in production"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def bus_backend(self) -> str:
        if self.bus != "auto":
            return self.bus
        return "memory" if self.is_sqlite else "postgres"


@lru_cache
def get_settings() -> Settings:
    return Settings()
