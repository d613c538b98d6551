package io.basalt.cloudconfig.render;

import io.basalt.cloudconfig.CloudConfig;
import io.basalt.host.UpdateConfKeys;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The update agent's configuration from {@code coreos.update} and {@code coreos.locksmith}: {@code
 * KEY=VALUE} lines in /etc/basalt/update.conf with CoreOS's key names (REBOOT_STRATEGY, GROUP,
 * SERVER, LOCKSMITHD_*; the schema is {@link UpdateConfKeys}), merged into the existing file so the
 * operator's other lines stay. Stateless and thread-safe.
 */
final class UpdateConf {

  private UpdateConf() {}

  /** The keys the config sets, in a fixed order; CoreOS's best-effort strategy is mapped. */
  static Map<String, String> settings(CloudConfig config) {
    Map<String, String> out = new LinkedHashMap<>(config.coreos().update());
    String strategy = out.get(UpdateConfKeys.REBOOT_STRATEGY);
    if ("best-effort".equals(strategy)) {
      boolean etcd =
          config.coreos().locksmith().containsKey("LOCKSMITHD_ENDPOINT")
              || !config.coreos().etcd2().isEmpty();
      out.put(UpdateConfKeys.REBOOT_STRATEGY, etcd ? "etcd-lock" : "reboot");
    }
    out.putAll(config.coreos().locksmith());
    return out;
  }

  /**
   * {@code existing} with the lines of {@code wanted}'s settings replaced (first one) or appended.
   * A line counts as the same setting under its native name or its CoreOS alias ({@link
   * UpdateConfKeys#canonical}), so the result never names one setting twice.
   */
  static String merge(String existing, Map<String, String> wanted) {
    return UpdateConfKeys.merge(existing, wanted);
  }

  /** Whether {@code content} has a line whose key names a credential (written 0600 then). */
  static boolean holdsCredential(String content) {
    return content.lines().map(UpdateConfKeys::keyOf).anyMatch(UpdateConfKeys::isCredential);
  }
}
