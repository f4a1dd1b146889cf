// Prints the authorized operations the Java Admin reads for a topic (describeTopics, which uses
// DescribeTopicPartitions or Metadata) and for the cluster (describeCluster), one line each:
//     TOPIC<TAB>op,op,...   CLUSTER<TAB>op,op,...   (sorted names; "null" when the broker gave none)
// Run as a single-file program:
//     java -cp '<kafka-clients jars>/*' tests/java/AuthorizedOps.java BOOTSTRAP TOPIC
// Used by tests/foreign/test_authorized_operations.py.

import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.common.acl.AclOperation;

public class AuthorizedOps {
    static String names(Set<AclOperation> ops) {
        if (ops == null) return "null";
        TreeSet<String> s = new TreeSet<>();
        for (AclOperation op : ops) s.add(op.name());
        return String.join(",", s);
    }

    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", args[0]);
        try (Admin a = Admin.create(p)) {
            var t = a.describeTopics(List.of(args[1]), new DescribeTopicsOptions().includeAuthorizedOperations(true))
                .allTopicNames().get().get(args[1]);
            System.out.println("TOPIC\t" + names(t.authorizedOperations()));
            var plain = a.describeTopics(List.of(args[1])).allTopicNames().get().get(args[1]);
            System.out.println("TOPIC_UNASKED\t" + names(plain.authorizedOperations()));
            var c = a.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true));
            System.out.println("CLUSTER\t" + names(c.authorizedOperations().get()));
            System.out.println("CLUSTER_UNASKED\t" + names(a.describeCluster().authorizedOperations().get()));
        }
    }
}
