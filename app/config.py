"""Settings, read once from the environment (prefix MPP_)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"  # noqa: S105 - refused in production


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
    # Host names served (others get 400). Unset: any in development; in production the host of
    # MPP_PUBLIC_URL, and neither set refuses to start, because links in citizens' messages and
    # device setup URLs are built from the Host header of the request that causes them.
    allowed_hosts: list[str] | None = None
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
    # Sign-in throttling: failures per (username, client address) and per address alone,
    # counted over windows of login_lock_seconds (app/services/auth.py).
    login_max_failures: int = 5
    login_address_max_failures: int = 20
    login_lock_seconds: int = 300
    # /docs, /redoc and /openapi.json; /metrics (beyond MPP_METRICS_ALLOW): public unless
    # production, where they are private unless set to true (app/api/exposure.py).
    public_docs: bool | None = None
    public_metrics: bool | None = None
    metrics_allow: list[str] = ["127.0.0.1", "::1"]
    # Other origins whose pages may open websockets (the server's own always may).
    allowed_origins: list[str] = []
    # Request bodies larger than this answer 413 before they are read whole.
    max_body_bytes: int = 1024 * 1024
    # SP4N-LAPOR!, the national complaints system linked from the tracking and survey pages.
    lapor_url: str = "https://www.lapor.go.id"
    # Webhooks: targets on loopback/private addresses are refused unless this is true (a LAN
    # integration or a test); each attempt's timeout; how often new events are fanned out.
    webhook_allow_private_targets: bool = False
    webhook_timeout_seconds: float = 5.0
    webhook_fanout_seconds: float = 1.0
    # Lookups by a citizen's code (tracking, survey) that find nothing, per address per minute.
    lookup_misses_per_minute: int = 20
    # Durable outbox (app/services/outbox.py): how often each process's relay looks for work,
    # how many rows it claims at once, each send's timeout, and the growing retry delays.
    outbox_poll_seconds: float = 1.0
    outbox_batch: int = 10
    outbox_timeout_seconds: float = 5.0
    outbox_retry_base_seconds: float = 10.0
    outbox_retry_cap_seconds: float = 3600.0
    outbox_max_attempts: int = 12
    # Citizens' messages (app/services/notify.py): none | log | whatsapp | http_sms.
    notify_provider: Literal["none", "log", "whatsapp", "http_sms"] = "none"
    # WhatsApp Business Cloud API. Templates per message type, e.g.
    # {"ticket_called": {"name": "antrean_dipanggil", "language": "id"}}; a type without a
    # template goes as a text message (allowed inside the 24-hour service window only).
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str | None = None
    whatsapp_token: str | None = None
    whatsapp_templates: dict[str, dict[str, str]] = {}
    # Status callbacks: the app secret checks X-Hub-Signature-256; the verify token answers
    # Meta's subscription check (GET hub.challenge).
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    # A generic HTTP SMS gateway (most Indonesian gateways fit): URL, method, how the values
    # travel (form | json | query), parameter names, fixed extra parameters, an auth header,
    # and where the answer's JSON holds the message id (for status callbacks).
    sms_url: str | None = None
    sms_method: Literal["POST", "GET"] = "POST"
    sms_format: Literal["form", "json", "query"] = "form"
    sms_to_param: str = "to"
    sms_text_param: str = "text"
    sms_id_param: str | None = None  # our idempotency key, when the gateway takes one
    sms_extra_params: dict[str, str] = {}
    sms_auth_header: str | None = None  # e.g. "Authorization"
    sms_auth_value: str | None = None  # e.g. "Basic dXNlcjpwYXNz"
    sms_answer_id_field: str | None = None  # e.g. "message_id" or "data.id"
    # Shared secret a gateway's delivery report must carry (?token=...).
    sms_callback_token: str | None = None

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "MPP_SECRET_KEY must be set to a random string of 32+ characters in production"
                )
            if self.allowed_hosts is None:
                host = urlsplit(self.public_url).hostname if self.public_url else None
                if not host:
                    raise ValueError(
                        "MPP_ALLOWED_HOSTS (a JSON list of host names) or MPP_PUBLIC_URL must be "
                        "set in production"
                    )
                self.allowed_hosts = [host]
        elif self.allowed_hosts is None:
            self.allowed_hosts = ["*"]
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
