import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Calls initTransactions() once against the broker at args[0]; prints "FAILED\t<exception class>\t<message>"
 *  (with the causes' messages) or "OK", and exits 0 either way (a hang is ended by max.block.ms). */
public class TxnInit {
    public static void main(String[] args) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args[1]);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            System.out.println("OK");
        } catch (Exception e) {
            StringBuilder msg = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) msg.append(t.getClass().getName()).append(": ").append(t.getMessage()).append(" | ");
            System.out.println("FAILED\t" + e.getClass().getName() + "\t" + msg);
        }
    }
}
