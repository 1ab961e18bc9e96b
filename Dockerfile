# Image for the inference service and the drift CronJob (deploy/kubernetes/).
# The trainer runs on the self-hosted GPU runner instead, so this image carries no PyTorch.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/fleetcast
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY trainer/profiles.json ./trainer/profiles.json
RUN groupadd --gid 10001 fleetcast && useradd --uid 10001 --gid 10001 --home-dir /var/lib/fleetcast fleetcast
USER 10001:10001
ENV NODE_ENV=production
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/fleetcast/bin/fleetcast.js"]
CMD ["serve", "--host=0.0.0.0"]
