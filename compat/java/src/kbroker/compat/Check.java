package kbroker.compat;

final class Check {
    private Check() {}

    static void that(boolean condition, String format, Object... args) {
        if (!condition) throw new AssertionError(String.format(format, args));
    }
}
