# syntax=docker/dockerfile:1.7
# One image recipe for every service; SERVICE picks what the image runs by default:
#   docker build --build-arg SERVICE=gateway -t unread-counters/gateway .
# SERVICE is one of gateway, messenger, counter, syncer (also runs the reconcile Jobs and
# migrations) and countersync (the operator; the chart names its image unread-counters/operator).
# The chart always sets the command explicitly, so any of these images can run any entry point.

ARG PYTHON_VERSION=3.11

# --- build: resolve and install the project into a virtualenv (wheels only, no compilers) ---
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first: this layer is reused until pyproject.toml changes.
COPY pyproject.toml ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
# Wheels only: the final image must not need (and the build stage does not have) a compiler.
RUN pip install --only-binary=:all: -r /tmp/requirements.txt
COPY services ./services
COPY operator ./operator
COPY tools ./tools
RUN pip install --no-deps . && python -m compileall -q /opt/venv/lib
# The runtime needs no installer.
RUN pip uninstall -y pip setuptools wheel

# --- runtime: the virtualenv, the migrations, an unprivileged user; no build tools ---
FROM python:${PYTHON_VERSION}-slim AS runtime
ARG SERVICE=gateway
LABEL org.opencontainers.image.title="unread-counters-${SERVICE}" \
      org.opencontainers.image.description="unread-counters: ${SERVICE}" \
      org.opencontainers.image.source="https://github.com/example/unread-counters"
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app \
 && python -m pip uninstall -y pip setuptools wheel
COPY --from=build /opt/venv /opt/venv
COPY migrations /app/migrations
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MIGRATIONS_DIR=/app/migrations \
    LOG_FORMAT=json \
    SERVICE=${SERVICE}
WORKDIR /app
USER 10001:10001
# The shell form expands $SERVICE; exec makes Python PID 1 so it receives SIGTERM directly.
CMD exec python -m "$SERVICE"
