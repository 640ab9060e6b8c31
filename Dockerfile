FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY hockeyops ./hockeyops
COPY jobs ./jobs
COPY etl ./etl
RUN pip install --no-cache-dir -e .
COPY . .
RUN HOCKEYOPS_VAR_DIR=/tmp/var HOCKEYOPS_STATIC_ROOT=/app/static python manage.py collectstatic --noinput -v 0
ENV HOCKEYOPS_STATIC_ROOT=/app/static
EXPOSE 8000
