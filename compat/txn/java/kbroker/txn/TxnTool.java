package kbroker.txn;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java side of the transaction campaign (compat/txn): one program, one mode per run, each
 * printing JSON lines on stdout (the last one {@code @@txn@@ {...}}, the summary).
 *
 * <pre>
 *   produce --bootstrap B --txn-id X --name N --topics a,b --partitions 3 --txns 6 --per-partition 2 --abort-every 3
 *   consume --bootstrap B --topics a,b --isolation read_committed|read_uncommitted [--group G]
 *   offsets --bootstrap B --topics a,b          (Admin listOffsets latest, both isolation levels)
 *   hold    --bootstrap B --txn-id X --topics a --partitions 1 --per-partition 3 [--txn-timeout-ms T]
 *   zombie  --bootstrap B --txn-id X --topics a --partitions 1
 *   copy    --bootstrap B --input A --output B --group G --txn-id X [--max-poll 20] [--txn-sleep-ms 0] [--subscribe true]
 * </pre>
 *
 * produce: transaction i (0..txns-1) sends, to every partition of every topic in order, per-partition
 * records with value {@code N-i-j} (j counts the records of the transaction) and key {@code N}; it is
 * aborted when {@code i % abort-every == abort-every - 1}, committed otherwise (compat/txn/clients.py
 * plan computes the same plan). consume: assigns every partition, reads from the beginning to the end offsets
 * the consumer sees at its isolation level (the LSO for read_committed) and prints
 * {@code {"t","p","o","v"}} per record. hold: begins a transaction, sends and flushes, prints
 * {@code @@held@@}, then waits for a stdin line {@code commit} or {@code abort} and prints what came of it.
 * zombie: two producers with one transactional.id, twice; the second's initTransactions fences the first,
 * which then commits at once (round 1) or sends first (round 2); the errors are printed.
 * copy: consume-transform-produce with exactly-once (assign(), positions from the group's committed offsets, read_committed input, sendOffsetsToTransaction), until its
 * committed positions reach the input's end offsets seen at start; any error ends the process with
 * status 3 (the campaign restarts it). Records of the output keep the input's partition, key and value.
 * With {@code --subscribe true} the app joins the group instead (subscribe(), static membership with
 * group.instance.id = the transactional.id, sendOffsetsToTransaction with consumer.groupMetadata()).
 */
public final class TxnTool {
    static final String MARK = "@@txn@@ ";

    public static void main(String[] args) throws Exception {
        if (args.length == 0) throw new IllegalArgumentException("mode missing");
        Map<String, String> o = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected " + args[i]);
            o.put(args[i].substring(2), args[i + 1]);
        }
        switch (args[0]) {
            case "produce": produce(o); break;
            case "consume": consume(o); break;
            case "offsets": offsets(o); break;
            case "hold": hold(o); break;
            case "zombie": zombie(o); break;
            case "copy": System.exit(copy(o)); break;
            default: throw new IllegalArgumentException("unknown mode " + args[0]);
        }
        System.out.flush();
        System.exit(0);
    }

    static String req(Map<String, String> o, String k) {
        String v = o.get(k);
        if (v == null) throw new IllegalArgumentException("--" + k + " is required");
        return v;
    }

    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static void out(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static List<TopicPartition> partitions(Map<String, String> o) {
        int n = Integer.parseInt(o.getOrDefault("partitions", "1"));
        List<TopicPartition> tps = new ArrayList<>();
        for (String t : req(o, "topics").split(",")) {
            for (int p = 0; p < n; p++) tps.add(new TopicPartition(t, p));
        }
        return tps;
    }

    static KafkaProducer<String, String> txnProducer(Map<String, String> o, String txnId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, req(o, "bootstrap"));
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, o.getOrDefault("txn-timeout-ms", "60000"));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, o.getOrDefault("max-block-ms", "60000"));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    static KafkaConsumer<String, String> consumer(Map<String, String> o, String isolation, String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, req(o, "bootstrap"));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, o.getOrDefault("max-poll", "500"));
        if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        if (o.containsKey("group-instance-id")) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, o.get("group-instance-id"));
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    static String err(Throwable e) {
        Throwable c = e;
        StringBuilder chain = new StringBuilder(e.getClass().getName());
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
            chain.append(" <- ").append(c.getClass().getName());
        }
        return chain.toString();
    }

    // -- produce -------------------------------------------------------------------------------------

    static void produce(Map<String, String> o) {
        String name = req(o, "name");
        int txns = Integer.parseInt(req(o, "txns"));
        int per = Integer.parseInt(o.getOrDefault("per-partition", "1"));
        int abortEvery = Integer.parseInt(o.getOrDefault("abort-every", "0"));
        List<TopicPartition> tps = partitions(o);
        int committed = 0;
        int aborted = 0;
        try (KafkaProducer<String, String> producer = txnProducer(o, req(o, "txn-id"))) {
            producer.initTransactions();
            for (int i = 0; i < txns; i++) {
                producer.beginTransaction();
                int j = 0;
                for (TopicPartition tp : tps) {
                    for (int k = 0; k < per; k++) {
                        producer.send(new ProducerRecord<>(tp.topic(), tp.partition(), name, name + "-" + i + "-" + j));
                        j++;
                    }
                }
                boolean abort = abortEvery > 0 && i % abortEvery == abortEvery - 1;
                if (abort) {
                    producer.flush();  // the aborted records reach the log before the marker
                    producer.abortTransaction();
                    aborted++;
                } else {
                    producer.commitTransaction();
                    committed++;
                }
                out("{\"txn\":" + i + ",\"outcome\":" + q(abort ? "abort" : "commit") + "}");
            }
        }
        out(MARK + "{\"mode\":\"produce\",\"committed\":" + committed + ",\"aborted\":" + aborted + "}");
    }

    // -- consume -------------------------------------------------------------------------------------

    static void consume(Map<String, String> o) {
        String isolation = req(o, "isolation");
        long timeoutMs = Long.parseLong(o.getOrDefault("timeout-ms", "60000"));
        List<TopicPartition> tps = partitions(o);
        long count = 0;
        try (KafkaConsumer<String, String> c = consumer(o, isolation, o.get("group"))) {
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (!reached(c, end)) {
                if (System.currentTimeMillis() > deadline) {
                    out(MARK + "{\"mode\":\"consume\",\"ok\":false,\"count\":" + count + ",\"error\":\"end not reached\"}");
                    System.exit(4);
                }
                ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : rs) {
                    out("{\"t\":" + q(r.topic()) + ",\"p\":" + r.partition() + ",\"o\":" + r.offset() + ",\"v\":" + q(r.value()) + "}");
                    count++;
                }
            }
            StringBuilder ends = new StringBuilder("[");
            for (TopicPartition tp : tps) {
                if (ends.length() > 1) ends.append(',');
                ends.append("[").append(q(tp.topic())).append(',').append(tp.partition()).append(',').append(end.get(tp)).append(']');
            }
            if (o.containsKey("group")) {
                Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
                for (TopicPartition tp : tps) commit.put(tp, new OffsetAndMetadata(c.position(tp)));
                c.commitSync(commit);
            }
            out(MARK + "{\"mode\":\"consume\",\"ok\":true,\"count\":" + count + ",\"end\":" + ends.append(']') + "}");
        }
    }

    static boolean reached(KafkaConsumer<String, String> c, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (c.position(e.getKey()) < e.getValue()) return false;
        }
        return true;
    }

    // -- offsets ---------------------------------------------------------------------------------------

    static void offsets(Map<String, String> o) throws Exception {
        List<TopicPartition> tps = partitions(o);
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, req(o, "bootstrap"));
        try (Admin admin = Admin.create(p)) {
            Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
            for (TopicPartition tp : tps) ask.put(tp, OffsetSpec.latest());
            ListOffsetsResult rc = admin.listOffsets(ask, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED));
            ListOffsetsResult ru = admin.listOffsets(ask, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED));
            for (TopicPartition tp : tps) {
                out("{\"t\":" + q(tp.topic()) + ",\"p\":" + tp.partition() + ",\"read_committed\":"
                    + rc.partitionResult(tp).get().offset() + ",\"read_uncommitted\":" + ru.partitionResult(tp).get().offset() + "}");
            }
        }
        out(MARK + "{\"mode\":\"offsets\",\"ok\":true}");
    }

    // -- hold ------------------------------------------------------------------------------------------

    static void hold(Map<String, String> o) throws Exception {
        int per = Integer.parseInt(o.getOrDefault("per-partition", "1"));
        String name = o.getOrDefault("name", "held");
        List<TopicPartition> tps = partitions(o);
        KafkaProducer<String, String> producer = txnProducer(o, req(o, "txn-id"));
        producer.initTransactions();
        producer.beginTransaction();
        int j = 0;
        for (TopicPartition tp : tps) {
            for (int k = 0; k < per; k++) {
                producer.send(new ProducerRecord<>(tp.topic(), tp.partition(), name, name + "-" + j)).get();
                j++;
            }
        }
        out("@@held@@ {\"sent\":" + j + "}");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String cmd = in.readLine();
        String result;
        try {
            if ("commit".equals(cmd)) producer.commitTransaction();
            else producer.abortTransaction();
            result = "\"ok\"";
        } catch (Exception e) {
            result = q(err(e));
        }
        try {
            producer.close(Duration.ofSeconds(5));
        } catch (Exception e) {
            // the result is what counts
        }
        out(MARK + "{\"mode\":\"hold\",\"command\":" + q(cmd) + ",\"result\":" + result + "}");
    }

    // -- zombie ----------------------------------------------------------------------------------------

    static void zombie(Map<String, String> o) throws Exception {
        String txnId = req(o, "txn-id");
        String direct = zombieRound(o, txnId + "-commit", false);
        String afterSend = zombieRound(o, txnId + "-send", true);
        out(MARK + "{\"mode\":\"zombie\",\"commit_error\":" + direct + ",\"send_error\":" + afterSend + "}");
    }

    /** The zombie's error: on its commit (when {@code send} is false) or on its next send. */
    static String zombieRound(Map<String, String> o, String txnId, boolean send) throws Exception {
        TopicPartition tp = partitions(o).get(0);
        KafkaProducer<String, String> first = txnProducer(o, txnId);
        first.initTransactions();
        first.beginTransaction();
        first.send(new ProducerRecord<>(tp.topic(), tp.partition(), "zombie", "zombie-" + txnId)).get();
        KafkaProducer<String, String> second = txnProducer(o, txnId);
        second.initTransactions();  // bumps the epoch: the first producer is now a zombie
        String error = "null";
        try {
            if (send) first.send(new ProducerRecord<>(tp.topic(), tp.partition(), "zombie", "zombie-late-" + txnId)).get();
            first.commitTransaction();
        } catch (Exception e) {
            error = q(err(e));
        }
        second.beginTransaction();
        second.send(new ProducerRecord<>(tp.topic(), tp.partition(), "fencer", "fencer-" + txnId)).get();
        second.commitTransaction();
        try {
            first.close(Duration.ofSeconds(5));
        } catch (Exception e) {
            // closing a fenced producer may fail too
        }
        second.close(Duration.ofSeconds(5));
        return error;
    }

    // -- copy ------------------------------------------------------------------------------------------

    static int copy(Map<String, String> o) throws Exception {
        String input = req(o, "input");
        String output = req(o, "output");
        String group = req(o, "group");
        boolean subscribe = Boolean.parseBoolean(o.getOrDefault("subscribe", "false"));
        long sleepMs = Long.parseLong(o.getOrDefault("txn-sleep-ms", "0"));
        long txns = 0;
        KafkaProducer<String, String> producer = txnProducer(o, req(o, "txn-id"));
        if (subscribe) {
            // static membership: a restarted instance takes the killed one's place at once
            o.put("group-instance-id", req(o, "txn-id"));
        }
        KafkaConsumer<String, String> c = consumer(o, "read_committed", group);
        try {
            // fences an earlier instance and completes its open transaction before the offsets are read
            producer.initTransactions();
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor(input).forEach(pi -> tps.add(new TopicPartition(input, pi.partition())));
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            if (subscribe) {
                c.subscribe(List.of(input));
                while (c.assignment().size() < tps.size()) c.poll(Duration.ofMillis(100));  // records of it are read again below
                Map<TopicPartition, OffsetAndMetadata> committed = c.committed(new java.util.HashSet<>(tps), Duration.ofSeconds(30));
                for (TopicPartition tp : tps) {
                    OffsetAndMetadata om = committed.get(tp);
                    if (om == null) c.seekToBeginning(List.of(tp));
                    else c.seek(tp, om.offset());
                }
            } else {
                c.assign(tps);
                Map<TopicPartition, OffsetAndMetadata> committed = c.committed(new java.util.HashSet<>(tps), Duration.ofSeconds(30));
                for (TopicPartition tp : tps) {
                    OffsetAndMetadata om = committed.get(tp);
                    if (om == null) c.seekToBeginning(List.of(tp));
                    else c.seek(tp, om.offset());
                }
            }
            out("{\"start\":" + positions(c, tps) + "}");
            while (!reached(c, end)) {
                ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
                if (rs.isEmpty()) continue;
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : rs) {
                    producer.send(new ProducerRecord<>(output, r.partition(), r.key(), r.value()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                if (sleepMs > 0) Thread.sleep(sleepMs);
                // with subscribe(), the group's generation and member id fence a zombie (KIP-447)
                producer.sendOffsetsToTransaction(offsets, subscribe ? c.groupMetadata() : new ConsumerGroupMetadata(group));
                producer.commitTransaction();
                txns++;
            }
            out(MARK + "{\"mode\":\"copy\",\"ok\":true,\"txns\":" + txns + "}");
            return 0;
        } catch (Exception e) {
            out(MARK + "{\"mode\":\"copy\",\"ok\":false,\"txns\":" + txns + ",\"error\":" + q(err(e) + ": " + e.getMessage()) + "}");
            return 3;
        } finally {
            try {
                producer.close(Duration.ofSeconds(2));
                c.close(Duration.ofSeconds(2));
            } catch (Exception e) {
                // exiting anyway
            }
        }
    }

    static String positions(KafkaConsumer<String, String> c, Collection<TopicPartition> tps) {
        StringBuilder b = new StringBuilder("{");
        for (TopicPartition tp : tps) {
            if (b.length() > 1) b.append(',');
            b.append(q(String.valueOf(tp.partition()))).append(':').append(c.position(tp));
        }
        return b.append('}').toString();
    }
}
