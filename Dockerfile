FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPP_ENV=production
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY kiosk_ui ./kiosk_ui
COPY display_board ./display_board
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 mpp
USER mpp
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
# `mpp serve` migrates to the newest revision before serving.
CMD ["mpp", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
