# syntax=docker/dockerfile:1
# Multi-stage: build wheels with compilers, run without them, as a non-root user.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config \
      libxml2-dev libxmlsec1-dev libxmlsec1-openssl libgmp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY inspraak ./inspraak
COPY tokens ./tokens
COPY issuer ./issuer
COPY verifier ./verifier
COPY participation ./participation
COPY analysis ./analysis
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxml2 libxmlsec1 libxmlsec1-openssl libgmp10 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/inspraak --create-home inspraak
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels inspraak && rm -rf /wheels
USER inspraak
WORKDIR /var/lib/inspraak
ENV INSPRAAK_DATA_DIR=/var/lib/inspraak \
    INSPRAAK_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8000
ENTRYPOINT ["inspraak"]
CMD ["serve", "all", "--host", "0.0.0.0", "--port", "8000"]
