# vocwatch image for the scale-out deployment (docker-compose.yml): one image, one process per container.
# PyTorch's CPU wheel is installed FIRST, so that pip never pulls the multi-GB CUDA build.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VOCWATCH_DATA_DIR=/data

RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

WORKDIR /app
COPY pyproject.toml README.md alembic.ini scrapy.cfg ./
COPY crawlers crawlers
COPY sentiment sentiment
COPY storage storage
COPY notifier notifier
COPY vocwatch vocwatch
RUN pip install '.[postgres,redis]'

RUN useradd --create-home --uid 10001 vocwatch && mkdir /data && chown vocwatch /data
USER vocwatch
VOLUME ["/data"]

ENTRYPOINT ["vocwatch"]
CMD ["--help"]
