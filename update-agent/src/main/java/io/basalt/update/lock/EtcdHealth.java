package io.basalt.update.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
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
import javax.net.ssl.SSLContext;

/**
 * The health of an etcd cluster as {@code basaltctl status} shows it: the member list from any
 * configured endpoint, then each member's own status ({@code /v3/maintenance/status} at its client
 * URL), all within a bounded time. A member is healthy when it answers, reports no error (an alarm
 * such as NOSPACE) and follows a leader that answers too. Never throws for an unreachable or
 * refusing cluster: that is a {@link Report} with an error. Stateless and thread-safe.
 */
public final class EtcdHealth {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** How the error of a cluster that no endpoint answered for starts. */
  public static final String NO_ANSWER = "no etcd endpoint answered";

  private EtcdHealth() {}

  /**
   * What {@link #check} found.
   *
   * @param members members in the cluster's member list (0 when no endpoint answered)
   * @param healthy members that answered, with no error, following a leader that answered
   * @param leader the leader's member name (its id in hex when it has no name yet), or null
   * @param quorum whether a majority of the members is healthy
   * @param error why the member list could not be read, or null
   */
  public record Report(int members, int healthy, String leader, boolean quorum, String error) {

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

  /** One member of the member list. */
  private record Member(String id, String name, List<URI> clientUrls) {}

  /** One member's answer: its view of the leader, or why it is not healthy. */
  private record Seen(String leader, String problem) {}

  /**
   * Checks the cluster {@code config} names; each phase (member list, member status) waits at most
   * {@code timeout}, so the whole check takes at most about twice that.
   *
   * @throws IOException only when the TLS files of {@code config} cannot be read
   * @throws InterruptedException when interrupted while waiting
   */
  public static Report check(EtcdConfig config, Duration timeout)
      throws IOException, InterruptedException {
    boolean tls = config.endpoints().stream().anyMatch(u -> u.getScheme().equals("https"));
    SSLContext ctx = null;
    if (tls || config.caFile().isPresent() || config.certFile().isPresent()) {
      ctx = TlsMaterial.sslContext(config.caFile(), config.certFile(), config.keyFile());
    }
    SocketHttp http = new SocketHttp(ctx, timeout);
    ExecutorService pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "etcd-health");
              t.setDaemon(true);
              return t;
            });
    try {
      return check(config, timeout, http, pool);
    } finally {
      pool.shutdownNow();
      http.close();
    }
  }

  private static Report check(
      EtcdConfig config, Duration timeout, SocketHttp http, ExecutorService pool)
      throws InterruptedException {
    // Phase 1: the member list from whichever endpoint answers first.
    CompletionService<List<Member>> lists = new ExecutorCompletionService<>(pool);
    List<URI> eps = config.endpoints();
    for (URI ep : eps) {
      lists.submit(
          () -> {
            try {
              return memberList(config, http, ep);
            } catch (IOException e) {
              throw new IOException(ep + ": " + message(e), e);
            }
          });
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> failures = new ArrayList<>();
    List<Member> members = null;
    for (int i = 0; i < eps.size() && members == null; i++) {
      Future<List<Member>> f = lists.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
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
    List<Future<Seen>> seen = new ArrayList<>();
    for (Member m : members) {
      seen.add(pool.submit(() -> status(config, http, m)));
    }
    long deadline2 = System.nanoTime() + timeout.toNanos();
    Map<String, String> leaderOf = new LinkedHashMap<>(); // member id -> the leader it follows
    for (int i = 0; i < seen.size(); i++) {
      Future<Seen> f = seen.get(i);
      try {
        Seen s = f.get(Math.max(0, deadline2 - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (s.problem() == null) {
          leaderOf.put(members.get(i).id(), s.leader());
        }
      } catch (ExecutionException e) {
        // not healthy
      } catch (TimeoutException e) {
        f.cancel(true);
      }
    }
    // A member is healthy when it answered and follows a leader that answered too: right after a
    // leader dies, the others still name it until they elect a new one.
    int healthy = 0;
    Map<String, Integer> votes = new LinkedHashMap<>();
    for (String leaderId : leaderOf.values()) {
      if (leaderOf.containsKey(leaderId)) {
        healthy++;
        votes.merge(leaderId, 1, Integer::sum);
      }
    }
    String leaderId =
        votes.entrySet().stream()
            .max(Map.Entry.comparingByValue())
            .map(Map.Entry::getKey)
            .orElse(null);
    String leader = null;
    if (leaderId != null) {
      leader = Long.toHexString(Long.parseUnsignedLong(leaderId));
      for (Member m : members) {
        if (m.id().equals(leaderId) && !m.name().isEmpty()) {
          leader = m.name();
        }
      }
    }
    return new Report(members.size(), healthy, leader, healthy > members.size() / 2, null);
  }

  private static List<Member> memberList(EtcdConfig config, SocketHttp http, URI ep)
      throws IOException {
    JsonNode resp = post(config, http, ep, "/v3/cluster/member/list");
    List<Member> out = new ArrayList<>();
    for (JsonNode m : resp.path("members")) {
      List<URI> urls = new ArrayList<>();
      for (JsonNode u : m.path("clientURLs")) {
        urls.add(URI.create(u.asText()));
      }
      out.add(new Member(m.path("ID").asText(""), m.path("name").asText(""), urls));
    }
    if (out.isEmpty()) {
      throw new IOException(ep + " answered with no members");
    }
    return out;
  }

  private static Seen status(EtcdConfig config, SocketHttp http, Member m) {
    if (m.clientUrls().isEmpty()) {
      return new Seen(null, "not started (no client URL)");
    }
    try {
      JsonNode s = post(config, http, m.clientUrls().get(0), "/v3/maintenance/status");
      String leader = s.path("leader").asText("0");
      if (leader.isEmpty() || leader.equals("0")) {
        return new Seen(null, "no leader");
      }
      if (s.path("errors").size() > 0) {
        return new Seen(null, s.path("errors").toString());
      }
      return new Seen(leader, null);
    } catch (IOException | RuntimeException e) {
      return new Seen(null, message(e));
    }
  }

  private static JsonNode post(EtcdConfig config, SocketHttp http, URI ep, String path)
      throws IOException {
    Map<String, String> headers = Map.of();
    if (config.username().isPresent()) {
      String auth =
          JSON.writeValueAsString(
              Map.of("name", config.username().get(), "password", config.password()));
      SocketHttp.Response a =
          http.post(ep, "/v3/auth/authenticate", auth.getBytes(StandardCharsets.UTF_8), Map.of());
      JsonNode token = a.status() == 200 ? JSON.readTree(a.body()).path("token") : null;
      if (token == null || !token.isTextual()) {
        throw new IOException(ep + " rejected user '" + config.username().get() + "'");
      }
      headers = Map.of("Authorization", token.asText());
    }
    SocketHttp.Response r = http.post(ep, path, "{}".getBytes(StandardCharsets.UTF_8), headers);
    if (r.status() != 200) {
      throw new IOException(
          ep
              + " answered HTTP "
              + r.status()
              + ": "
              + new String(r.body(), StandardCharsets.UTF_8).strip());
    }
    return JSON.readTree(r.body());
  }

  private static String message(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
