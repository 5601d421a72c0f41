# syntax=docker/dockerfile:1
#
# ticker: KZT exchange rates + city temperatures (aiohttp, Redis).
#
#   docker build -t ticker .                                   # public python:3.12-slim base
#   podman build --format docker --isolation=chroot --network host \
#       --build-arg BASE_IMAGE=localhost/debian-python:bookworm -t ticker .   # no registry: see docs/deploy.md
#
# BASE_IMAGE must provide python3 with the venv module (python:3.x-slim, or Debian with python3-venv).
# Both stages use the same base, so the venv's interpreter symlink stays valid in the final image.
ARG BASE_IMAGE=python:3.12-slim

############################ build: a self-contained venv in /opt/venv ############################
FROM ${BASE_IMAGE} AS build
ARG PYTHON=python3
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8

RUN "${PYTHON}" -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies layer: depends on pyproject.toml only, so source edits do not reinstall dependencies.
# A stub project with empty packages pulls the declared dependencies; the stub itself is removed.
COPY pyproject.toml ./
RUN mkdir -p ticker providers \
 && touch ticker/__init__.py providers/__init__.py README.md \
 && pip install . \
 && pip uninstall -y ticker \
 && rm -rf ticker providers README.md build ./*.egg-info

# Source layer: the real packages, no dependency resolution.
COPY pyproject.toml README.m[d] ./
COPY ticker/ ticker/
COPY providers/ providers/
RUN pip install --no-deps . \
 && python -c "import ticker, providers"
# No pip/setuptools at runtime. Bytecode for everything left in the venv is compiled now because the
# runtime filesystem is read-only; unchecked-hash: the .pyc is used as is, whatever the mtimes after COPY.
RUN python -m pip uninstall -y -q pip setuptools wheel \
 && rm -f /opt/venv/bin/pip* \
 && python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

############################ runtime: base + venv, non-root, no pip ###############################
FROM ${BASE_IMAGE} AS runtime

RUN groupadd --gid 10001 ticker \
 && useradd --uid 10001 --gid ticker --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ticker

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    TICKER_HOST=0.0.0.0 \
    TICKER_PORT=8080

USER 10001:10001
WORKDIR /
EXPOSE 8080

# No curl in the image: Python's urllib, proxies ignored, 3 s socket timeout; non-2xx or error -> exit 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os,urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('TICKER_PORT', '8080'), timeout=3).read()"]

STOPSIGNAL SIGTERM
# One process per container: scale with replicas. A pool of workers in one container (gunicorn; needs
# TICKER_REDIS_URL): give the command, `docker run ... IMAGE ticker serve --workers 2` (docs/deploy.md).
CMD ["ticker", "serve"]
