package kbroker.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.PartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

/**
 * Moves partitions with the Java Admin's {@code alterPartitionReassignments} (which the client sends
 * to the controller) and waits with {@code listPartitionReassignments} until none of them is in
 * progress, then prints every moved partition's replicas from {@code describeTopics}.
 *
 * <pre>
 *   java -cp classes:jars/* kbroker.cluster.Reassign --bootstrap B --topic T --move P=R1,R2,R3 [--move ...]
 *        [--timeout-s 120]
 * </pre>
 *
 * The last stdout line is {@code @@reassign@@ {"P":[replicas],...}}; the exit status is 0 when every
 * reassignment was accepted and completed within the timeout.
 */
public final class Reassign {
    public static void main(String[] args) throws Exception {
        String bootstrap = null;
        String topic = null;
        long timeoutS = 120;
        Map<TopicPartition, Optional<NewPartitionReassignment>> moves = new HashMap<>();
        List<String> pending = new ArrayList<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = args[i + 1];
                case "--topic" -> topic = args[i + 1];
                case "--timeout-s" -> timeoutS = Long.parseLong(args[i + 1]);
                case "--move" -> pending.add(args[i + 1]);
                default -> throw new IllegalArgumentException("unexpected " + args[i]);
            }
        }
        if (bootstrap == null || topic == null || pending.isEmpty()) {
            throw new IllegalArgumentException("--bootstrap, --topic and at least one --move are required");
        }
        for (String m : pending) {
            String[] pr = m.split("=", 2);
            List<Integer> replicas = new ArrayList<>();
            for (String r : pr[1].split(",")) replicas.add(Integer.parseInt(r.trim()));
            moves.put(new TopicPartition(topic, Integer.parseInt(pr[0])),
                      Optional.of(new NewPartitionReassignment(replicas)));
        }
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
        try (Admin admin = Admin.create(p)) {
            admin.alterPartitionReassignments(moves).all().get();
            System.out.println("alterPartitionReassignments accepted for " + moves.keySet());
            long deadline = System.currentTimeMillis() + timeoutS * 1000;
            while (true) {
                Map<TopicPartition, PartitionReassignment> ongoing =
                        admin.listPartitionReassignments(Set.copyOf(moves.keySet())).reassignments().get();
                if (ongoing.isEmpty()) break;
                if (System.currentTimeMillis() > deadline) {
                    System.out.println("still in progress after " + timeoutS + " s: " + ongoing);
                    System.exit(1);
                }
                Thread.sleep(500);
            }
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            Map<Integer, List<Integer>> out = new TreeMap<>();
            for (TopicPartitionInfo info : d.partitions()) {
                if (moves.containsKey(new TopicPartition(topic, info.partition()))) {
                    List<Integer> ids = new ArrayList<>();
                    info.replicas().forEach(n -> ids.add(n.id()));
                    out.put(info.partition(), ids);
                }
            }
            StringBuilder sb = new StringBuilder("{");
            out.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":")
                    .append(v.toString().replace(" ", "")));
            System.out.println("@@reassign@@ " + sb.append('}'));
        }
    }
}
