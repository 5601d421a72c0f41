# A Redis image from Debian's packages, for machines that reach Debian's mirror but no container registry
# (scripts/compose-test builds it as REDIS_IMAGE when none is given). Anywhere else compose.yaml's
# redis:7-alpine does the same job.
#
#   podman build --isolation=chroot --network host -f scripts/redis-debian.Dockerfile \
#       --build-arg BASE_IMAGE=localhost/debian-python:bookworm -t localhost/ticker-redis:bookworm scripts
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
WORKDIR /data
VOLUME /data
USER redis
EXPOSE 6379
CMD ["redis-server"]
