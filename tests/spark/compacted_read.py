"""Run by tests/foreign/test_compaction_spark.py with a compat/spark venv's python (pyspark + the Kafka
source jars): Spark reads a compacted kbroker topic with failOnDataLoss=true, once as a stream
(availableNow, a few offsets per micro-batch so that batches start and end inside compaction gaps
and empty batches) and once as a batch query, and prints one JSON line per query:
{"query": ..., "rows": [[offset, key hex, value hex or null], ...]}.

    python compacted_read.py BOOTSTRAP TOPIC JARS(comma-separated) WORKDIR
"""

import json
import os
import sys

from pyspark.sql import SparkSession


def rows(df):
    out = []
    for r in df.orderBy("offset").collect():
        value = None if r["value"] is None else bytes(r["value"]).hex()
        out.append([r["offset"], bytes(r["key"]).hex(), value])
    return out


def main() -> None:
    bootstrap, topic, jars, work = sys.argv[1:5]
    spark = (SparkSession.builder.master("local[2]").appName("kbroker-compacted")
             .config("spark.jars", jars)
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.local.dir", os.path.join(work, "local"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    common = {"kafka.bootstrap.servers": bootstrap, "subscribe": topic, "startingOffsets": "earliest",
              "failOnDataLoss": "true"}
    stream = spark.readStream.format("kafka").options(**common).option("maxOffsetsPerTrigger", "7").load()
    query = (stream.select("offset", "key", "value").writeStream.format("memory").queryName("compacted")
             .option("checkpointLocation", os.path.join(work, "checkpoint"))
             .trigger(availableNow=True).start())
    query.awaitTermination()
    if query.exception() is not None:
        raise RuntimeError(str(query.exception()))
    print(json.dumps({"query": "stream", "rows": rows(spark.table("compacted"))}), flush=True)
    batch = spark.read.format("kafka").options(**common).option("endingOffsets", "latest").load()
    print(json.dumps({"query": "batch", "rows": rows(batch.select("offset", "key", "value"))}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
