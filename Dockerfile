# MPP Antrean: one image for every worker. Build: docker build -t mpp-antrean .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPP_ENV=production \
    MPP_LOG_JSON=true \
    # Several workers share their Prometheus values through files here (emptied at start).
    PROMETHEUS_MULTIPROC_DIR=/tmp/mpp-metrics

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY kiosk_ui ./kiosk_ui
COPY display_board ./display_board
RUN pip install . \
    && useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin mpp \
    && mkdir -p /tmp/mpp-metrics && chown mpp /tmp/mpp-metrics

# Never run as root: the app needs no privilege, only its port and the database.
USER mpp
EXPOSE 8000

# Liveness only (/healthz answers without the database): a database outage must not make the
# orchestrator restart every worker. Load balancers should use /readyz instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"

# `mpp serve` migrates the database to the newest revision ("alembic upgrade heads") first,
# then starts uvicorn with the workers asked for. MPP_SECRET_KEY must be set (32+ characters).
CMD ["mpp", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
