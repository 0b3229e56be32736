# citebot in a container: the Discord bot, answering from a folder of documents.
#
#   docker build -t citebot .
#   docker run -d --name citebot --restart unless-stopped --env-file .env \
#     -v citebot-data:/data -v "$PWD/docs:/corpus:ro" -e CITEBOT_CORPUS=/corpus citebot
#
# /data (a volume) holds the index cache and the feedback database, so a new image or a
# restarted container neither rebuilds the index nor loses votes. Without a corpus mounted,
# the image answers from the bundled seeds/. `docker stop` sends SIGTERM: the bot closes its
# Discord session and the database, then exits 0.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A system user of its own: the bot never runs as root.
RUN groupadd --system citebot \
    && useradd --system --gid citebot --home-dir /app --shell /usr/sbin/nologin citebot

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY retrieval ./retrieval
RUN pip install . && rm -rf build
COPY seeds ./seeds

ENV CITEBOT_CORPUS=/app/seeds \
    CITEBOT_CACHE_DIR=/data/cache \
    CITEBOT_FEEDBACK_DB=/data/feedback.sqlite3
RUN mkdir -p /data/cache && chown -R citebot:citebot /data
VOLUME ["/data"]

USER citebot
# `citebot check`: settings, corpus folder and cache, one line each; non-zero when one fails.
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
    CMD ["citebot", "check"]
# Exec form: citebot is PID 1 and receives the SIGTERM of `docker stop` itself.
STOPSIGNAL SIGTERM
CMD ["citebot", "run"]
