// kafkajs against kbroker: one small program per step, driven by compat/scenarios/kafkajs.py.
//
//   node client.js version
//   node client.js create-topic BOOTSTRAP TOPIC PARTITIONS
//   node client.js produce BOOTSTRAP TOPIC [CODEC]     records on stdin, one JSON object a line:
//        {"k": b64|null, "v": b64|null, "h": [[key, b64|null], ...], "ts": ms|null, "p": int|null}
//        prints one JSON array: [[partition, offset], ...] in input order
//   node client.js consume BOOTSTRAP TOPIC GROUP ENDS  ENDS = {"partition": endOffset, ...} (JSON), or
//        null for the high watermarks (admin fetchTopicOffsets);
//        a consumer in a fresh group reads from the beginning up to ENDS and prints one JSON
//        object a line: {"p", "o", "k", "v", "h", "ts"}
//   node client.js member BOOTSTRAP TOPIC GROUP CLIENT_ID SESSION_MS
//        a group member: prints "V <partition> <offset> <value>" for each record, then commits;
//        on SIGTERM it disconnects (LeaveGroup) and exits
//   node client.js produce-stream BOOTSTRAP TOPIC     "PARTITION VALUE" lines on stdin, sent in order as
//        they arrive by an idempotent producer (acks=all, one request in flight); prints
//        "A <partition> <offset> <value>" per acknowledged record and "E <value> <error>" per failure
//
// BOOTSTRAP may list several brokers, comma-separated.  KBROKER_CLIENT_LOG=debug|info writes kafkajs's
// own log to stderr (which metadata it refreshed and why).
// kafkajs has no assign(): every consumer here is a group member (subscribe + fromBeginning).
// Records are placed with kafkajs's own DefaultPartitioner (Java-compatible murmur2) before send,
// so the program knows each record's partition and can give its offset from the produce response.
'use strict'

