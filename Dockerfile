# One image for every Platter process; the command picks it (serve is the default).
#   docker build -t platter .
#   docker run -p 6566:6566 -p 6570:6570 -v $PWD/my_repo:/repo platter serve --repo /repo
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY protos ./protos
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY protos ./protos
COPY examples ./examples
USER node
EXPOSE 6566 6570
ENTRYPOINT ["node", "bin/platter.js"]
CMD ["serve", "--repo", "/repo"]
