// Produces N keyed records with two headers each to partition 0 of an existing topic (acks=all),
// reads them back with assign + seekToBeginning and prints "OK <n>" when every key, value and header
// came back in order, else "MISMATCH ..." and exits 1. Run as a single-file program:
//     java -cp '<kafka-clients jars>/*' tests/java/VersionRoundTrip.java BOOTSTRAP TOPIC N
// Used by tests/foreign/test_client_versions.py (each kafka-clients release against kbroker).

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class VersionRoundTrip {
    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return b == null ? "null" : new String(b, StandardCharsets.UTF_8); }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int n = Integer.parseInt(args[2]);
        Properties pp = new Properties();
        pp.put("bootstrap.servers", bootstrap);
        pp.put("acks", "all");
        pp.put("key.serializer", ByteArraySerializer.class.getName());
        pp.put("value.serializer", ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
            for (int i = 0; i < n; i++) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, 0, b("k" + i), b("v" + i));
                r.headers().add("h1", b("a" + i)).add("h2", b("b" + i));
                p.send(r).get();
            }
        }
        Properties cp = new Properties();
        cp.put("bootstrap.servers", bootstrap);
        cp.put("enable.auto.commit", "false");
        cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
        cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
        TopicPartition tp = new TopicPartition(topic, 0);
        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.currentTimeMillis() + 60_000;
            while (got.size() < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) got.add(r);
            }
        }
        if (got.size() != n) { System.out.println("MISMATCH count " + got.size() + " != " + n); System.exit(1); }
        for (int i = 0; i < n; i++) {
            ConsumerRecord<byte[], byte[]> r = got.get(i);
            List<String> hs = new ArrayList<>();
            for (Header h : r.headers()) hs.add(h.key() + "=" + s(h.value()));
            String want = i + " k" + i + " v" + i + " [h1=a" + i + ", h2=b" + i + "]";
            String have = r.offset() + " " + s(r.key()) + " " + s(r.value()) + " " + hs;
            if (!want.equals(have)) { System.out.println("MISMATCH " + have + " != " + want); System.exit(1); }
        }
        System.out.println("OK " + n);
    }
}
