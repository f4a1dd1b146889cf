import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** A transactional producer against the broker at args[0] (transactional id args[1], topic args[2]):
 *  initTransactions, a committed transaction of "c0".."c2", an aborted one of "a0","a1", a committed
 *  "c3"; prints "OK", or "FAILED\t<exception class>\t<messages of the causes>", and exits 0 either way. */
public class TxnRun {
    public static void main(String[] args) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args[1]);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        String topic = args[2];
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < 3; i++) producer.send(new ProducerRecord<>(topic, ("c" + i).getBytes()));
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < 2; i++) producer.send(new ProducerRecord<>(topic, ("a" + i).getBytes()));
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "c3".getBytes()));
            producer.commitTransaction();
            System.out.println("OK");
        } catch (Exception e) {
            StringBuilder msg = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) msg.append(t.getClass().getName()).append(": ").append(t.getMessage()).append(" | ");
            System.out.println("FAILED\t" + e.getClass().getName() + "\t" + msg);
        }
    }
}
