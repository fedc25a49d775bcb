# One image for `labelvault serve` and `labelvault worker` (the command picks the role).
# Build: docker build -t labelvault .   (not buildable on the development machine: no image
# registry is reachable there; the recipe is checked by tests/test_recipes.py instead.)
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-compile './[all]' \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin labelvault \
 && mkdir -p /data && chown labelvault /data

# Non-root; the data dir is a volume the server and the workers share.
USER labelvault
VOLUME ["/data"]
ENV LABELVAULT_HOST=0.0.0.0 \
    LABELVAULT_PORT=8080 \
    LABELVAULT_DATA_DIR=/data \
    LABELVAULT_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/api/server/health', timeout=4)"]
ENTRYPOINT ["labelvault"]
CMD ["serve"]
