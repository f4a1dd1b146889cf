package kbroker.compat;

import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Options, and what the produce scenario learnt: where each record went (the reference). */
final class Context {
    final String bootstrap;
    final String topic;
    final int partitions;
    final int count;
    final int keys;
    final String group;
    final int firstConsumer;
    final String ackedFile;

    /** Per record index: partition, offset and timestamp as acknowledged (-1 until acknowledged). */
    final int[] partitionOf;
    final long[] offsetOf;
    final long[] timestampOf;
    boolean produced;

    Context(Map<String, String> opts) {
        bootstrap = required(opts, "bootstrap");
        topic = opts.getOrDefault("topic", "java-e2e");
        partitions = Integer.parseInt(opts.getOrDefault("partitions", "6"));
        count = Integer.parseInt(opts.getOrDefault("count", "100000"));
        keys = Integer.parseInt(opts.getOrDefault("keys", "1000"));
        group = opts.getOrDefault("group", "java-group");
        firstConsumer = Integer.parseInt(opts.getOrDefault("first-consumer", "40000"));
        ackedFile = opts.get("acked-file");
        partitionOf = new int[count];
        offsetOf = new long[count];
        timestampOf = new long[count];
        Arrays.fill(partitionOf, -1);
        Arrays.fill(offsetOf, -1);
    }

    private static String required(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null) throw new IllegalArgumentException("--" + key + " is required");
        return v;
    }

    String key(int i) {
        return "key-" + (i % keys);
    }

    /** Only what a producer must be told: the defaults (idempotence, acks=all) stay as they are. */
    Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return p;
    }

    Properties consumerProps(String groupId) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (groupId != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        }
        return p;
    }

    Properties adminProps() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return p;
    }

    void requireProduced() {
        if (!produced) throw new IllegalStateException("run the 'produce' scenario first");
    }
}
