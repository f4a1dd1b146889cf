# ZooKeeper for docker/compose-cluster.yml: Debian's zookeeper package (and its JRE) on the same
# bookworm base as the kbroker image, one standalone server. Built by scripts/build-image.sh.
#   ZOOKEEPER_CLIENT_PORT          the client port (default 2181; with host networking it must be free)
#   ZOOKEEPER_CLIENT_PORT_ADDRESS  the address it binds (default 0.0.0.0; the compose file, with host
#                                  networking, sets 127.0.0.1)
#   ZOOKEEPER_HEAP         the JVM's -Xmx (default 256m)
# Data: the volume /var/lib/zookeeper.
FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zookeeper \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/zookeeper \
 && chown zookeeper:zookeeper /var/lib/zookeeper

ENV ZOOKEEPER_CLIENT_PORT=2181 \
    ZOOKEEPER_CLIENT_PORT_ADDRESS=0.0.0.0 \
    ZOOKEEPER_HEAP=256m

USER zookeeper
WORKDIR /var/lib/zookeeper
VOLUME /var/lib/zookeeper
EXPOSE 2181
# standalone, from a zoo.cfg written at start from the variables; data in /var/lib/zookeeper/data
# (the package leaves a placeholder myid in /var/lib/zookeeper, which the server would misread); the
# admin server (its own HTTP port) is off so that only the client port is taken; the log goes to the
# console (Debian's log4j.properties with its CONSOLE appender)
CMD ["sh", "-c", "mkdir -p /var/lib/zookeeper/data && printf 'tickTime=2000\\ndataDir=/var/lib/zookeeper/data\\nclientPort=%s\\nclientPortAddress=%s\\nadmin.enableServer=false\\n' \"$ZOOKEEPER_CLIENT_PORT\" \"$ZOOKEEPER_CLIENT_PORT_ADDRESS\" > /tmp/zoo.cfg && exec java -Xmx${ZOOKEEPER_HEAP} -Dzookeeper.root.logger=INFO,CONSOLE -Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar org.apache.zookeeper.server.ZooKeeperServerMain /tmp/zoo.cfg"]
