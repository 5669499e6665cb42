# oom-input image: `docker build -t oom-input:0.1.0 .`
#
# Stage 1 builds wheels of the package and its dependencies; stage 2 installs them into a clean
# slim Python image, so no compiler, build backend or source tree is left in the result.
#
# Runs as root on purpose: reading /dev/kmsg needs UID 0 with CAP_SYSLOG where
# kernel.dmesg_restrict=1, and in Kubernetes a privileged container for the device cgroup
# (configs/kubernetes/daemonset.yaml explains each). Offline use (files, stdin) needs nothing:
#   docker run --rm -i oom-input:0.1.0 - < kern.log
# Live on a Docker host:
#   docker run -d --device /dev/kmsg --cap-add SYSLOG -e NODE_NAME="$(hostname)" \
#     -v /var/lib/oom-input:/var/lib/oom-input oom-input:0.1.0
# (on a Kubernetes node add -v /var/log/pods:/var/log/pods:ro -v /var/log/containers:/var/log/containers:ro
# for the records' pod names). PyYAML is not installed: only --kubeconfig needs it (the extra
# oom-input[kubeconfig]); in a cluster the service account is used.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY oom_input ./oom_input
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --find-links=/tmp/wheels oom-input \
    && rm -rf /tmp/wheels
ENV PYTHONDONTWRITEBYTECODE=1
VOLUME ["/var/lib/oom-input"]
ENTRYPOINT ["oom-input"]
CMD ["--kmsg", "--state-file", "/var/lib/oom-input/state"]
