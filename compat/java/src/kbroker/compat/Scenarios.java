package kbroker.compat;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;

/** Producer and consumer scenarios. Each returns a one-line summary or throws. */
final class Scenarios {
    private Scenarios() {}

    /** The kafka-clients version on the class path, from the properties file inside its jar. */
    static String version() throws IOException {
        Properties p = new Properties();
        try (InputStream in = KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            Check.that(in != null, "kafka-version.properties not found in kafka-clients");
            p.load(in);
        }
        return "kafka-clients " + p.getProperty("version");
    }

    static String createTopic(Context ctx) throws Exception {
        try (Admin admin = Admin.create(ctx.adminProps())) {
            try {
                admin.createTopics(List.of(new NewTopic(ctx.topic, ctx.partitions, (short) 1))).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
            int n = admin.describeTopics(List.of(ctx.topic)).allTopicNames().get().get(ctx.topic).partitions().size();
            Check.that(n == ctx.partitions, "topic %s has %d partitions, wanted %d", ctx.topic, n, ctx.partitions);
        }
        return ctx.topic + " with " + ctx.partitions + " partitions";
    }

    /** --count records with the producer's default settings (idempotent, acks=all), to an empty topic. */
    static String produce(Context ctx) throws Exception {
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(ctx.consumerProps(null))) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < ctx.partitions; p++) tps.add(new TopicPartition(ctx.topic, p));
            long existing = c.endOffsets(tps, Duration.ofSeconds(30)).values().stream().mapToLong(x -> x).sum();
            Check.that(existing == 0, "topic %s already holds %d records; the scenarios need a fresh topic",
                    ctx.topic, existing);
        }
        AtomicInteger acked = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(ctx.producerProps())) {
            for (int i = 0; i < ctx.count; i++) {
                final int index = i;
                producer.send(new ProducerRecord<>(ctx.topic, ctx.key(i), Integer.toString(i)), (md, err) -> {
                    if (err != null) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, err);
                        return;
                    }
                    ctx.partitionOf[index] = md.partition();
                    ctx.offsetOf[index] = md.offset();
                    ctx.timestampOf[index] = md.timestamp();
                    acked.incrementAndGet();
                });
            }
            producer.flush();
        }
        if (ctx.ackedFile != null) writeAcked(ctx);
        if (firstError.get() != null) {
            throw new AssertionError(failed.get() + " of " + ctx.count + " sends failed", firstError.get());
        }
        Check.that(acked.get() == ctx.count, "%d of %d acknowledged", acked.get(), ctx.count);
        // Every acknowledged (partition, offset) distinct and, per partition, exactly 0..n-1 (a fresh topic
        // written by this producer only): no duplicate and no gap as the producer saw it.
        long[] perPartition = new long[ctx.partitions];
        Map<Long, Integer> seen = new HashMap<>();
        for (int i = 0; i < ctx.count; i++) {
            long slot = ((long) ctx.partitionOf[i] << 40) | ctx.offsetOf[i];
            Integer before = seen.put(slot, i);
            Check.that(before == null, "records %d and %d both acknowledged at %d/%d", before, i,
                    ctx.partitionOf[i], ctx.offsetOf[i]);
            perPartition[ctx.partitionOf[i]]++;
        }
        for (int i = 0; i < ctx.count; i++) {
            Check.that(ctx.offsetOf[i] < perPartition[ctx.partitionOf[i]], "gap: record %d at offset %d of partition %d"
                    + " which holds only %d", i, ctx.offsetOf[i], ctx.partitionOf[i], perPartition[ctx.partitionOf[i]]);
        }
        ctx.produced = true;
        List<Long> sizes = new ArrayList<>();
        for (long n : perPartition) sizes.add(n);
        return ctx.count + " acknowledged, per partition " + sizes;
    }

    private static void writeAcked(Context ctx) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(ctx.ackedFile)))) {
            for (int i = 0; i < ctx.count; i++) {
                if (ctx.offsetOf[i] >= 0) w.println(i);
            }
        }
    }

    /**
     * A consumer in a group reads and commits exactly --first-consumer records, then closes; a second
     * member of the same group resumes from the committed offsets (validated with OffsetForLeaderEpoch)
     * and reads the rest. Together: exactly --count records, none twice, per-key order kept.
     */
    static String consumeGroup(Context ctx) throws Exception {
        ctx.requireProduced();
        Seen seen = new Seen(ctx);
        int first = Math.min(ctx.firstConsumer, ctx.count);
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(ctx.consumerProps(ctx.group))) {
            c.subscribe(List.of(ctx.topic));
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (seen.count < first) {
                Check.that(System.nanoTime() < deadline, "first member read %d of %d in time", seen.count, first);
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    if (seen.count == first) break;
                    seen.add(r);
                    commit.put(new TopicPartition(r.topic(), r.partition()),
                            new OffsetAndMetadata(r.offset() + 1, r.leaderEpoch(), "java"));
                }
            }
            c.commitSync(commit);
        }
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(ctx.consumerProps(ctx.group))) {
            c.subscribe(List.of(ctx.topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (seen.count < ctx.count) {
                Check.that(System.nanoTime() < deadline, "group read %d of %d in time", seen.count, ctx.count);
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) seen.add(r);
            }
            long quiet = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (System.nanoTime() < quiet) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) seen.add(r);
            }
            c.commitSync();
            for (int p = 0; p < ctx.partitions; p++) {
                TopicPartition tp = new TopicPartition(ctx.topic, p);
                Check.that(c.position(tp) == seen.endOffset[p], "position of %s is %d, read up to %d", tp,
                        c.position(tp), seen.endOffset[p]);
            }
        }
        seen.checkComplete();
        return seen.count + " records in group " + ctx.group + " (" + first + " by a first member), none twice, "
                + "per-key order kept";
    }

    /** assign() + seekToBeginning, no group: the whole topic; then a seek into the middle. */
    static String consumeAssign(Context ctx) throws Exception {
        ctx.requireProduced();
        Seen seen = new Seen(ctx);
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < ctx.partitions; p++) tps.add(new TopicPartition(ctx.topic, p));
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(ctx.consumerProps(null))) {
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (seen.count < ctx.count) {
                Check.that(System.nanoTime() < deadline, "assign read %d of %d in time", seen.count, ctx.count);
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) seen.add(r);
            }
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) seen.add(r);
            seen.checkComplete();
            Map<TopicPartition, Long> begin = c.beginningOffsets(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            for (TopicPartition tp : tps) {
                Check.that(begin.get(tp) == 0, "beginningOffsets %s = %d", tp, begin.get(tp));
                Check.that(end.get(tp) == seen.endOffset[tp.partition()], "endOffsets %s = %d, read %d", tp,
                        end.get(tp), seen.endOffset[tp.partition()]);
            }
            // seek into the middle of a partition: the very record acknowledged there comes back
            int i = ctx.count / 2;
            TopicPartition tp = new TopicPartition(ctx.topic, ctx.partitionOf[i]);
            c.assign(List.of(tp));
            c.seek(tp, ctx.offsetOf[i]);
            ConsumerRecord<String, String> got = null;
            while (got == null) {
                Check.that(System.nanoTime() < deadline, "no record after seek");
                ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(500));
                if (!rs.isEmpty()) got = rs.records(tp).get(0);
            }
            Check.that(got.offset() == ctx.offsetOf[i] && got.value().equals(Integer.toString(i)),
                    "seek(%d) gave offset %d value %s, wanted record %d", ctx.offsetOf[i], got.offset(), got.value(), i);
        }
        return seen.count + " records with assign(), none twice, per-key order kept; seek and begin/end offsets agree";
    }

    /** What a consumer saw, checked against what the producer was told. */
    static final class Seen {
        final Context ctx;
        final boolean[] got;
        final int[] lastPerKey;
        final long[] endOffset;
        int count;
        int withoutEpoch;

        Seen(Context ctx) {
            this.ctx = ctx;
            got = new boolean[ctx.count];
            lastPerKey = new int[ctx.keys];
            java.util.Arrays.fill(lastPerKey, -1);
            endOffset = new long[ctx.partitions];
        }

        void add(ConsumerRecord<String, String> r) {
            int i = Integer.parseInt(r.value());
            Check.that(i >= 0 && i < ctx.count, "unexpected value %s", r.value());
            Check.that(!got[i], "record %d read twice (partition %d offset %d)", i, r.partition(), r.offset());
            Check.that(r.key().equals(ctx.key(i)), "record %d has key %s", i, r.key());
            Check.that(r.partition() == ctx.partitionOf[i] && r.offset() == ctx.offsetOf[i],
                    "record %d read at %d/%d, acknowledged at %d/%d", i, r.partition(), r.offset(),
                    ctx.partitionOf[i], ctx.offsetOf[i]);
            int k = i % ctx.keys;
            Check.that(lastPerKey[k] < i, "key %s: record %d after %d", r.key(), i, lastPerKey[k]);
            Optional<Integer> epoch = r.leaderEpoch();
            Check.that(epoch.isEmpty() || epoch.get() == 0, "record %d leader epoch %s", i, epoch);
            if (epoch.isEmpty()) withoutEpoch++;
            lastPerKey[k] = i;
            got[i] = true;
            endOffset[r.partition()] = Math.max(endOffset[r.partition()], r.offset() + 1);
            count++;
        }

        void checkComplete() {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < ctx.count && missing.size() < 5; i++) if (!got[i]) missing.add(i);
            Check.that(missing.isEmpty(), "%d of %d read; missing e.g. %s", count, ctx.count, missing);
            Check.that(withoutEpoch == 0, "%d records carried no leader epoch", withoutEpoch);
        }
    }
}
