package io.basalt.update.cli;

import io.basalt.host.HostPaths;
import io.basalt.host.UpdateConfKeys;
import io.basalt.update.agent.AgentMain;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.EtcdHealth;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The etcd line of {@code basaltctl status}: which cluster to look at, and its health. basaltctl
 * asks etcd itself rather than the agent, so the agent's status request never waits on etcd, and
 * the agent needs no change. Stateless and thread-safe.
 */
final class EtcdStatus {

  /** How long each phase of the check (member list, member status) may take. */
  static final Duration TIMEOUT = Duration.ofSeconds(2);

  /** The default client URL of a local member that advertises none. */
  static final String LOCAL = "http://127.0.0.1:2379";

  private static final Pattern ADVERTISE =
      Pattern.compile("^Environment=\"?ETCD_ADVERTISE_CLIENT_URLS=([^\"]*)\"?\\s*$");

  private EtcdStatus() {}

  /**
   * The health of the cluster this machine belongs to: the endpoints of update.conf's {@code
   * ETCD_ENDPOINTS} (or {@code LOCKSMITHD_ENDPOINT}) when it sets them, else the client URLs of the
   * local member cloud-config configured ({@link HostPaths#ETCD_MEMBER_DROP_IN}); null when neither
   * applies. A setting that cannot be read or used is a report with an error.
   */
  static EtcdHealth.Report probe(Path root, Duration timeout) {
    try {
      boolean configured = setsEndpoints(root);
      List<String> local = configured ? List.of() : localMember(root);
      if (!configured && local == null) {
        return null;
      }
      EtcdConfig fromConf = AgentMain.etcdConfig(root);
      EtcdConfig.Builder b = EtcdConfig.builder();
      if (configured) {
        fromConf.endpoints().forEach(u -> b.endpoint(u.toString()));
      } else {
        b.endpoints(local.isEmpty() ? LOCAL : String.join(",", local));
      }
      fromConf.caFile().ifPresent(b::caFile);
      if (fromConf.certFile().isPresent()) {
        b.clientCertificate(fromConf.certFile().get(), fromConf.keyFile().orElse(null));
      }
      if (fromConf.username().isPresent()) {
        b.credentials(fromConf.username().get(), fromConf.password());
      }
      return EtcdHealth.check(b.requestTimeout(timeout).build(), timeout);
    } catch (IOException | RuntimeException e) {
      String m = e.getMessage();
      return new EtcdHealth.Report(
          0, 0, null, false, e.getClass().getSimpleName() + (m == null ? "" : ": " + m));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new EtcdHealth.Report(0, 0, null, false, "interrupted");
    }
  }

  /** Whether either update.conf names the etcd endpoints. */
  private static boolean setsEndpoints(Path root) throws IOException {
    for (String p : List.of(HostPaths.UPDATE_CONF_DEFAULTS, HostPaths.UPDATE_CONF)) {
      String text;
      try {
        text = Files.readString(HostPaths.under(root, p), StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        continue;
      }
      for (String line : text.split("\\n")) {
        String key = UpdateConfKeys.keyOf(line);
        if (UpdateConfKeys.canonical(key).filter(UpdateConfKeys.ETCD_ENDPOINTS::equals).isPresent()
            && !line.substring(line.indexOf('=') + 1).isBlank()) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The advertised client URLs of the member cloud-config configured (empty: it advertises none),
   * or null when this machine runs no member configured by cloud-config.
   */
  private static List<String> localMember(Path root) throws IOException {
    String text;
    try {
      text =
          Files.readString(
              HostPaths.under(root, HostPaths.ETCD_MEMBER_DROP_IN), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (String line : text.split("\\n")) {
      Matcher m = ADVERTISE.matcher(line.strip());
      if (m.matches()) {
        for (String u : m.group(1).split(",")) {
          if (!u.isBlank()) {
            out.add(u.strip());
          }
        }
      }
    }
    return out;
  }
}
