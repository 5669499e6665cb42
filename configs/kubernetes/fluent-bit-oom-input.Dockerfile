# Fluent Bit with oom-input inside, for fluent-bit-daemonset.yaml.
#
#   docker build -f configs/kubernetes/fluent-bit-oom-input.Dockerfile \
#     -t <registry>/fluent-bit-oom-input:0.1.0 .            (context: the repo root)
#
# Why not FROM fluent/fluent-bit: the official images are built without the exec input
# (-DFLB_IN_EXEC=Off) and the production ones have no /bin/sh, which exec needs to run its
# command; neither has Python. Fluent Bit's Debian packages do include exec, so this image is
# Debian slim with Python, Fluent Bit from its own package repository, and oom-input.
# (An initContainer copying a Python environment into the Fluent Bit image would depend on
# matching libc and paths; a sidecar would need a file or pipe between the containers that
# nothing rotates or restarts. One image with both keeps Fluent Bit's exec contract as tested.)

FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY oom_input ./oom_input
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
    && curl -fsSL https://packages.fluentbit.io/fluentbit.key \
        | gpg --dearmor -o /usr/share/keyrings/fluentbit-keyring.gpg \
    && echo "deb [signed-by=/usr/share/keyrings/fluentbit-keyring.gpg] https://packages.fluentbit.io/debian/bookworm bookworm main" \
        > /etc/apt/sources.list.d/fluent-bit.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends fluent-bit \
    && apt-get purge -y curl gnupg \
    && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --find-links=/tmp/wheels oom-input \
    && rm -rf /tmp/wheels
ENTRYPOINT ["/opt/fluent-bit/bin/fluent-bit"]
CMD ["-c", "/fluent-bit/etc/fluent-bit.yaml"]
