// Reads partition 0 of a topic from its beginning to its end offset with the Java consumer (assign,
// seekToBeginning, auto.offset.reset=none, small fetches) and prints "offset<TAB>key hex<TAB>value
// hex or -" per record, then "END<TAB>position". Run as a single-file program:
//     java -cp '<kafka-clients jars>/*' tests/java/CompactedRead.java BOOTSTRAP TOPIC
// Used by tests/foreign/test_compaction.py to check that a compacted log (gaps, empty batches) reads right.

import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class CompactedRead {
    public static void main(String[] args) {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "none");
        p.put("max.partition.fetch.bytes", "4096");
        TopicPartition tp = new TopicPartition(args[1], 0);
        HexFormat hex = HexFormat.of();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            StringBuilder out = new StringBuilder();
            while (c.position(tp) < end) {
                if (System.nanoTime() > deadline) {
                    System.err.println("timed out at position " + c.position(tp) + " of " + end);
                    System.exit(2);
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    out.append(r.offset()).append('\t').append(hex.formatHex(r.key())).append('\t')
                       .append(r.value() == null ? "-" : hex.formatHex(r.value())).append('\n');
                }
            }
            System.out.print(out);
            System.out.println("END\t" + c.position(tp));
        }
    }
}
