package io.basalt.update.lock;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Which members of an etcd cluster are healthy, the one definition that {@code basaltctl status}
 * and the agent's quorum check share: the member list from whichever endpoint answers first, then
 * each member's own status ({@code /v3/maintenance/status} at its client URLs), all asked in
 * parallel through an {@link EtcdClient}, each of the two phases within a bounded time. A member is
 * healthy when it answers, reports no error (an alarm such as NOSPACE), follows a leader, and that
 * leader answered healthy too (right after a leader dies the others still name it until they elect
 * another). Never throws for an unreachable or refusing cluster: that is a {@link Report} with an
 * error. Stateless and thread-safe.
 */
public final class EtcdHealth {

  /** How the error of a cluster that no endpoint answered for starts. */
  public static final String NO_ANSWER = "no etcd endpoint answered";

  private EtcdHealth() {}

  /**
   * One member and its health.
   *
   * @param member the member as the member list gives it (id, name, client and peer URLs, learner)
   * @param problem why it is not healthy (for example {@code unreachable}, {@code has no leader},
   *     {@code reports NOSPACE}), or null when it is healthy
   */
  public record MemberHealth(EtcdClient.Member member, String problem) {

    /** Whether the member is healthy. */
    public boolean healthy() {
      return problem == null;
    }

    /** How messages name the member: its name, or {@code member <id in hex>} without one. */
    public String label() {
      return EtcdHealth.label(member);
    }
  }

