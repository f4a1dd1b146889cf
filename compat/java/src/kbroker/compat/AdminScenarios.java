package kbroker.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Admin client scenarios. */
final class AdminScenarios {
    private AdminScenarios() {}

    /**
     * listOffsets earliest / latest / by timestamp / max timestamp on the produced topic, checked against
     * the offsets and timestamps the producer was acknowledged with (which the consumers confirmed), and
     * against the consumer's own offsetsForTimes.
     */
    static String offsets(Context ctx) throws Exception {
        ctx.requireProduced();
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < ctx.partitions; p++) tps.add(new TopicPartition(ctx.topic, p));
        long[] size = new long[ctx.partitions];
        long[] maxTs = new long[ctx.partitions];
        long[] maxTsOffset = new long[ctx.partitions];
        java.util.Arrays.fill(maxTs, Long.MIN_VALUE);
        for (int i = 0; i < ctx.count; i++) {
            int p = ctx.partitionOf[i];
            size[p]++;
            long ts = ctx.timestampOf[i];
            if (ts > maxTs[p] || (ts == maxTs[p] && ctx.offsetOf[i] < maxTsOffset[p])) {
                maxTs[p] = ts;
                maxTsOffset[p] = ctx.offsetOf[i];
            }
        }
        long target = ctx.timestampOf[ctx.count / 2];
        long[] firstAtOrAfter = new long[ctx.partitions];
        long[] firstTs = new long[ctx.partitions];
        java.util.Arrays.fill(firstAtOrAfter, Long.MAX_VALUE);
        for (int i = 0; i < ctx.count; i++) {
            int p = ctx.partitionOf[i];
            if (ctx.timestampOf[i] >= target && ctx.offsetOf[i] < firstAtOrAfter[p]) {
                firstAtOrAfter[p] = ctx.offsetOf[i];
                firstTs[p] = ctx.timestampOf[i];
            }
        }
        try (Admin admin = Admin.create(ctx.adminProps())) {
            Map<TopicPartition, ListOffsetsResultInfo> earliest = list(admin, tps, OffsetSpec.earliest());
            Map<TopicPartition, ListOffsetsResultInfo> latest = list(admin, tps, OffsetSpec.latest());
            Map<TopicPartition, ListOffsetsResultInfo> byTime = list(admin, tps, OffsetSpec.forTimestamp(target));
            Map<TopicPartition, ListOffsetsResultInfo> max = list(admin, tps, OffsetSpec.maxTimestamp());
            for (TopicPartition tp : tps) {
                int p = tp.partition();
                Check.that(earliest.get(tp).offset() == 0, "earliest %s = %d", tp, earliest.get(tp).offset());
                Check.that(latest.get(tp).offset() == size[p], "latest %s = %d, %d records acknowledged", tp,
                        latest.get(tp).offset(), size[p]);
                Check.that(latest.get(tp).leaderEpoch().equals(Optional.of(0)), "latest %s epoch %s", tp,
                        latest.get(tp).leaderEpoch());
                long want = firstAtOrAfter[p] == Long.MAX_VALUE ? -1 : firstAtOrAfter[p];
                Check.that(byTime.get(tp).offset() == want, "forTimestamp(%d) %s = %d, wanted %d", target, tp,
                        byTime.get(tp).offset(), want);
                if (want >= 0) {
                    Check.that(byTime.get(tp).timestamp() == firstTs[p], "forTimestamp %s timestamp %d, wanted %d",
                            tp, byTime.get(tp).timestamp(), firstTs[p]);
                }
                Check.that(max.get(tp).timestamp() == maxTs[p] && max.get(tp).offset() == maxTsOffset[p],
                        "maxTimestamp %s = %d@%d, wanted %d@%d", tp, max.get(tp).timestamp(), max.get(tp).offset(),
                        maxTs[p], maxTsOffset[p]);
            }
        }
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(ctx.consumerProps(null))) {
            Map<TopicPartition, Long> query = new HashMap<>();
            for (TopicPartition tp : tps) query.put(tp, target);
            Map<TopicPartition, OffsetAndTimestamp> found = c.offsetsForTimes(query, Duration.ofSeconds(30));
            for (TopicPartition tp : tps) {
                long want = firstAtOrAfter[tp.partition()];
                OffsetAndTimestamp got = found.get(tp);
                Check.that(want == Long.MAX_VALUE ? got == null : got != null && got.offset() == want,
                        "consumer offsetsForTimes %s = %s, wanted %d", tp, got, want);
            }
        }
        return "earliest, latest, forTimestamp(" + target + "), maxTimestamp agree with the acknowledged offsets";
    }

    private static Map<TopicPartition, ListOffsetsResultInfo> list(Admin admin, List<TopicPartition> tps,
                                                                   OffsetSpec spec) throws Exception {
        Map<TopicPartition, OffsetSpec> req = new HashMap<>();
        for (TopicPartition tp : tps) req.put(tp, spec);
        return admin.listOffsets(req).all().get();
    }

    /** describeCluster; create (also validate-only and a duplicate), describe by name and id, describe
     * configs of the topic and the broker, add partitions, delete. */
    static String topics(Context ctx) throws Exception {
        String name = ctx.topic + "-admin";
        try (Admin admin = Admin.create(ctx.adminProps())) {
            DescribeClusterResult cluster = admin.describeCluster();
            Collection<Node> nodes = cluster.nodes().get();
            Node controller = cluster.controller().get();
            String clusterId = cluster.clusterId().get();
            Check.that(nodes.size() == 1 && controller != null && clusterId != null && !clusterId.isEmpty(),
                    "describeCluster: nodes %s controller %s id %s", nodes, controller, clusterId);
            int node = nodes.iterator().next().id();

            Map<String, String> configs = Map.of("retention.ms", "3600000", "max.message.bytes", "200000");
            admin.createTopics(List.of(new NewTopic(name + "-dry", 2, (short) 1)),
                    new CreateTopicsOptions().validateOnly(true)).all().get();
            admin.createTopics(List.of(new NewTopic(name, 3, (short) 1).configs(configs))).all().get();
            try {
                admin.createTopics(List.of(new NewTopic(name, 3, (short) 1))).all().get();
                throw new AssertionError("creating " + name + " twice succeeded");
            } catch (ExecutionException e) {
                Check.that(e.getCause() instanceof TopicExistsException, "second create: %s", e.getCause());
            }
            Set<String> names = admin.listTopics().names().get();
            Check.that(names.contains(name) && !names.contains(name + "-dry"), "listTopics: %s", names);

            TopicDescription d = admin.describeTopics(List.of(name)).allTopicNames().get().get(name);
            Check.that(d.partitions().size() == 3, "describeTopics: %s", d);
            for (TopicPartitionInfo p : d.partitions()) {
                Check.that(p.leader() != null && p.leader().id() == node && p.replicas().size() == 1
                        && p.isr().size() == 1, "partition %s", p);
            }
            Uuid id = d.topicId();
            Check.that(id != null && !id.equals(Uuid.ZERO_UUID), "topic id %s", id);
            TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get()
                    .get(id);
            Check.that(byId.name().equals(name), "describeTopics by id: %s", byId);

            ConfigResource topicRes = new ConfigResource(ConfigResource.Type.TOPIC, name);
            ConfigResource brokerRes = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node));
            Map<ConfigResource, Config> described = admin.describeConfigs(List.of(topicRes, brokerRes)).all().get();
            Config tc = described.get(topicRes);
            Check.that("3600000".equals(tc.get("retention.ms").value()), "retention.ms = %s", tc.get("retention.ms"));
            Check.that("200000".equals(tc.get("max.message.bytes").value()), "max.message.bytes = %s",
                    tc.get("max.message.bytes"));
            Check.that("delete".equals(tc.get("cleanup.policy").value()), "cleanup.policy = %s",
                    tc.get("cleanup.policy"));
            Config bc = described.get(brokerRes);
            Check.that(bc.get("num.partitions") != null, "broker configs lack num.partitions: %s", bc);

            admin.createPartitions(Map.of(name, NewPartitions.increaseTo(4))).all().get();
            d = admin.describeTopics(List.of(name)).allTopicNames().get().get(name);
            Check.that(d.partitions().size() == 4, "after createPartitions: %d", d.partitions().size());

            admin.deleteTopics(List.of(name)).all().get();
            names = admin.listTopics().names().get();
            Check.that(!names.contains(name), "still listed after delete: %s", names);
            try {
                admin.describeTopics(List.of(name)).allTopicNames().get();
                throw new AssertionError("describing a deleted topic succeeded");
            } catch (ExecutionException e) {
                Check.that(e.getCause() instanceof UnknownTopicOrPartitionException, "describe deleted: %s",
                        e.getCause());
            }
        }
        return "describeCluster; create (validate-only, duplicate), list, describe by name and id, "
                + "describeConfigs (topic, broker), createPartitions, delete";
    }

    /**
     * listConsumerGroups / describeConsumerGroups / listConsumerGroupOffsets for the group the
     * consume-group scenario used (now empty, offsets committed at the end of each partition), and for a
     * live group with one member, which is then deleted.
     */
    @SuppressWarnings("deprecation") // state() and listConsumerGroups() are deprecated in 4.x, not in 3.9
    static String groups(Context ctx) throws Exception {
        ctx.requireProduced();
        String live = ctx.group + "-live";
        try (Admin admin = Admin.create(ctx.adminProps())) {
            List<String> listed = new ArrayList<>();
            for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) listed.add(g.groupId());
            Check.that(listed.contains(ctx.group), "listConsumerGroups: %s", listed);

            ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(ctx.group)).all().get().get(ctx.group);
            Check.that(g.members().isEmpty() && g.state().name().equals("EMPTY"), "describe %s: %s", ctx.group, g);

            long[] size = new long[ctx.partitions];
            for (int i = 0; i < ctx.count; i++) size[ctx.partitionOf[i]]++;
            Map<TopicPartition, OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets(ctx.group).partitionsToOffsetAndMetadata().get();
            for (int p = 0; p < ctx.partitions; p++) {
                OffsetAndMetadata o = committed.get(new TopicPartition(ctx.topic, p));
                Check.that(o != null && o.offset() == size[p], "committed %d: %s, wanted %d", p, o, size[p]);
                Check.that(o.leaderEpoch().equals(Optional.of(0)), "committed %d leader epoch %s", p, o.leaderEpoch());
            }

            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(ctx.consumerProps(live))) {
                c.subscribe(List.of(ctx.topic));
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (c.assignment().isEmpty()) {
                    Check.that(System.nanoTime() < deadline, "live member got no assignment");
                    c.poll(Duration.ofMillis(200));
                }
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(live)).all().get().get(live);
                Check.that(d.state().name().equals("STABLE") && d.members().size() == 1,
                        "live group: %s", d);
                int assigned = d.members().iterator().next().assignment().topicPartitions().size();
                Check.that(assigned == ctx.partitions, "live member holds %d partitions", assigned);
                Check.that(d.coordinator() != null && d.partitionAssignor() != null && !d.partitionAssignor().isEmpty(),
                        "coordinator %s assignor %s", d.coordinator(), d.partitionAssignor());
            }
            ConsumerGroupDescription after = admin.describeConsumerGroups(List.of(live)).all().get().get(live);
            Check.that(after.state().name().equals("EMPTY"), "after close: %s", after);
            admin.deleteConsumerGroups(List.of(live)).all().get();
            listed.clear();
            for (ConsumerGroupListing l : admin.listConsumerGroups().all().get()) listed.add(l.groupId());
            Check.that(!listed.contains(live) && listed.contains(ctx.group), "after delete: %s", listed);
        }
        return "list/describe groups (empty and live), committed offsets with leader epochs, delete group";
    }
}
