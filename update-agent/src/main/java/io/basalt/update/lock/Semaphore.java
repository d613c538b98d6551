package io.basalt.update.lock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A counting semaphore value in locksmith's JSON format, {@code
 * {"semaphore":N,"max":M,"holders":["<machine-id>",...]}}, plus Basalt's {@code "since"} object
 * mapping each holder to the time it took the lock, and its {@code "basalt_leases"} object mapping
 * each holder to the RFC 3339 time it last renewed its lease (a live agent renews while it holds
 * the lock; a holder not renewed for longer than the lease is stale, see {@link #staleHolders}).
 *
 * <p>Compatibility: locksmith (Go {@code encoding/json}) ignores fields it does not know, so a
 * locksmith reader sees an ordinary semaphore. A locksmith writer drops {@code "since"}; holders
 * without an entry are then shown with an unknown since-time and age; a Basalt contender stamps
 * such a holder with the time it first saw it ({@link #withStamps}), so it is released a lease
 * later unless it renews. {@code holders} stays a list of strings. Fields written by other tools
 * are kept as they are. {@code semaphore} is the number of free slots, exactly as locksmith counts
 * it (it can go below zero after the maximum was lowered under the number of holders).
 *
 * <p>Immutable and thread-safe; the {@code with...} methods return new values.
 */
public final class Semaphore {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final int semaphore;
  private final int max;
  private final List<String> holders;
  private final Map<String, Instant> since;
  private final Map<String, Instant> leases;
  private final ObjectNode extra;

  /** The JSON field holding each holder's last lease renewal (locksmith ignores it). */
  public static final String LEASES_FIELD = "basalt_leases";

  private Semaphore(
      int semaphore,
      int max,
      List<String> holders,
      Map<String, Instant> since,
      Map<String, Instant> leases,
      ObjectNode extra) {
    this.semaphore = semaphore;
    this.max = max;
    this.holders = List.copyOf(holders);
    this.since = Collections.unmodifiableMap(new LinkedHashMap<>(since));
    this.leases = Collections.unmodifiableMap(new LinkedHashMap<>(leases));
    this.extra = extra;
  }

  /** The value locksmith creates when the key is missing: one slot, no holders. */
  public static Semaphore initial() {
    return new Semaphore(1, 1, List.of(), Map.of(), Map.of(), JSON.createObjectNode());
  }

  /**
   * Parses a semaphore value.
   *
   * @param key the etcd key it was read from (for error messages)
   * @throws SemaphoreFormatException if it is not JSON, or {@code semaphore}/{@code max} are
   *     missing or not integers, {@code max} is negative, or {@code holders} is not a list of
   *     strings
   */
  public static Semaphore parse(String key, byte[] value) throws SemaphoreFormatException {
    JsonNode root;
    try {
      root = JSON.readTree(value);
    } catch (IOException e) {
      String snippet = new String(value, StandardCharsets.UTF_8);
      if (snippet.length() > 80) {
        snippet = snippet.substring(0, 80) + "...";
      }
      throw new SemaphoreFormatException(
          "etcd key "
              + key
              + ": value is not valid JSON ("
              + firstLine(e.getMessage())
              + "); found: "
              + snippet
              + "; expected locksmith's {\"semaphore\":N,\"max\":M,\"holders\":[...]}",
          e);
    }
    if (root == null || !root.isObject()) {
      throw new SemaphoreFormatException(
          "etcd key "
              + key
              + ": expected a JSON object {\"semaphore\":N,\"max\":M,\"holders\":[...]}, found "
              + (root == null
                  ? "an empty value"
                  : root.getNodeType().toString().toLowerCase(Locale.ROOT)));
    }
    int sem = intField(key, root, "semaphore");
    int max = intField(key, root, "max");
    if (max < 0) {
      throw new SemaphoreFormatException(
          "etcd key " + key + ": field \"max\" is " + max + "; expected 0 or more");
    }
    List<String> holders = new ArrayList<>();
    JsonNode h = root.get("holders");
    if (h != null && !h.isNull()) {
      if (!h.isArray()) {
        throw new SemaphoreFormatException(
            "etcd key "
                + key
                + ": field \"holders\" must be a list of machine ids, found "
                + h.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      for (int i = 0; i < h.size(); i++) {
        JsonNode e = h.get(i);
        if (!e.isTextual()) {
          throw new SemaphoreFormatException(
              "etcd key " + key + ": holders[" + i + "] must be a string, found " + e);
        }
        if (!holders.contains(e.asText())) {
          holders.add(e.asText());
        }
      }
    }
    Map<String, Instant> since = times(root.get("since"), holders);
    Map<String, Instant> leases = times(root.get(LEASES_FIELD), holders);
    ObjectNode extra = ((ObjectNode) root).deepCopy();
    extra.remove(List.of("semaphore", "max", "holders", "since", LEASES_FIELD));
    return new Semaphore(sem, max, holders, since, leases, extra);
  }

  /** An advisory {holder: RFC 3339 time} object; unreadable entries count as missing. */
  private static Map<String, Instant> times(JsonNode s, List<String> holders) {
    Map<String, Instant> out = new LinkedHashMap<>();
    if (s != null && s.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (holders.contains(e.getKey()) && e.getValue().isTextual()) {
          try {
            out.put(e.getKey(), Instant.parse(e.getValue().asText()));
          } catch (DateTimeParseException ignored) {
            // advisory field: an unreadable time is shown as unknown
          }
        }
      }
    }
    return out;
  }

  private static int intField(String key, JsonNode root, String name)
      throws SemaphoreFormatException {
    JsonNode n = root.get(name);
    if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
      throw new SemaphoreFormatException(
          "etcd key "
              + key
              + ": field \""
              + name
              + "\" must be an integer, found "
              + (n == null ? "nothing" : n.toString()));
    }
    return n.intValue();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /** Free slots as locksmith counts them (may be negative after lowering max). */
  public int semaphore() {
    return semaphore;
  }

  /** Free slots, never below zero. */
  public int available() {
    return Math.max(0, semaphore);
  }

  public int max() {
    return max;
  }

  /** The holders' machine ids, in the order they took the lock. */
  public List<String> holders() {
    return holders;
  }

  /** When {@code holder} took the lock, if recorded. */
  public Optional<Instant> since(String holder) {
    return Optional.ofNullable(since.get(holder));
  }

  /** When {@code holder} last renewed its lease (its since-time when it never renewed). */
  public Optional<Instant> lastRenewal(String holder) {
    Instant t = leases.get(holder);
    return Optional.ofNullable(t != null ? t : since.get(holder));
  }

  /** How long {@code holder} has held the lock at {@code now}, if its since-time is recorded. */
  public Optional<Duration> age(String holder, Instant now) {
    return since(holder).map(t -> Duration.between(t, now));
  }

  /**
   * The holders whose last renewal is more than {@code lease} before {@code now}, in holder order.
   * Holders with no recorded time are never stale (see {@link #withStamps}); a zero or negative
   * lease means holds never expire.
   */
  public List<String> staleHolders(Instant now, Duration lease) {
    List<String> out = new ArrayList<>();
    if (lease.isZero() || lease.isNegative()) {
      return out;
    }
    for (String h : holders) {
      Optional<Instant> last = lastRenewal(h);
      if (last.isPresent() && now.isAfter(last.get().plus(lease))) {
        out.add(h);
      }
    }
    return out;
  }

  /** This value without the {@link #staleHolders} at {@code now}. */
  public Semaphore withoutStale(Instant now, Duration lease) {
    Semaphore s = this;
    for (String h : staleHolders(now, lease)) {
      s = s.withUnlock(h).orElseThrow();
    }
    return s;
  }

  /** The holders with neither a since-time nor a lease renewal (written by another tool). */
  public List<String> unstamped() {
    List<String> out = new ArrayList<>();
    for (String h : holders) {
      if (lastRenewal(h).isEmpty()) {
        out.add(h);
      }
    }
    return out;
  }

  /** Whether both values have the same {@link #unstamped} holders. */
  boolean unstampedEquals(Semaphore other) {
    return unstamped().equals(other.unstamped());
  }

  /** Records {@code now} as the lease renewal of every {@link #unstamped} holder. */
  public Semaphore withStamps(Instant now) {
    Map<String, Instant> l = new LinkedHashMap<>(leases);
    for (String h : unstamped()) {
      l.put(h, now);
    }
    return new Semaphore(semaphore, max, holders, since, l, extra);
  }

  /**
   * Renews {@code holder}'s lease at {@code now}.
   *
   * @return the new value, or empty if {@code holder} does not hold the lock
   */
  public Optional<Semaphore> withRenewal(String holder, Instant now) {
    if (!isHeldBy(holder)) {
      return Optional.empty();
    }
    Map<String, Instant> l = new LinkedHashMap<>(leases);
    l.put(holder, now);
    return Optional.of(new Semaphore(semaphore, max, holders, since, l, extra));
  }

  public boolean isHeldBy(String holder) {
    return holders.contains(holder);
  }

  /**
   * Takes a slot for {@code holder} at {@code now}.
   *
   * @return the new value, or empty if the semaphore has no free slot
   * @throws IllegalStateException if {@code holder} already holds it (check {@link #isHeldBy})
   */
  public Optional<Semaphore> withLock(String holder, Instant now) {
    if (isHeldBy(holder)) {
      throw new IllegalStateException(holder + " already holds the lock");
    }
    if (semaphore <= 0) {
      return Optional.empty();
    }
    List<String> h = new ArrayList<>(holders);
    h.add(holder);
    Map<String, Instant> s = new LinkedHashMap<>(since);
    s.put(holder, now);
    Map<String, Instant> l = new LinkedHashMap<>(leases);
    l.put(holder, now);
    return Optional.of(new Semaphore(semaphore - 1, max, h, s, l, extra));
  }

  /**
   * Frees {@code holder}'s slot.
   *
   * @return the new value, or empty if {@code holder} does not hold the lock
   */
  public Optional<Semaphore> withUnlock(String holder) {
    if (!isHeldBy(holder)) {
      return Optional.empty();
    }
    List<String> h = new ArrayList<>(holders);
    h.remove(holder);
    Map<String, Instant> s = new LinkedHashMap<>(since);
    s.remove(holder);
    Map<String, Instant> l = new LinkedHashMap<>(leases);
    l.remove(holder);
    return Optional.of(new Semaphore(semaphore + 1, max, h, s, l, extra));
  }

  /**
   * Sets the maximum, moving the free count by the same difference (locksmith's SetMax).
   *
   * @throws IllegalArgumentException if {@code newMax} is negative
   */
  public Semaphore withMax(int newMax) {
    if (newMax < 0) {
      throw new IllegalArgumentException("max must be 0 or more, got " + newMax);
    }
    int diff = max - newMax;
    return new Semaphore(semaphore - diff, newMax, holders, since, leases, extra);
  }

  /**
   * The value in locksmith's JSON format plus the {@code since} and {@code basalt_leases} objects
   * and preserved fields.
   */
  public byte[] toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("semaphore", semaphore);
    root.put("max", max);
    ArrayNode h = root.putArray("holders");
    holders.forEach(h::add);
    ObjectNode s = root.putObject("since");
    ObjectNode l = root.putObject(LEASES_FIELD);
    for (String holder : holders) {
      Instant t = since.get(holder);
      if (t != null) {
        s.put(holder, t.toString());
      }
      Instant r = leases.get(holder);
      if (r != null) {
        l.put(holder, r.toString());
      }
    }
    extra.fields().forEachRemaining(e -> root.set(e.getKey(), e.getValue()));
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return new String(toJson(), StandardCharsets.UTF_8);
  }
}