const { Kafka, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

const b64 = (buf) => (buf === null || buf === undefined ? null : Buffer.from(buf).toString('base64'))
const unb64 = (s) => (s === null || s === undefined ? null : Buffer.from(s, 'base64'))

const LOG_LEVELS = { debug: logLevel.DEBUG, info: logLevel.INFO, warn: logLevel.WARN }

// kafkajs logs to stdout by default; stdout is the program's answer, so its log goes to stderr
const stderrLog = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`${new Date().toISOString()} ${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
}

function kafka(bootstrap, clientId = 'kbroker-compat-kafkajs') {
  return new Kafka({
    clientId,
    brokers: bootstrap.split(','),
    logLevel: LOG_LEVELS[process.env.KBROKER_CLIENT_LOG] || logLevel.ERROR,
    logCreator: stderrLog,
    connectionTimeout: 10000,
    retry: { retries: 10, initialRetryTime: 200 },
  })
}

async function readStdin() {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8')
}

async function createTopic(bootstrap, topic, partitions) {
  const admin = kafka(bootstrap).admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: Number(partitions), replicationFactor: 1 }],
      waitForLeaders: true,
    })
    if (!created) throw new Error(`topic ${topic} was not created (it already exists?)`)
  } finally {
    await admin.disconnect()
  }
}

async function produce(bootstrap, topic, codec = 'none') {
  if (!(codec in CODECS)) throw new Error(`unknown codec ${codec}`)
  const records = (await readStdin())
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
  const client = kafka(bootstrap)
  const admin = client.admin()
  await admin.connect()
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  await admin.disconnect()
  const partitionMetadata = meta.topics[0].partitions
  const partitioner = Partitioners.DefaultPartitioner()

  const messages = records.map((r) => {
    const m = { key: unb64(r.k), value: unb64(r.v) }
    if (r.h && r.h.length) {
      m.headers = {}
      for (const [k, v] of r.h) {
        const val = unb64(v)
        m.headers[k] = k in m.headers ? [].concat(m.headers[k], [val]) : val
      }
    }
    if (r.ts !== null && r.ts !== undefined) m.timestamp = String(r.ts)
    m.partition =
      r.p !== null && r.p !== undefined ? r.p : partitioner({ topic, partitionMetadata, message: m })
    return m
  })

  const producer = client.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const positions = []
  try {
    const CHUNK = 500
    for (let i = 0; i < messages.length; i += CHUNK) {
      const chunk = messages.slice(i, i + CHUNK)
      const result = await producer.send({ topic, messages: chunk, acks: -1, compression: CODECS[codec] })
      const base = {}
      for (const r of result) {
        if (r.errorCode) throw new Error(`partition ${r.partition}: error code ${r.errorCode}`)
        base[r.partition] = BigInt(r.baseOffset)
      }
      const seen = {}
      for (const m of chunk) {
        const j = seen[m.partition] || 0n
        seen[m.partition] = j + 1n
        if (base[m.partition] === undefined) throw new Error(`no produce result for partition ${m.partition}`)
        positions.push([m.partition, Number(base[m.partition] + j)])
      }
    }
  } finally {
    await producer.disconnect()
  }
  process.stdout.write(JSON.stringify(positions) + '\n')
}

// Lines are read as they arrive and sent in chunks of what has queued up meanwhile (at most 100
// records a send), one send at a time, so the driver sees acknowledgements while it feeds more.
async function produceStream(bootstrap, topic) {
  const producer = kafka(bootstrap).producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 5000 },
  })
  await producer.connect()
  const queue = []
  let ended = false
  let wake = null
  const notify = () => {
    if (wake) {
      const w = wake
      wake = null
      w()
    }
  }
  const rl = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', (line) => {
    line = line.trim()
    if (!line) return
    const sp = line.indexOf(' ')
    const partition = Number(line.slice(0, sp))
    if (sp < 1 || !Number.isInteger(partition)) throw new Error(`bad line ${JSON.stringify(line)}`)
    queue.push({ partition, value: line.slice(sp + 1) })
    notify()
  })
  rl.on('close', () => {
    ended = true
    notify()
  })
  try {
    for (;;) {
      if (queue.length === 0) {
        if (ended) break
        await new Promise((resolve) => {
          wake = resolve
        })
        continue
      }
      const chunk = queue.splice(0, 100)
      // one send() a partition: a send() to partitions on several brokers keeps, across its retries,
      // the answers of the brokers that succeeded, and sends nothing to a broker that answered once,
      // so a partition whose leadership moved to such a broker is dropped from the result
      // (compat/FINDINGS.md)
      const byPartition = new Map()
      for (const m of chunk) {
        if (!byPartition.has(m.partition)) byPartition.set(m.partition, [])
        byPartition.get(m.partition).push(m)
      }
      const lines = []
      for (const [partition, msgs] of byPartition) {
        let result
        try {
          result = await producer.send({
            topic,
            acks: -1,
            messages: msgs.map((m) => ({ partition, value: m.value })),
          })
        } catch (e) {
          for (const m of msgs) lines.push(`E ${m.value} ${String(e).replace(/\n/g, ' ')}`)
          continue
        }
        const r = result.find((x) => x.partition === partition)
        msgs.forEach((m, j) =>
          lines.push(
            r === undefined
              ? `E ${m.value} no produce result for partition ${partition}`
              : `A ${partition} ${BigInt(r.baseOffset) + BigInt(j)} ${m.value}`
          )
        )
      }
      process.stdout.write(lines.join('\n') + '\n')
    }
  } finally {
    await producer.disconnect()
  }
}

function headersOut(headers) {
  const out = []
  for (const [k, v] of Object.entries(headers || {})) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, b64(one)])
  }
  return out
}

async function consume(bootstrap, topic, group, endsJson) {
  let ends = JSON.parse(endsJson)
  if (ends === null) {
    const admin = kafka(bootstrap).admin()
    await admin.connect()
    ends = {}
    for (const o of await admin.fetchTopicOffsets(topic)) ends[o.partition] = Number(o.high)
    await admin.disconnect()
  }
  const todo = new Set(Object.keys(ends).filter((p) => ends[p] > 0).map(Number))
  const consumer = kafka(bootstrap).consumer({ groupId: group, allowAutoTopicCreation: false })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const lines = []
  let finish
  const done = new Promise((resolve) => {
    finish = resolve
  })
  if (todo.size === 0) finish()
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        lines.push(
          JSON.stringify({
            p: batch.partition,
            o: Number(m.offset),
            k: b64(m.key),
            v: b64(m.value),
            h: headersOut(m.headers),
            ts: Number(m.timestamp),
          })
        )
        if (Number(m.offset) + 1 >= ends[batch.partition]) todo.delete(batch.partition)
      }
      if (todo.size === 0) finish()
    },
  })
  await done
  await consumer.disconnect()
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''))
}

async function member(bootstrap, topic, group, clientId, sessionMs) {
  const consumer = kafka(bootstrap, clientId).consumer({
    groupId: group,
    sessionTimeout: Number(sessionMs),
    heartbeatInterval: 500,
    allowAutoTopicCreation: false,
  })
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    try {
      await consumer.disconnect()
    } finally {
      process.exit(0)
    }
  }
  process.on('SIGTERM', stop)
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, heartbeat, isRunning }) => {
      if (!isRunning() || batch.messages.length === 0) return
      const out = batch.messages.map((m) => `V ${batch.partition} ${m.offset} ${m.value.toString()}`)
      process.stdout.write(out.join('\n') + '\n')
      const last = batch.messages[batch.messages.length - 1]
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ])
      await heartbeat()
    },
  })
}

async function main(argv) {
  const [cmd, ...args] = argv
  switch (cmd) {
    case 'version':
      process.stdout.write(require('kafkajs/package.json').version + '\n')
      return
    case 'create-topic':
      return createTopic(...args)
    case 'produce':
      return produce(...args)
    case 'consume':
      return consume(...args)
    case 'member':
      return member(...args)
    case 'produce-stream':
      return produceStream(...args)
    default:
      throw new Error(`unknown command ${cmd}`)
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`kafkajs client error: ${e && e.stack ? e.stack : e}\n`)
  process.exit(1)
})
