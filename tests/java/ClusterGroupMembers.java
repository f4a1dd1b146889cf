// Runs MEMBERS consumers of one group in threads of one JVM, each subscribed to TOPIC, taking one
// record per poll (max.poll.records=1), "processing" it (printing it, then sleeping PACE_MS) and
// committing offset+1 of its partition with commitSync before taking the next. A failed commit seeks
// the partition back to the record, so the record is delivered again rather than skipped. Every event
// is one line on stdout:
//     A <member> <partition,...>          partitions assigned
//     R <member> <partition> <offset> <value>   record processed
//     C <member> <partition> <offset>     offset committed (the next record to read)
//     F <member> <partition> <offset> <error>   commit failed for the record at offset
//     X <member> <error>                  the member stopped on an error
// The members together process at most LIMIT records (counting each delivery); a record taken past
// the limit waits, unprocessed, until a line "limit <n>" on stdin raises it ("freeze" lowers it to
// the number taken so far). "leave <member>" closes that member (it leaves the group; then the line
// "L <member>"), "join" starts one more. The members run until stdin reaches its end (or reads
// "stop"), then close and print "DONE".
//     java -cp '<kafka-clients jars>/*' tests/java/ClusterGroupMembers.java BOOTSTRAP TOPIC GROUP MEMBERS PACE_MS LIMIT
// Used by tests/foreign/test_cluster_groups.py (consume through a kill of the group's coordinator).

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class ClusterGroupMembers {
    static final AtomicBoolean STOP = new AtomicBoolean(false);
    static final AtomicLong PROCESSED = new AtomicLong();
    static volatile long limit;

    static synchronized void out(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static final List<KafkaConsumer<byte[], byte[]>> CONSUMERS = new ArrayList<>();
    static final List<Thread> THREADS = new ArrayList<>();
    static final List<AtomicBoolean> LEFT = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2];
        int members = Integer.parseInt(args[3]);
        long pace = Long.parseLong(args[4]);
        limit = Long.parseLong(args[5]);
        for (int m = 0; m < members; m++) {
            join(bootstrap, topic, group, pace);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
            line = line.trim();
            if (line.startsWith("limit ")) {
                limit = Long.parseLong(line.substring(6).trim());
            } else if (line.equals("freeze")) {
                limit = PROCESSED.get();
            } else if (line.startsWith("leave ")) {
                int m = Integer.parseInt(line.substring(6).trim());
                LEFT.get(m).set(true);
                CONSUMERS.get(m).wakeup();
                THREADS.get(m).join(60_000);
                out("L " + m);
            } else if (line.equals("join")) {
                join(bootstrap, topic, group, pace);
            }
        }
        STOP.set(true);
        for (KafkaConsumer<byte[], byte[]> c : CONSUMERS) {
            c.wakeup();
        }
        for (Thread t : THREADS) {
            t.join(60_000);
        }
        out("DONE");
    }

    /** Starts member number CONSUMERS.size(). */
    static void join(String bootstrap, String topic, String group, long pace) {
        int member = CONSUMERS.size();
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", group);
        p.put("client.id", group + "-" + member);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        p.put("max.poll.records", "1");
        p.put("session.timeout.ms", "10000");
        p.put("heartbeat.interval.ms", "1000");
        p.put("reconnect.backoff.max.ms", "1000");
        p.put("request.timeout.ms", "10000");
        p.put("metadata.max.age.ms", "2000");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        AtomicBoolean left = new AtomicBoolean(false);
        CONSUMERS.add(c);
        LEFT.add(left);
        Thread t = new Thread(() -> run(member, c, topic, pace, left), "member-" + member);
        THREADS.add(t);
        t.start();
    }

    /** Takes one of the records the limit allows, if any is left. */
    static boolean admit() {
        while (true) {
            long n = PROCESSED.get();
            if (n >= limit) {
                return false;
            }
            if (PROCESSED.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    static void run(int member, KafkaConsumer<byte[], byte[]> c, String topic, long pace, AtomicBoolean left) {
        try {
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                }

                public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                    out("A " + member + " " + parts.stream().map(tp -> String.valueOf(tp.partition())).sorted()
                        .collect(Collectors.joining(",")));
                }
            });
            while (!STOP.get() && !left.get()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    while (!admit()) {
                        if (STOP.get() || left.get()) {
                            return;
                        }
                        Thread.sleep(20);
                    }
                    out("R " + member + " " + r.partition() + " " + r.offset() + " "
                        + new String(r.value(), StandardCharsets.UTF_8));
                    if (pace > 0) {
                        Thread.sleep(pace);
                    }
                    try {
                        c.commitSync(Map.of(tp, new OffsetAndMetadata(r.offset() + 1)));
                        out("C " + member + " " + r.partition() + " " + (r.offset() + 1));
                    } catch (WakeupException e) {
                        throw e;
                    } catch (RuntimeException e) {
                        out("F " + member + " " + r.partition() + " " + r.offset() + " " + e.getClass().getSimpleName());
                        try {
                            c.seek(tp, r.offset());
                        } catch (IllegalStateException gone) {
                            // no longer assigned: its next owner starts from the committed offset
                        }
                    }
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (Exception e) {
            out("X " + member + " " + e);
        } finally {
            try {
                c.close(Duration.ofSeconds(10));
            } catch (Exception e) {
                out("X " + member + " close " + e);
            }
        }
    }
}
