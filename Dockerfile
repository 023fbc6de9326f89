# One image for every function: FUNCTION_TARGET picks which one a container serves.
# Build stage: resolve and build wheels with the toolchain available.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/runtime.txt ./requirements/
COPY shared ./shared
COPY functions ./functions
COPY migrations ./migrations
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install -r requirements/runtime.txt \
 && /opt/venv/bin/pip install --no-deps .

# Final stage: the virtualenv only; no compilers, no sources beyond the installed package.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080
RUN groupadd --system --gid 10001 billing \
 && useradd --system --uid 10001 --gid billing --no-create-home --shell /usr/sbin/nologin billing
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8080
# Knative probes /health and /ready, so no HEALTHCHECK here. Migrations: `billing migrate`.
ENTRYPOINT ["billing"]
CMD ["serve"]
