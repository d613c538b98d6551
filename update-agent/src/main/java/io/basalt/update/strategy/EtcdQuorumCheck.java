package io.basalt.update.strategy;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdHealth;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Refuses the reboot lock while this machine's reboot would cost the etcd cluster its quorum. Which
 * members are healthy is {@link EtcdHealth}'s answer (each phase bounded by the client's request
 * timeout); here only the voting members count. With {@code n} voting members the quorum is {@code
 * n/2+1} (etcd's raft majority). The machine waits when fewer than a quorum are healthy now, and
 * when it is itself a healthy member of a cluster of three or more and the others alone would be
 * fewer than a quorum. A cluster of one or two members loses its quorum with any member's reboot
 * whatever the agent does; refusing would stop updates for good, so there only the first rule
 * applies. An etcd that cannot be asked means wait. Which member is this machine: the one whose
 * client or peer URL has one of {@link Self#addresses} as host (loopback URLs are ignored: every
 * machine has those), or whose name or URL host is {@link Self#hostname}. Not thread-safe (one
 * agent loop).
 */
public final class EtcdQuorumCheck implements ClusterGuard {

  /**
   * Who this machine is.
   *
   * @param hostname its host name (an etcd member's {@code --name} is often the host name)
   * @param addresses its non-loopback IP addresses
   */
  public record Self(String hostname, Set<InetAddress> addresses) {}

  private final EtcdClient etcd;
  private final Self self;

  /**
   * @param etcd a client of the cluster (any of its endpoints)
   * @param self this machine's host name and addresses
   */
  public EtcdQuorumCheck(EtcdClient etcd, Self self) {
    this.etcd = etcd;
    this.self = self;
  }

  @Override
  public Optional<String> beforeLock() {
    EtcdHealth.Report health;
    try {
      health = EtcdHealth.check(etcd, etcd.config().requestTimeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("etcd quorum check: interrupted; not rebooting");
    }
    if (health.error() != null) {
      return Optional.of(
          "etcd quorum check: cannot list the members (" + health.error() + "); not rebooting");
    }
    List<EtcdHealth.MemberHealth> voting =
        health.each().stream().filter(m -> !m.member().learner()).toList();
    if (voting.isEmpty()) {
      return Optional.of("etcd quorum check: the member list is empty; not rebooting");
    }
    int n = voting.size();
    int quorum = n / 2 + 1;
    int healthy = 0;
    List<String> problems = new ArrayList<>();
    EtcdHealth.MemberHealth me = null;
    for (EtcdHealth.MemberHealth m : voting) {
      if (m.healthy()) {
        healthy++;
      } else {
        problems.add(m.label() + " " + m.problem());
      }
      if (me == null && isSelf(m.member())) {
        me = m;
      }
    }
    String counts =
        "etcd: "
            + healthy
            + " of "
            + n
            + " members healthy"
            + (problems.isEmpty() ? "" : " (" + String.join("; ", problems) + ")");
    if (healthy < quorum) {
      return Optional.of(counts + "; quorum is " + quorum + ": the cluster has no quorum now");
    }
    if (me != null && me.healthy() && n >= 3 && healthy - 1 < quorum) {
      return Optional.of(
          counts
              + "; rebooting "
              + me.label()
              + " would leave "
              + (healthy - 1)
              + ", quorum is "
              + quorum);
    }
    return Optional.empty();
  }

  /** Whether member {@code m} runs on this machine. */
  boolean isSelf(EtcdClient.Member m) {
    String host = self.hostname() == null ? "" : self.hostname().toLowerCase(Locale.ROOT);
    if (!host.isEmpty() && m.name().toLowerCase(Locale.ROOT).equals(host)) {
      return true;
    }
    List<String> urls = new ArrayList<>(m.clientUrls());
    urls.addAll(m.peerUrls());
    for (String u : urls) {
      String h;
      try {
        h = URI.create(u).getHost();
      } catch (IllegalArgumentException e) {
        continue;
      }
      if (h == null) {
        continue;
      }
      h = h.toLowerCase(Locale.ROOT);
      if (h.startsWith("[") && h.endsWith("]")) {
        h = h.substring(1, h.length() - 1);
      }
      if (!host.isEmpty() && (h.equals(host) || h.startsWith(host + "."))) {
        return true;
      }
      if (isIpLiteral(h)) {
        try {
          InetAddress a = InetAddress.getByName(h); // a literal: no lookup
          if (!a.isLoopbackAddress() && self.addresses().contains(a)) {
            return true;
          }
        } catch (UnknownHostException e) {
          // not a literal after all
        }
      }
    }
    return false;
  }

  private static boolean isIpLiteral(String h) {
    return h.contains(":") || h.matches("[0-9.]+");
  }
}
