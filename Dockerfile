# iec-poller in a container: docker build -t iec-poller .
# Run with the serial adapter passed in and the state in a volume, e.g.
#   docker run -d --name iec-poller --device /dev/ttyUSB0 \
#     -v /srv/iec-poller/config.yaml:/etc/iec-poller/config.yaml:ro \
#     -v iec-poller-state:/var/lib/iec-poller iec-poller

FROM python:3.11-slim AS build
COPY . /src
RUN sh /src/packaging/install.sh /opt/iec-poller /src

FROM python:3.11-slim
# A fixed, unprivileged user in the group that owns serial devices (dialout, gid 20
# on Debian), so that --device nodes are usable without root.
RUN useradd --system --uid 10001 --gid dialout --home-dir /var/lib/iec-poller \
        --no-create-home --shell /usr/sbin/nologin iec-poller \
    && install -d -o iec-poller -g dialout -m 0750 /var/lib/iec-poller \
    && install -d -m 0755 /etc/iec-poller
COPY --from=build /opt/iec-poller /opt/iec-poller
COPY config/example.yaml /etc/iec-poller/example.yaml
ENV PATH=/opt/iec-poller/bin:$PATH \
    PYTHONUNBUFFERED=1
USER iec-poller
WORKDIR /var/lib/iec-poller
VOLUME ["/var/lib/iec-poller"]
# /healthz and /metrics; set http.listen to 0.0.0.0:9462 to scrape from outside.
EXPOSE 9462
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:9462/healthz', timeout=4).status != 200)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["iec-poller"]
CMD ["run", "--config", "/etc/iec-poller/config.yaml"]
