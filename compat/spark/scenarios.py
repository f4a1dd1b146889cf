"""Spark Structured Streaming against kbroker: the Spark side of compat/spark/harness.py.

Runs inside a venv that has only pyspark (compat/spark/setup.sh makes one per Spark version), so it
uses nothing but pyspark and the standard library.  The harness produces and checks the records with
another Kafka client; this process only runs Spark queries and dumps what they delivered.

    python scenarios.py PLAN.json

PLAN.json: {"mode": "functional" | "stream", "bootstrap": "host:port", "jars": [...],
"work": dir, ...mode's own keys}.  Every row a query delivered is written to ``work/<name>.jsonl``
as one JSON object per line: t(opic), p(artition), o(ffset), k(ey), v(alue) (base64 or null),
h(eaders) [[key, base64 or null], ...] (null when the query did not ask for headers), ts (ms) and
tt (timestamp type).

Talking to the harness: this process prints ``@@spark@@ {json}`` lines on stdout (``event`` names
what happened) and, where it must wait for the harness (to produce, to kill the broker), reads one
JSON line from stdin.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import sys
import time
import traceback

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

MARK = "@@spark@@ "
COLUMNS = ["topic", "partition", "offset", "key", "value", "ts", "timestampType"]


def emit(event: str, **kw) -> None:
    print(MARK + json.dumps({"event": event, **kw}), flush=True)


def wait_for_harness() -> dict:
    line = sys.stdin.readline()
    if not line:
        raise RuntimeError("the harness closed stdin")
    return json.loads(line)


def session(plan: dict) -> SparkSession:
    work = plan["work"]
    b = (SparkSession.builder.master("local[2]").appName("kbroker-compat")
         .config("spark.jars", ",".join(plan["jars"]))
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.default.parallelism", "2")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.local.dir", os.path.join(work, "spark-local"))
         .config("spark.sql.warehouse.dir", os.path.join(work, "warehouse"))
         .config("spark.sql.streaming.forceDeleteTempCheckpointLocation", "true"))
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


# ---------------------------------------------------------------- rows


def project(df, headers: bool):
    """The Kafka source's columns in the dump's shape (timestamps as epoch milliseconds)."""
    cols = [F.col(c) for c in ("topic", "partition", "offset", "key", "value", "timestampType")]
    cols.append(F.expr("unix_millis(timestamp)").alias("ts"))
    if headers:
        cols.append(F.col("headers"))
    return df.select(*cols)


def _b64(b) -> str | None:
    return None if b is None else base64.b64encode(bytes(b)).decode()


def dump(rows, path: str) -> int:
    n = 0
    with open(path, "w") as f:
        for r in rows:
            d = r.asDict()
            h = d.get("headers")
            f.write(json.dumps({
                "t": d["topic"], "p": d["partition"], "o": d["offset"],
                "k": _b64(d["key"]), "v": _b64(d["value"]),
                "h": None if "headers" not in d else [[x["key"], _b64(x["value"])] for x in (h or [])],
                "ts": d["ts"], "tt": d["timestampType"]}) + "\n")
            n += 1
    return n


def dump_table(spark: SparkSession, name: str, work: str) -> int:
    return dump(spark.sql(f"SELECT * FROM {name}").collect(), os.path.join(work, name + ".jsonl"))


def kafka_reader(spark: SparkSession, plan: dict, stream: bool, **options):
    r = (spark.readStream if stream else spark.read).format("kafka")
    r = r.option("kafka.bootstrap.servers", plan["bootstrap"])
    for k, v in options.items():
        r = r.option(k, v)
    return r.load()


def end_offsets(progress: dict | None) -> dict:
    """{topic: {partition: offset}} that a finished micro-batch read up to."""
    if not progress or not progress.get("sources"):
        return {}
    end = progress["sources"][0].get("endOffset")
    if isinstance(end, str):
        end = json.loads(end)
    return end or {}


def reached(query, target: dict) -> bool:
    end = end_offsets(query.lastProgress)
    return all(end.get(t, {}).get(str(p), -1) >= o for t, parts in target.items() for p, o in parts.items())


def await_offsets(queries_targets, timeout: float) -> None:
    """Wait until each query has finished a batch ending at (or past) its target offsets."""
    deadline = time.monotonic() + timeout
    while True:
        for q, _ in queries_targets:
            if q.exception() is not None:
                raise RuntimeError(f"query {q.name} failed: {q.exception()}")
        if all(reached(q, t) for q, t in queries_targets):
            return
        if time.monotonic() > deadline:
            state = {q.name: end_offsets(q.lastProgress) for q, _ in queries_targets}
            raise TimeoutError(f"queries did not reach {[t for _, t in queries_targets]} "
                               f"within {timeout:.0f}s; they are at {state}")
        time.sleep(0.2)


def await_initialized(checkpoint: str, query, timeout: float = 120) -> None:
    """A Kafka micro-batch source records the offsets it starts from (``sources/0/0``) before it
    plans its first batch; from then on, `latest` is fixed."""
    deadline = time.monotonic() + timeout
    marker = os.path.join(checkpoint, "sources", "0", "0")
    while not os.path.exists(marker):
        if query.exception() is not None:
            raise RuntimeError(f"query {query.name} failed: {query.exception()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"query {query.name} did not record its starting offsets in {timeout:.0f}s")
        time.sleep(0.1)


# ---------------------------------------------------------------- functional


def functional(spark: SparkSession, plan: dict) -> None:
    work = plan["work"]
    tp = plan["topics"]
    timeout = plan.get("timeout", 240)
    ck = os.path.join(work, "checkpoints")

    def memory_query(name: str, df, trigger: dict, headers: bool = False):
        return (project(df, headers).writeStream.format("memory").queryName(name)
                .option("checkpointLocation", os.path.join(ck, name)).trigger(**trigger).start())

    # 1. subscribe, earliest, availableNow (in several batches), memory sink, with headers
    q = memory_query("subscribe_earliest",
                     kafka_reader(spark, plan, True, subscribe=tp["main"], startingOffsets="earliest",
                                  includeHeaders="true", maxOffsetsPerTrigger="700"),
                     {"availableNow": True}, headers=True)
    q.awaitTermination(timeout)
    emit("done", name="subscribe_earliest", rows=dump_table(spark, "subscribe_earliest", work),
         batches=len(q.recentProgress))

    # 2. subscribePattern, earliest, availableNow, parquet file sink
    out = os.path.join(work, "pattern_parquet_out")
    df = project(kafka_reader(spark, plan, True, subscribePattern=plan["pattern"], startingOffsets="earliest"),
                 headers=False)
    q = (df.writeStream.format("parquet").option("path", out)
         .option("checkpointLocation", os.path.join(ck, "pattern_parquet")).trigger(availableNow=True).start())
    q.awaitTermination(timeout)
    rows = spark.read.schema(df.schema).parquet(out).collect()
    emit("done", name="pattern_parquet", rows=dump(rows, os.path.join(work, "pattern_parquet.jsonl")))

    # 3. assign with a JSON map of starting offsets (-2 = earliest), availableNow, json file sink
    out = os.path.join(work, "assign_json_out")
    df = project(kafka_reader(spark, plan, True, assign=json.dumps(plan["assign"]),
                              startingOffsets=json.dumps(plan["assign_start"]), includeHeaders="true"),
                 headers=True)
    q = (df.writeStream.format("json").option("path", out)
         .option("checkpointLocation", os.path.join(ck, "assign_json")).trigger(availableNow=True).start())
    q.awaitTermination(timeout)
    rows = spark.read.schema(df.schema).json(out).collect()
    emit("done", name="assign_json", rows=dump(rows, os.path.join(work, "assign_json.jsonl")))

    # 4. batch reads: whole topic (earliest..latest by default), a slice by JSON offset maps, ...
    rows = project(kafka_reader(spark, plan, False, subscribe=tp["main"], includeHeaders="true"), True).collect()
    emit("done", name="batch_all", rows=dump(rows, os.path.join(work, "batch_all.jsonl")))
    rows = project(kafka_reader(spark, plan, False, subscribe=tp["main"],
                                startingOffsets=json.dumps(plan["slice_start"]),
                                endingOffsets=json.dumps(plan["slice_end"])), False).collect()
    emit("done", name="batch_slice", rows=dump(rows, os.path.join(work, "batch_slice.jsonl")))
    # ... and from a timestamp (ListOffsets by time, per partition) to the end
    rows = project(kafka_reader(spark, plan, False, subscribe=tp["main"],
                                startingOffsetsByTimestamp=json.dumps(plan["since"])), False).collect()
    emit("done", name="batch_by_time", rows=dump(rows, os.path.join(work, "batch_by_time.jsonl")))

    # 5. writeStream to a kbroker topic: key, value, headers and partition of the main topic
    src = kafka_reader(spark, plan, True, subscribe=tp["main"], startingOffsets="earliest", includeHeaders="true")
    q = (src.select("key", "value", "headers", "partition").writeStream.format("kafka")
         .option("kafka.bootstrap.servers", plan["bootstrap"]).option("topic", tp["sink"])
         .option("checkpointLocation", os.path.join(ck, "kafka_sink")).trigger(availableNow=True).start())
    q.awaitTermination(timeout)
    if q.exception() is not None:
        raise RuntimeError(f"kafka sink query failed: {q.exception()}")
    rows = project(kafka_reader(spark, plan, False, subscribe=tp["sink"], includeHeaders="true"), True).collect()
    emit("done", name="kafka_sink_readback", rows=dump(rows, os.path.join(work, "kafka_sink_readback.jsonl")))

    # 6. processingTime triggers starting at `latest`: subscribe, and subscribePattern that must also
    # pick up a topic created while it runs (new partitions are read from their start)
    q_latest = memory_query("subscribe_latest",
                            kafka_reader(spark, plan, True, subscribe=tp["latest"], startingOffsets="latest",
                                         includeHeaders="true"),
                            {"processingTime": "500 milliseconds"}, headers=True)
    q_pattern = memory_query("pattern_latest",
                             kafka_reader(spark, plan, True, subscribePattern=plan["latest_pattern"],
                                          startingOffsets="latest"),
                             {"processingTime": "500 milliseconds"})
    await_initialized(os.path.join(ck, "subscribe_latest"), q_latest)
    await_initialized(os.path.join(ck, "pattern_latest"), q_pattern)
    emit("latest-started")
    reply = wait_for_harness()  # the harness produces, then tells us the end offsets
    await_offsets([(q_latest, reply["subscribe_latest"]), (q_pattern, reply["pattern_latest"])], timeout)
    for qq in (q_latest, q_pattern):
        qq.stop()
        emit("done", name=qq.name, rows=dump_table(spark, qq.name, work))


# ---------------------------------------------------------------- long-running stream


def stream(spark: SparkSession, plan: dict) -> None:
    """A processingTime query into a checkpointed json file sink (``options``: more source options,
    e.g. failOnDataLoss).  Reports every finished batch;
    when told ``{"until": {topic: {partition: offset}}}`` on stdin, runs until it has read that far,
    stops, and dumps what the sink holds (read back through the sink's own metadata log, which is
    what makes a file sink exactly-once).  The harness may kill this process at any time."""
    work, out, ck = plan["work"], plan["out"], plan["checkpoint"]
    df = project(kafka_reader(spark, plan, True, subscribe=plan["topic"], startingOffsets="earliest",
                              includeHeaders="true", maxOffsetsPerTrigger=str(plan["max_per_trigger"]),
                              **plan.get("options", {})),
                 headers=True)
    q = (df.writeStream.format("json").option("path", out).option("checkpointLocation", ck)
         .trigger(processingTime=plan["trigger"]).start())
    emit("started", id=str(q.id), run=str(q.runId))

    import threading
    until: dict = {}
    got_until = threading.Event()

    def read_stdin() -> None:
        until.update(wait_for_harness()["until"])
        got_until.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    seen = -1
    deadline = None
    while True:
        if q.exception() is not None:
            raise RuntimeError(f"streaming query failed: {q.exception()}")
        p = q.lastProgress
        if p is not None and p["batchId"] != seen:
            seen = p["batchId"]
            emit("batch", batch=seen, rows=p["numInputRows"], end=end_offsets(p))
        if got_until.is_set():
            deadline = deadline or time.monotonic() + plan.get("timeout", 240)
            if reached(q, until):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"query did not reach {until} in time; at {end_offsets(q.lastProgress)}")
        time.sleep(0.2)
    q.stop()
    rows = spark.read.schema(df.schema).json(out).collect()
    emit("done", name="stream", rows=dump(rows, os.path.join(work, "stream.jsonl")))


def main() -> int:
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    plan["jars"] = plan.get("jars") or sorted(glob.glob(os.path.join(plan["jar_dir"], "*.jar")))
    try:
        spark = session(plan)
        emit("session", spark=spark.version)
        {"functional": functional, "stream": stream}[plan["mode"]](spark, plan)
        spark.stop()
    except BaseException as e:  # noqa: BLE001 - the harness gets the reason as an event
        emit("error", error=f"{type(e).__name__}: {e}", trace=traceback.format_exc()[-4000:])
        return 1
    emit("finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
