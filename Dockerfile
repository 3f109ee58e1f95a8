# An image whose command is `reconciler` (README: "Install"). Build from this repository:
#   docker build -t sla-reconciler .
# or pin a released version from the package index instead of the checkout:
#   docker build --build-arg VERSION=0.1.0 -t sla-reconciler:0.1.0 .
# Run it on the specs of the current directory (tokens come from the environment, never the image):
#   docker run --rm -v "$PWD:/work" -e DATABRICKS_HOST -e DATABRICKS_TOKEN -e GRAFANA_TOKEN sla-reconciler plan specs/
FROM python:3.11-slim
ARG VERSION=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
# The sandbox extra makes the embedded `local` target work inside the image too.
RUN if [ -n "$VERSION" ]; then pip install "sla-reconciler[sandbox]==$VERSION"; else pip install ".[sandbox]"; fi \
    && rm -rf /src && reconciler --version
WORKDIR /work
ENTRYPOINT ["reconciler"]
CMD ["--help"]
