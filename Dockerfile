# Tongban 通办 — production image: gunicorn, PostgreSQL through DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FLASK_APP=app PORT=8000 WEB_CONCURRENCY=2 GUNICORN_THREADS=8
WORKDIR /srv/tongban

# the CJK font notices (文书) are set in (app/documents/render.py)
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk && rm -rf /var/lib/apt/lists/*

COPY setup.cfg pyproject.toml README.md ./
COPY app ./app
RUN pip install -e .  # editable: the app finds migrations/, processes/ and forms/ beside it

COPY migrations ./migrations
COPY processes ./processes
COPY forms ./forms

RUN useradd --system --home /srv/tongban tongban && chown -R tongban /srv/tongban
USER tongban
EXPOSE 8000

# Migrate and bootstrap (idempotent), then serve; every worker also runs the timer scheduler,
# and on PostgreSQL row locks hand each due timer to exactly one of them.
CMD ["sh", "-c", "flask db upgrade && flask bootstrap && exec gunicorn --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY} --threads ${GUNICORN_THREADS} --control-socket /tmp/gunicorn-${PORT}.ctl app.wsgi:application"]
