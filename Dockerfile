FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml ./
COPY hockeyops ./hockeyops
COPY jobs ./jobs
COPY etl ./etl
RUN pip install --no-cache-dir -e .
COPY . .
EXPOSE 8000
