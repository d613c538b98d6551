package io.basalt.update.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * A small etcd v3 client speaking etcd's JSON gateway ({@code /v3/kv/...}, etcd 3.4 and later) over
 * a minimal HTTP/1.1 keep-alive socket client (plain or TLS): range (one key or a prefix), put,
 * compare-and-swap transactions, delete, leases (grant, keep alive once, revoke), the member list
 * and one member's own status. Several endpoints with failover (the last endpoint that answered is
 * tried first), TLS with a CA and a client certificate, and username/password authentication (a
 * token per endpoint, renewed when etcd rejects it). Thread-safe.
 *
 * <p>Why the gateway and not jetcd: jetcd pulls in grpc-java, Netty and protobuf (about 15 MB of
 * jars and tens of MB of heap and direct buffers once connected), while the agent's whole idle RSS
 * budget on the host is 64 MB. The few KV calls the reboot lock needs are plain JSON POSTs. And not
 * {@code java.net.http} either: it and the TLS context it always builds measured +15 MB of RSS
 * against +2.5 MB for {@link SocketHttp} (update-agent/README.md, benchmark).
 */
public final class EtcdClient implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getEncoder();
  private static final Base64.Decoder B64D = Base64.getDecoder();

  private final EtcdConfig config;
  private final SocketHttp http;
  private final AtomicInteger preferred = new AtomicInteger();
  private final Map<URI, String> tokens = new ConcurrentHashMap<>();

  private EtcdClient(EtcdConfig config, SocketHttp http) {
    this.config = config;
    this.http = http;
  }

  /**
   * Creates a client; no request is made yet.
   *
   * @throws IOException if the CA, certificate or key file cannot be read or parsed
   */
  public static EtcdClient create(EtcdConfig config) throws IOException {
    boolean tls = config.endpoints().stream().anyMatch(u -> u.getScheme().equals("https"));
    SSLContext ctx = null;
    if (tls || config.caFile().isPresent() || config.certFile().isPresent()) {
      ctx = TlsMaterial.sslContext(config.caFile(), config.certFile(), config.keyFile());
    }
    return new EtcdClient(config, new SocketHttp(ctx, config.requestTimeout()));
  }

  /** The configuration this client was made with. */
  public EtcdConfig config() {
    return config;
  }

  /**
   * Reads a key at the newest revision.
   *
   * @throws EtcdUnavailableException if no endpoint answered
   * @throws EtcdException if etcd refused the request
   */
  public Optional<KeyValue> get(String key) throws IOException {
    return get(key, 0);
  }

  /**
   * Reads a key as it was at {@code revision} (0 = newest).
   *
   * @throws EtcdUnavailableException if no endpoint answered
   * @throws EtcdException if etcd refused the request (for example a compacted or future revision)
   */
  public Optional<KeyValue> get(String key, long revision) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("key", b64(key));
    if (revision > 0) {
      req.put("revision", Long.toString(revision));
    }
    return firstKv(call("/kv/range", req));
  }

  /**
   * The store's current revision, read with a count-only range of {@code key} (so read permission
   * on that key is enough).
   *
   * @throws IOException as {@link #get(String)}
   */
  public long currentRevision(String key) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("key", b64(key));
    req.put("count_only", true);
    return headerRevision(call("/kv/range", req));
  }

  /**
   * Writes a key unconditionally and returns the new store revision.
   *
   * @throws IOException as {@link #get(String)}
   */
  public long put(String key, byte[] value) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("key", b64(key));
    req.put("value", B64.encodeToString(value));
    return headerRevision(call("/kv/put", req));
  }

  /**
   * Deletes a key; returns whether it existed.
   *
   * @throws IOException as {@link #get(String)}
   */
  public boolean delete(String key) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("key", b64(key));
    JsonNode resp = call("/kv/deleterange", req);
    return resp.path("deleted").asLong(0) > 0;
  }

  /**
   * Writes {@code value} only if the key's mod revision is still {@code expectedModRevision} (0 =
   * only if the key does not exist), in one transaction. On a conflict the key's current state
   * comes back from the same transaction, so the caller can retry without another read.
   *
   * @throws IOException as {@link #get(String)}
   */
  public CasResult compareAndSwap(String key, byte[] value, long expectedModRevision)
      throws IOException {
    ObjectNode req = JSON.createObjectNode();
    compare(req.putArray("compare"), key, "MOD", "mod_revision", expectedModRevision);
    put(req.putArray("success"), key, value, 0);
    req.putArray("failure").addObject().putObject("request_range").put("key", b64(key));
    JsonNode resp = call("/kv/txn", req);
    long rev = headerRevision(resp);
    if (resp.path("succeeded").asBoolean(false)) {
      return new CasResult(true, rev, Optional.empty());
    }
    Optional<KeyValue> current = Optional.empty();
    for (JsonNode r : resp.path("responses")) {
      if (r.has("response_range")) {
        current = firstKv(r.get("response_range"));
      }
    }
    return new CasResult(false, rev, current);
  }

  /**
   * Creates {@code key} with {@code value}, attached to {@code lease} (0: none), only if neither it
   * nor any of {@code alsoAbsent} exists, in one transaction.
   *
   * @return the key's mod revision when it was created, 0 when it was not
   * @throws IOException as {@link #get(String)}
   */
  public long createIfAbsent(String key, byte[] value, long lease, List<String> alsoAbsent)
      throws IOException {
    ObjectNode req = JSON.createObjectNode();
    ArrayNode compare = req.putArray("compare");
    List<String> absent = new ArrayList<>(alsoAbsent);
    absent.add(0, key);
    for (String k : absent) {
      compare(compare, k, "VERSION", "version", 0);
    }
    put(req.putArray("success"), key, value, lease);
    JsonNode resp = call("/kv/txn", req);
    return resp.path("succeeded").asBoolean(false) ? headerRevision(resp) : 0;
  }

  /**
   * Writes every entry of {@code values} in one transaction, only if {@code guardKey}'s mod
   * revision is still {@code guardModRevision}.
   *
   * @return whether the values were written
   * @throws IOException as {@link #get(String)}
   */
  public boolean putAllIf(String guardKey, long guardModRevision, Map<String, byte[]> values)
      throws IOException {
    ObjectNode req = JSON.createObjectNode();
    compare(req.putArray("compare"), guardKey, "MOD", "mod_revision", guardModRevision);
    ArrayNode success = req.putArray("success");
    for (Map.Entry<String, byte[]> e : values.entrySet()) {
      put(success, e.getKey(), e.getValue(), 0);
    }
    return call("/kv/txn", req).path("succeeded").asBoolean(false);
  }

  /**
   * Every key starting with {@code prefix}, in key order.
   *
   * @throws IOException as {@link #get(String)}
   */
  public List<KeyValue> getPrefix(String prefix) throws IOException {
    byte[] end = prefix.getBytes(StandardCharsets.UTF_8);
    if (end.length == 0 || end[end.length - 1] == (byte) 0xff) {
      throw new IllegalArgumentException("prefix must be non-empty and not end in 0xff: " + prefix);
    }
    end[end.length - 1]++;
    ObjectNode req = JSON.createObjectNode();
    req.put("key", b64(prefix));
    req.put("range_end", B64.encodeToString(end));
    List<KeyValue> out = new ArrayList<>();
    for (JsonNode kv : call("/kv/range", req).path("kvs")) {
      out.add(keyValue(kv));
    }
    return out;
  }

  /**
   * Grants a lease of {@code ttl} (whole seconds, at least 1) and returns its id; keys attached to
   * it are deleted when it is neither kept alive nor revoked within the TTL.
   *
   * @throws IOException as {@link #get(String)}
   */
  public long grantLease(java.time.Duration ttl) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("TTL", Long.toString(Math.max(1, ttl.toSeconds())));
    long id = call("/lease/grant", req).path("ID").asLong(0);
    if (id == 0) {
      throw new EtcdException("etcd granted no lease id", -1);
    }
    return id;
  }

  /**
   * Renews lease {@code id} once; returns false when it has already expired.
   *
   * @throws IOException as {@link #get(String)}
   */
  public boolean keepAlive(long id) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("ID", Long.toString(id));
    return call("/lease/keepalive", req).path("result").path("TTL").asLong(0) > 0;
  }

  /**
   * Revokes lease {@code id}, deleting the keys attached to it; a lease that no longer exists is
   * not an error.
   *
   * @throws IOException as {@link #get(String)}
   */
  public void revokeLease(long id) throws IOException {
    ObjectNode req = JSON.createObjectNode();
    req.put("ID", Long.toString(id));
    try {
      call("/lease/revoke", req);
    } catch (EtcdException e) {
      if (!e.getMessage().contains("lease not found")) {
        throw e;
      }
    }
  }

  /**
   * The cluster's members ({@code /v3/cluster/member/list} through the gateway, any endpoint).
   *
   * @throws IOException as {@link #get(String)}
   */
  public List<Member> members() throws IOException {
    return members(call("/cluster/member/list", JSON.createObjectNode()));
  }

  /**
   * The cluster's members as the one endpoint {@code endpoint} lists them, without failing over to
   * another endpoint (so that several endpoints can be asked at once).
   *
   * @throws EtcdUnavailableException if it did not answer within the request timeout
   * @throws EtcdException if it refused the request
   */
  public List<Member> members(URI endpoint) throws IOException {
    try {
      return members(callOne(endpoint, "/cluster/member/list", JSON.createObjectNode(), true));
    } catch (Unavailable u) {
      throw new EtcdUnavailableException(endpoint + ": " + u.getMessage());
    }
  }

  private static List<Member> members(JsonNode memberList) {
    List<Member> out = new ArrayList<>();
    for (JsonNode m : memberList.path("members")) {
      out.add(
          new Member(
              Long.toUnsignedString(parseUnsigned(m.path("ID").asText("0"))),
              m.path("name").asText(""),
              texts(m.path("peerURLs")),
              texts(m.path("clientURLs")),
              m.path("isLearner").asBoolean(false)));
    }
    return out;
  }

  /**
   * Asks the one member serving {@code clientUrl} for its status ({@code /v3/maintenance/status}),
   * without failing over to another endpoint: what that member itself says.
   *
   * @throws EtcdUnavailableException if it did not answer within the request timeout
   * @throws EtcdException if it refused the request
   */
  public MemberStatus memberStatus(URI clientUrl) throws IOException {
    JsonNode resp;
    try {
      resp = callOne(clientUrl, "/maintenance/status", JSON.createObjectNode(), true);
    } catch (Unavailable u) {
      throw new EtcdUnavailableException(clientUrl + ": " + u.getMessage());
    }
    return new MemberStatus(
        Long.toUnsignedString(parseUnsigned(resp.path("header").path("member_id").asText("0"))),
        Long.toUnsignedString(parseUnsigned(resp.path("leader").asText("0"))),
        texts(resp.path("errors")));
  }

  /**
   * A member of the cluster.
   *
   * @param id member id (unsigned decimal, as etcdctl prints it in hex)
   * @param name its {@code --name}; empty for a member added but not started yet
   * @param peerUrls its advertised peer URLs
   * @param clientUrls its advertised client URLs; empty for a member not started yet
   * @param learner a learner (non-voting) member
   */
  public record Member(
      String id, String name, List<String> peerUrls, List<String> clientUrls, boolean learner) {}

  /**
   * One member's own view ({@code /v3/maintenance/status}).
   *
   * @param memberId the id of the member that answered
   * @param leader the leader it follows; {@code "0"} when it has none
   * @param errors its alarms and errors (for example {@code NOSPACE}), empty when none
   */
  public record MemberStatus(String memberId, String leader, List<String> errors) {}

  private static long parseUnsigned(String s) {
    try {
      return Long.parseUnsignedLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : array) {
      out.add(n.asText());
    }
    return List.copyOf(out);
  }

  /**
   * The outcome of {@link #compareAndSwap}.
   *
   * @param succeeded whether the value was written
   * @param revision the store revision after the transaction (the key's new mod revision on
   *     success)
   * @param current on failure, the key's current state (empty if it does not exist)
   */
  public record CasResult(boolean succeeded, long revision, Optional<KeyValue> current) {}

  @Override
  public void close() {
    tokens.clear();
    http.close();
  }

  // --- transport -----------------------------------------------------------------------------

  private JsonNode call(String path, ObjectNode body) throws IOException {
    List<URI> eps = config.endpoints();
    int start = Math.floorMod(preferred.get(), eps.size());
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < eps.size(); i++) {
      int idx = (start + i) % eps.size();
      URI ep = eps.get(idx);
      try {
        JsonNode resp = callOne(ep, path, body, true);
        preferred.set(idx);
        return resp;
      } catch (Unavailable u) {
        failures.add(ep + ": " + u.getMessage());
      }
    }
    throw new EtcdUnavailableException(
        "no etcd endpoint answered " + path + " (" + String.join("; ", failures) + ")");
  }

  /** Thrown inside the failover loop for errors that another endpoint might not have. */
  private static final class Unavailable extends Exception {
    private static final long serialVersionUID = 1L;

    Unavailable(String message) {
      super(message, null, false, false);
    }
  }

  private JsonNode callOne(URI ep, String path, ObjectNode body, boolean mayReauth)
      throws IOException, Unavailable {
    String token = null;
    if (config.username().isPresent()) {
      token = tokens.get(ep);
      if (token == null) {
        token = authenticate(ep);
      }
    }
    SocketHttp.Response resp = send(ep, path, JSON.writeValueAsBytes(body), token);
    if (resp.status() == 200) {
      return parse(ep, path, resp.body());
    }
    JsonNode err = tryParse(resp.body());
    int code = err == null ? -1 : err.path("code").asInt(-1);
    String message =
        err == null
            ? new String(resp.body(), StandardCharsets.UTF_8).strip()
            : err.path("message").asText(err.path("error").asText(""));
    if (mayReauth
        && config.username().isPresent()
        && (code == 16 || message.contains("invalid auth token"))) {
      tokens.remove(ep);
      return callOne(ep, path, body, false);
    }
    if (code == 14
        || resp.status() == 503
        || message.contains("no leader")
        || message.contains("leader changed")
        || message.contains("request timed out")
        || message.contains("not capable")) {
      throw new Unavailable("HTTP " + resp.status() + ": " + message);
    }
    throw new EtcdException(
        "etcd at " + ep + " refused " + path + ": HTTP " + resp.status() + ": " + message, code);
  }

  private String authenticate(URI ep) throws IOException, Unavailable {
    ObjectNode req = JSON.createObjectNode();
    req.put("name", config.username().orElseThrow());
    req.put("password", config.password());
    SocketHttp.Response resp = send(ep, "/auth/authenticate", JSON.writeValueAsBytes(req), null);
    JsonNode body = tryParse(resp.body());
    if (resp.status() != 200 || body == null || !body.hasNonNull("token")) {
      String msg =
          body == null
              ? new String(resp.body(), StandardCharsets.UTF_8).strip()
              : body.path("message").asText(body.path("error").asText(""));
      if (resp.status() == 503) {
        throw new Unavailable("HTTP 503 during authentication: " + msg);
      }
      throw new EtcdException(
          "etcd at "
              + ep
              + " rejected user '"
              + config.username().get()
              + "': HTTP "
              + resp.status()
              + ": "
              + msg,
          body == null ? -1 : body.path("code").asInt(-1));
    }
    String token = body.get("token").asText();
    tokens.put(ep, token);
    return token;
  }

  private SocketHttp.Response send(URI ep, String path, byte[] body, String token)
      throws IOException, Unavailable {
    Map<String, String> headers = token == null ? Map.of() : Map.of("Authorization", token);
    try {
      return http.post(ep, "/v3" + path, body, headers);
    } catch (InterruptedIOException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("interrupted while calling etcd at " + ep);
      }
      throw new Unavailable("timed out after " + config.requestTimeout().toMillis() + " ms");
    } catch (javax.net.ssl.SSLException e) {
      throw new EtcdException("TLS handshake with etcd at " + ep + " failed: " + e.getMessage(), e);
    } catch (IOException e) {
      String m = e.getMessage();
      throw new Unavailable(e.getClass().getSimpleName() + (m == null ? "" : ": " + m));
    }
  }

  private static JsonNode parse(URI ep, String path, byte[] body) throws EtcdException {
    JsonNode n = tryParse(body);
    if (n == null || !n.isObject()) {
      throw new EtcdException(
          "etcd at " + ep + " answered " + path + " with something that is not JSON", -1);
    }
    return n;
  }

  private static JsonNode tryParse(byte[] body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      return null;
    }
  }

  private static Optional<KeyValue> firstKv(JsonNode rangeResponse) {
    JsonNode kvs = rangeResponse.path("kvs");
    if (!(kvs instanceof ArrayNode) || kvs.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(keyValue(kvs.get(0)));
  }

  private static KeyValue keyValue(JsonNode kv) {
    return new KeyValue(
        new String(B64D.decode(kv.path("key").asText("")), StandardCharsets.UTF_8),
        B64D.decode(kv.path("value").asText("")),
        kv.path("create_revision").asLong(0),
        kv.path("mod_revision").asLong(0),
        kv.path("version").asLong(0));
  }

  private static long headerRevision(JsonNode resp) {
    return resp.path("header").path("revision").asLong(0);
  }

  /** Adds a transaction comparison: {@code key}'s {@code target} equals {@code value}. */
  private static void compare(
      ArrayNode compare, String key, String target, String field, long value) {
    ObjectNode cmp = compare.addObject();
    cmp.put("key", b64(key));
    cmp.put("target", target);
    cmp.put("result", "EQUAL");
    cmp.put(field, Long.toString(value));
  }

  /** Adds a transaction put of {@code key}, attached to {@code lease} unless it is 0. */
  private static void put(ArrayNode ops, String key, byte[] value, long lease) {
    ObjectNode put = ops.addObject().putObject("request_put");
    put.put("key", b64(key));
    put.put("value", B64.encodeToString(value));
    if (lease != 0) {
      put.put("lease", Long.toString(lease));
    }
  }

  private static String b64(String s) {
    return B64.encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
