package kbroker.cluster;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java side of the cluster failover campaign (compat/cluster/failover.py): an idempotent
 * {@code acks=all} producer that appends one JSON line per acknowledged record to an ack log.
 *
 * <pre>
 *   java -cp classes:jars/* kbroker.cluster.AckProducer --bootstrap B --topic T --count N --ack-log FILE
 *        [--name java] [--keys 50] [--rate 0] [--gate FILE] [--delivery-timeout-ms 300000]
 * </pre>
 *
 * Record {@code seq} (0..N-1) has key {@code k<seq % keys>} and value {@code <name>-<seq>}. An
 * acknowledged record is logged as {@code {"producer","p","o","k","v","ts"}} (ts: wall-clock ms when
 * the callback ran), a failed one as {@code {"producer","k","v","ts","err"}}. {@code --rate} caps the
 * records sent per second (0: no cap); {@code --gate FILE} holds a number G and the producer sends
 * no record with seq >= G until the file says more. The last stdout line is
 * {@code @@cluster-producer@@ {"producer","acked","failed"}}; the exit status is 0 when every record
 * was acknowledged.
 */
public final class AckProducer {
    private final BufferedWriter log;

    private AckProducer(BufferedWriter log) {
        this.log = log;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected " + args[i]);
            o.put(args[i].substring(2), args[i + 1]);
        }
        String name = o.getOrDefault("name", "java");
        String topic = req(o, "topic");
        long count = Long.parseLong(req(o, "count"));
        int keys = Integer.parseInt(o.getOrDefault("keys", "50"));
        double rate = Double.parseDouble(o.getOrDefault("rate", "0"));
        Path gate = o.containsKey("gate") ? Path.of(o.get("gate")) : null;

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, req(o, "bootstrap"));
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, o.getOrDefault("delivery-timeout-ms", "300000"));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        try (BufferedWriter w = Files.newBufferedWriter(Path.of(req(o, "ack-log")), StandardCharsets.UTF_8)) {
            AckProducer me = new AckProducer(w);
            Thread flusher = new Thread(() -> {
                while (true) {
                    try {
                        Thread.sleep(200);
                        me.flush();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "ack-log-flusher");
            flusher.setDaemon(true);
            flusher.start();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
                long start = System.nanoTime();
                long allowed = gate == null ? count : readGate(gate);
                for (long seq = 0; seq < count; seq++) {
                    while (seq >= allowed) {
                        Thread.sleep(50);
                        allowed = readGate(gate);
                    }
                    if (rate > 0) {
                        long due = start + (long) (seq * 1e9 / rate);
                        long wait = due - System.nanoTime();
                        if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    String key = "k" + (seq % keys);
                    String value = name + "-" + seq;
                    producer.send(new ProducerRecord<>(topic, key, value), (md, err) -> {
                        long ts = System.currentTimeMillis();
                        if (err == null) {
                            acked.incrementAndGet();
                            me.line("{\"producer\":" + json(name) + ",\"p\":" + md.partition() + ",\"o\":" + md.offset()
                                    + ",\"k\":" + json(key) + ",\"v\":" + json(value) + ",\"ts\":" + ts + "}");
                        } else {
                            failed.incrementAndGet();
                            me.line("{\"producer\":" + json(name) + ",\"k\":" + json(key) + ",\"v\":" + json(value)
                                    + ",\"ts\":" + ts + ",\"err\":" + json(err.toString()) + "}");
                        }
                    });
                }
                producer.flush();
            }
            flusher.interrupt();
            me.flush();
        }
        System.out.println("@@cluster-producer@@ {\"producer\":" + json(name) + ",\"acked\":" + acked.get()
                + ",\"failed\":" + failed.get() + "}");
        System.out.flush();
        System.exit(acked.get() == count ? 0 : 1);
    }

    private synchronized void line(String s) {
        try {
            log.write(s);
            log.write('\n');
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private synchronized void flush() {
        try {
            log.flush();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static long readGate(Path gate) throws IOException {
        try {
            String s = Files.readString(gate).trim();
            return s.isEmpty() ? 0 : Long.parseLong(s);
        } catch (NoSuchFileException | NumberFormatException e) {
            return 0;  // not written yet, or caught mid-write: ask again
        }
    }

    private static String req(Map<String, String> o, String k) {
        String v = o.get(k);
        if (v == null) throw new IllegalArgumentException("--" + k + " is required");
        return v;
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
