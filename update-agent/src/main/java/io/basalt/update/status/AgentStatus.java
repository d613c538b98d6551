package io.basalt.update.status;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A snapshot of the update agent's state as {@code basaltctl status} shows it. Immutable.
 *
 * @param state one of idle, disabled, checking, up-to-date, downloading, installing,
 *     reboot-pending, rebooting, error
 * @param progress 0–100 during downloading/installing, else -1
 * @param fallback the other slot's entry ({@code VERSION (SLOT, state)}), or null
 * @param fetchBytes bytes of the new USR image the delta update downloads, or -1 (no delta planned)
 * @param reuseBytes bytes of the new USR image the delta update takes from this machine, or -1
 */
public record AgentStatus(
    String version,
    String slot,
    String channel,
    String strategy,
    String state,
    int progress,
    String lastCheck,
    String lastError,
    String message,
    String available,
    String fallback,
    List<String> failedVersions,
    long fetchBytes,
    long reuseBytes) {

  /** The status as a JSON-ready map with a fixed key order. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("version", version);
    m.put("slot", slot);
    m.put("channel", channel);
    m.put("strategy", strategy);
    m.put("state", state);
    m.put("progress", progress);
    m.put("lastCheck", lastCheck);
    m.put("lastError", lastError);
    m.put("message", message);
    m.put("available", available);
    m.put("fallback", fallback);
    m.put("failedVersions", failedVersions);
    m.put("fetchBytes", fetchBytes);
    m.put("reuseBytes", reuseBytes);
    return m;
  }

  /** Reads the map form back. */
  @SuppressWarnings("unchecked")
  public static AgentStatus fromMap(Map<String, Object> m) {
    Object p = m.get("progress");
    return new AgentStatus(
        str(m, "version"),
        str(m, "slot"),
        str(m, "channel"),
        str(m, "strategy"),
        str(m, "state"),
        p instanceof Number n ? n.intValue() : -1,
        str(m, "lastCheck"),
        str(m, "lastError"),
        str(m, "message"),
        str(m, "available"),
        str(m, "fallback"),
        m.get("failedVersions") instanceof List<?> l ? (List<String>) l : List.of(),
        m.get("fetchBytes") instanceof Number f ? f.longValue() : -1,
        m.get("reuseBytes") instanceof Number r ? r.longValue() : -1);
  }

  private static String str(Map<String, Object> m, String k) {
    Object v = m.get(k);
    return v == null ? null : v.toString();
  }

  /** Human-readable lines. */
  public String render() {
    StringBuilder b = new StringBuilder();
    line(b, "Version", version + (slot == null ? " (live)" : " (slot " + slot + ")"));
    line(b, "Fallback", fallback == null ? "none" : fallback);
    line(b, "Channel", channel);
    line(b, "Strategy", strategy);
    line(b, "State", state + (progress >= 0 ? " " + progress + "%" : ""));
    if (available != null) {
      line(b, "Available", available);
    }
    if (fetchBytes >= 0) {
      line(
          b,
          "Transfer",
          String.format(
              Locale.ROOT,
              "delta: fetch %,d bytes, reuse %,d bytes (%.1f %% fetched)",
              fetchBytes,
              reuseBytes,
              100.0 * fetchBytes / Math.max(1, fetchBytes + reuseBytes)));
    }
    line(b, "Last check", lastCheck == null ? "never" : lastCheck);
    if (message != null) {
      line(b, "Message", message);
    }
    line(b, "Last error", lastError == null ? "none" : lastError);
    if (!failedVersions.isEmpty()) {
      line(b, "Failed", String.join(", ", failedVersions));
    }
    return b.toString();
  }

  private static void line(StringBuilder b, String k, String v) {
    b.append(String.format(Locale.ROOT, "%-11s %s%n", k + ":", v));
  }
}