  /**
   * What {@link #check} found.
   *
   * @param members members in the cluster's member list (0 when no endpoint answered)
   * @param healthy members that answered, with no error, following a leader that answered
   * @param leader the leader's member name (its id in hex when it has no name yet), or null
   * @param quorum whether a majority of the members is healthy
   * @param error why the member list could not be read, or null
   * @param each every member of the list with its health, in list order (empty on an error)
   */
  public record Report(
      int members,
      int healthy,
      String leader,
      boolean quorum,
      String error,
      List<MemberHealth> each) {

    public Report {
      each = List.copyOf(each);
    }

    /** A report without per-member results (for an error, or a line to render). */
    public Report(int members, int healthy, String leader, boolean quorum, String error) {
      this(members, healthy, leader, quorum, error, List.of());
    }

    /** One line for people: {@code 3 of 3 members healthy (leader etcd-2)}. */
    public String render() {
      if (error != null) {
        return (error.startsWith(NO_ANSWER) ? "unreachable: " : "unknown: ") + error;
      }
      String s = healthy + " of " + members + " member" + (members == 1 ? "" : "s") + " healthy";
      List<String> notes = new ArrayList<>();
      notes.add(leader == null ? "no leader" : "leader " + leader);
      if (!quorum) {
        notes.add("no quorum");
      }
      return s + " (" + String.join("; ", notes) + ")";
    }

    /** The JSON-ready form, fixed key order: members, healthy, leader, quorum, error. */
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("members", members);
      m.put("healthy", healthy);
      m.put("leader", leader);
      m.put("quorum", quorum);
      m.put("error", error);
      return m;
    }
  }

  /** One member's answer: the leader it follows, or why it is not healthy. */
  private record Seen(String leader, String problem) {}

  /**
   * Checks the cluster {@code config} names with a client of its own, closed afterwards; each
   * request times out after {@code config.requestTimeout()}, each phase after {@code timeout}.
   *
   * @throws IOException only when the TLS files of {@code config} cannot be read
   * @throws InterruptedException when interrupted while waiting
   */
  public static Report check(EtcdConfig config, Duration timeout)
      throws IOException, InterruptedException {
    try (EtcdClient etcd = EtcdClient.create(config)) {
      return check(etcd, timeout);
    }
  }

  /**
   * Checks the cluster {@code etcd} talks to; each phase (member list, member status) waits at most
   * {@code timeout}, so the whole check takes at most about twice that.
   *
   * @throws InterruptedException when interrupted while waiting
   */
  public static Report check(EtcdClient etcd, Duration timeout) throws InterruptedException {
    ExecutorService pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "etcd-health");
              t.setDaemon(true);
              return t;
            });
    try {
      return check(etcd, timeout, pool);
    } finally {
      pool.shutdownNow();
    }
  }

  private static Report check(EtcdClient etcd, Duration timeout, ExecutorService pool)
      throws InterruptedException {
    // Phase 1: the member list from whichever endpoint answers first.
    CompletionService<List<EtcdClient.Member>> lists = new ExecutorCompletionService<>(pool);
    List<URI> eps = etcd.config().endpoints();
    for (URI ep : eps) {
      lists.submit(
          () -> {
            List<EtcdClient.Member> list = etcd.members(ep);
            if (list.isEmpty()) {
              throw new IOException(ep + " answered with no members");
            }
            return list;
          });
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> failures = new ArrayList<>();
    List<EtcdClient.Member> members = null;
    for (int i = 0; i < eps.size() && members == null; i++) {
      Future<List<EtcdClient.Member>> f =
          lists.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (f == null) {
        failures.add("no answer within " + timeout.toMillis() + " ms");
        break;
      }
      try {
        members = f.get();
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        failures.add(
            c instanceof IOException && c.getMessage() != null ? c.getMessage() : message(c));
      }
    }
    if (members == null) {
      return new Report(0, 0, null, false, NO_ANSWER + " (" + String.join("; ", failures) + ")");
    }
    // Phase 2: every member's own status, in parallel, within the same bound.
    List<Future<Seen>> futures = new ArrayList<>();
    for (EtcdClient.Member m : members) {
      futures.add(pool.submit(() -> status(etcd, m)));
    }
    long deadline2 = System.nanoTime() + timeout.toNanos();
    List<Seen> seen = new ArrayList<>();
    Map<String, String> leaderOf = new LinkedHashMap<>(); // member id -> the leader it follows
    for (int i = 0; i < futures.size(); i++) {
      Future<Seen> f = futures.get(i);
      Seen s;
      try {
        s = f.get(Math.max(0, deadline2 - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        s = new Seen(null, "unreachable");
      } catch (TimeoutException e) {
        f.cancel(true);
        s = new Seen(null, "unreachable");
      }
      seen.add(s);
      if (s.problem() == null) {
        leaderOf.put(members.get(i).id(), s.leader());
      }
    }
    // Healthy: answered with no problem, and follows a leader that did too.
    List<MemberHealth> each = new ArrayList<>();
    Map<String, Integer> votes = new LinkedHashMap<>();
    for (int i = 0; i < members.size(); i++) {
      EtcdClient.Member m = members.get(i);
      String problem = seen.get(i).problem();
      String leaderId = seen.get(i).leader();
      if (problem == null && !leaderOf.containsKey(leaderId)) {
        problem = "follows leader " + label(members, leaderId) + ", which is not healthy";
      }
      if (problem == null) {
        votes.merge(leaderId, 1, Integer::sum);
      }
      each.add(new MemberHealth(m, problem));
    }
    int healthy = (int) each.stream().filter(MemberHealth::healthy).count();
    String leaderId =
        votes.entrySet().stream()
            .max(Map.Entry.comparingByValue())
            .map(Map.Entry::getKey)
            .orElse(null);
    String leader = leaderId == null ? null : name(members, leaderId);
    return new Report(members.size(), healthy, leader, healthy > members.size() / 2, null, each);
  }

  /** What member {@code m} says of itself, trying its client URLs in turn. */
  private static Seen status(EtcdClient etcd, EtcdClient.Member m) {
    if (m.clientUrls().isEmpty()) {
      return new Seen(null, "not started (no client URL)");
    }
    for (String url : m.clientUrls()) {
      try {
        EtcdClient.MemberStatus s = etcd.memberStatus(URI.create(url));
        if (!s.errors().isEmpty()) {
          return new Seen(null, "reports " + String.join(", ", s.errors()));
        }
        if (s.leader().equals("0")) {
          return new Seen(null, "has no leader");
        }
        return new Seen(s.leader(), null);
      } catch (IOException | IllegalArgumentException e) {
        // try its next client URL
      }
    }
    return new Seen(null, "unreachable");
  }

  /** The name of the member with id {@code id}, or the id in hex when it has no name. */
  private static String name(List<EtcdClient.Member> members, String id) {
    for (EtcdClient.Member m : members) {
      if (m.id().equals(id) && !m.name().isEmpty()) {
        return m.name();
      }
    }
    return hex(id);
  }

  /** How messages name the member with id {@code id}. */
  private static String label(List<EtcdClient.Member> members, String id) {
    for (EtcdClient.Member m : members) {
      if (m.id().equals(id)) {
        return label(m);
      }
    }
    return "member " + hex(id);
  }

  /** How messages name member {@code m}: its name, or {@code member <id in hex>} without one. */
  private static String label(EtcdClient.Member m) {
    return m.name().isEmpty() ? "member " + hex(m.id()) : m.name();
  }

  private static String hex(String id) {
    return Long.toHexString(Long.parseUnsignedLong(id));
  }

  private static String message(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
