# Front-end packages from the npm registry, as package-lock.json pins them.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY crm_core ./crm_core
COPY segments ./segments
COPY journeys ./journeys
COPY leadscoring ./leadscoring
COPY landing ./landing
COPY sales ./sales
COPY workspace ./workspace
COPY demo ./demo
COPY bench ./bench
COPY manage.py Procfile.dev ./
COPY --from=assets /app/node_modules ./node_modules
RUN pip install --no-cache-dir -e .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
