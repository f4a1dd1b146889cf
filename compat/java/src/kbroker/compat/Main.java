package kbroker.compat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Java client scenarios against a kbroker, several in one JVM (the JVM start is the slow part).
 *
 * <pre>
 *   java -cp classes:jars/* kbroker.compat.Main --bootstrap 127.0.0.1:9092 [--option value ...] SCENARIO...
 * </pre>
 *
 * Scenarios run in the order given and share what they learn (the produce scenario's acknowledged
 * offsets are what the consumers and Admin are checked against). Each prints one line
 * {@code @@java-result@@ {"scenario": ..., "ok": true|false, "detail": ...}}; the exit status is 0
 * only if every scenario passed. Options (defaults in brackets): --topic [java-e2e], --partitions [6],
 * --count [100000], --keys [1000], --group [java-group], --first-consumer [40000],
 * --acked-file [none]: where "produce" writes the indices it saw acknowledged, one per line.
 */
public final class Main {
    static final String MARK = "@@java-result@@ ";

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        List<String> scenarios = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + args[i]);
                opts.put(args[i].substring(2), args[++i]);
            } else {
                scenarios.add(args[i]);
            }
        }
        Context ctx = new Context(opts);
        boolean allOk = true;
        for (String name : scenarios) {
            long start = System.nanoTime();
            String detail;
            boolean ok;
            try {
                detail = run(ctx, name);
                ok = true;
            } catch (Throwable t) {
                ok = false;
                detail = describe(t);
                t.printStackTrace(System.err);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            allOk &= ok;
            System.out.println(MARK + "{\"scenario\": " + json(name) + ", \"ok\": " + ok + ", \"seconds\": "
                    + String.format("%.2f", seconds) + ", \"detail\": " + json(detail) + "}");
            System.out.flush();
        }
        System.exit(allOk ? 0 : 1);
    }

    static String run(Context ctx, String name) throws Exception {
        switch (name) {
            case "version": return Scenarios.version();
            case "create-topic": return Scenarios.createTopic(ctx);
            case "produce": return Scenarios.produce(ctx);
            case "consume-group": return Scenarios.consumeGroup(ctx);
            case "consume-assign": return Scenarios.consumeAssign(ctx);
            case "admin-offsets": return AdminScenarios.offsets(ctx);
            case "admin-topics": return AdminScenarios.topics(ctx);
            case "admin-groups": return AdminScenarios.groups(ctx);
            default: throw new IllegalArgumentException("unknown scenario " + name);
        }
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (sb.length() > 0) sb.append(" <- ");
            sb.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
            if (c.getCause() == c) break;
        }
        return sb.toString();
    }

    static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }
}
