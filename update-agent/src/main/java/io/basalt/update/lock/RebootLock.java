package io.basalt.update.lock;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The cluster reboot lock: a locksmith-format counting semaphore under one etcd key, changed only
 * by compare-and-swap on the key's mod revision and created (locksmith's default, max 1) when
 * missing. Taking a lock already held succeeds (and renews the lease); releasing a lock not held is
 * reported, not an error. Thread-safe (all state lives in etcd).
 *
 * <p>Leases: with a positive lease, a holder must {@link #renew} at least once per lease. Every
 * {@link #tryLock} first releases the holders whose last renewal is older than the lease (logging
 * the holder id, its age and its last renewal), and stamps holders written by other tools (no
 * recorded time) with the time it first saw them. A zero lease means holds never expire.
 */
public final class RebootLock {

  /** locksmith's key for the default group. */
  public static final String DEFAULT_KEY = "coreos.com/updateengine/rebootlock/semaphore";

  private static final String GROUPS_PREFIX = "coreos.com/updateengine/rebootlock/groups/";

  private final EtcdClient etcd;
  private final String key;
  private final Clock clock;
  private final RetryPolicy retry;
  private final Duration lease;
  private final Consumer<String> log;

  /** The default maximum time between two renewals of a live holder (update.conf LOCK_LEASE). */
  public static final Duration DEFAULT_LEASE = Duration.ofMinutes(15);

  /**
   * A lock for {@code group} ({@code null}, empty or "default" mean locksmith's default key) whose
   * holds never expire.
   *
   * @param clock source of the since-times recorded for holders
   */
  public RebootLock(EtcdClient etcd, String group, Clock clock, RetryPolicy retry) {
    this(etcd, group, clock, retry, Duration.ZERO, line -> {});
  }

  /**
   * A lock for {@code group} whose holders must renew at least once per {@code lease}.
   *
   * @param clock source of the since-times and renewal times recorded for holders
   * @param lease the maximum time between two renewals; zero means holds never expire
   * @param log receives one line per stale holder released
   * @throws IllegalArgumentException if {@code lease} is negative
   */
  public RebootLock(
      EtcdClient etcd,
      String group,
      Clock clock,
      RetryPolicy retry,
      Duration lease,
      Consumer<String> log) {
    this.etcd = Objects.requireNonNull(etcd);
    this.key = keyFor(group);
    this.clock = Objects.requireNonNull(clock);
    this.retry = Objects.requireNonNull(retry);
    if (lease.isNegative()) {
      throw new IllegalArgumentException("lease must be 0 or more, got " + lease);
    }
    this.lease = lease;
    this.log = Objects.requireNonNull(log);
  }

  /** The lease (zero: holds never expire). */
  public Duration lease() {
    return lease;
  }

  /** The etcd key of a group's semaphore, as locksmith names it. */
  public static String keyFor(String group) {
    if (group == null || group.isEmpty() || group.equals("default")) {
      return DEFAULT_KEY;
    }
    return GROUPS_PREFIX + queryEscape(group) + "/semaphore";
  }

  /** Go's url.QueryEscape, which locksmith uses for group names. */
  static String queryEscape(String s) {
    StringBuilder b = new StringBuilder();
    for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (c >= 'a' && c <= 'z'
          || c >= 'A' && c <= 'Z'
          || c >= '0' && c <= '9'
          || c == '-'
          || c == '_'
          || c == '.'
          || c == '~') {
        b.append((char) c);
      } else if (c == ' ') {
        b.append('+');
      } else {
        b.append('%')
            .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return b.toString();
  }

  /** The etcd key this lock lives under. */
  public String key() {
    return key;
  }

  /**
   * A semaphore as read from etcd.
   *
   * @param key the etcd key
   * @param semaphore the value ({@link Semaphore#initial()} when the key does not exist)
   * @param modRevision the key's mod revision (0 when it does not exist)
   * @param exists whether the key exists
   */
  public record Status(String key, Semaphore semaphore, long modRevision, boolean exists) {}

  /** Outcome of {@link #tryLock}. */
  public enum LockOutcome {
    /** This call took a slot. */
    ACQUIRED,
    /** The holder already had a slot; nothing changed. */
    ALREADY_HELD,
    /** No free slot. */
    FULL
  }

  /**
   * Result of {@link #tryLock}.
   *
   * @param outcome what happened
   * @param status the semaphore after the call
   */
  public record LockResult(LockOutcome outcome, Status status) {
    /** Whether the holder now holds the lock. */
    public boolean held() {
      return outcome != LockOutcome.FULL;
    }
  }

  /** Outcome of {@link #unlock}. */
  public enum UnlockOutcome {
    RELEASED,
    NOT_HELD
  }

  /**
   * Reads the semaphore without changing it.
   *
   * @throws EtcdUnavailableException if no endpoint answers within the retry policy
   * @throws SemaphoreFormatException if the key's value is not in locksmith's format
   * @throws IOException on other etcd errors
   */
  public Status status() throws IOException {
    return retrying(() -> toStatus(etcd.get(key)));
  }

  /**
   * Takes a slot for {@code holder} if one is free (creating the key when missing).
   *
   * @throws EtcdUnavailableException if no endpoint answers within the retry policy
   * @throws SemaphoreFormatException if the key's value is not in locksmith's format
   * @throws IOException on other etcd errors, or when conflicts outlast the retry policy
   */
  public LockResult tryLock(String holder) throws IOException {
    checkHolder(holder);
    return mutate(
        st -> {
          Instant now = clock.instant();
          Semaphore s = st.semaphore();
          if (s.isHeldBy(holder)) {
            if (lease.isZero()) {
              return Mutation.none(new LockResult(LockOutcome.ALREADY_HELD, st));
            }
            return Mutation.write(
                s.withRenewal(holder, now).orElseThrow(),
                ns -> new LockResult(LockOutcome.ALREADY_HELD, ns));
          }
          List<String> stale = s.staleHolders(now, lease);
          Semaphore cleaned = s.withoutStale(now, lease);
          if (!lease.isZero()) {
            cleaned = cleaned.withStamps(now);
          }
          Optional<Semaphore> next = cleaned.withLock(holder, now);
          boolean changed = !stale.isEmpty() || !cleaned.unstampedEquals(s);
          if (next.isEmpty() && !changed) {
            return Mutation.none(new LockResult(LockOutcome.FULL, st));
          }
          LockOutcome outcome = next.isPresent() ? LockOutcome.ACQUIRED : LockOutcome.FULL;
          return Mutation.write(
              next.orElse(cleaned),
              ns -> {
                for (String h : stale) {
                  log.accept(staleLine(s, h, now, holder));
                }
                return new LockResult(outcome, ns);
              });
        });
  }

  private String staleLine(Semaphore s, String h, Instant now, String by) {
    return "reboot lock "
        + key
        + ": released stale holder "
        + h
        + " (held for "
        + s.age(h, now).map(RebootLock::human).orElse("an unknown time")
        + ", last renewed "
        + s.lastRenewal(h).map(t -> human(Duration.between(t, now)) + " ago").orElse("never")
        + "; lease "
        + human(lease)
        + ") on behalf of "
        + by;
  }

  /** A duration as {@code 1h2m3s}, {@code 4m5s} or {@code 6.2s}. */
  public static String human(Duration d) {
    long ms = d.toMillis();
    if (ms < 60_000) {
      return String.format(java.util.Locale.ROOT, "%.1fs", ms / 1000.0);
    }
    long s = ms / 1000;
    String out = (s % 60) + "s";
    if (s >= 60) {
      out = ((s / 60) % 60) + "m" + out;
    }
    if (s >= 3600) {
      out = (s / 3600) + "h" + out;
    }
    return out;
  }

  /**
   * Renews {@code holder}'s lease (a live holder calls this at least once per lease while it holds
   * the lock).
   *
   * @return whether {@code holder} holds the lock (false: nothing was written)
   * @throws IOException as {@link #tryLock}
   */
  public boolean renew(String holder) throws IOException {
    checkHolder(holder);
    return mutate(
        st -> {
          Optional<Semaphore> next = st.semaphore().withRenewal(holder, clock.instant());
          if (next.isEmpty()) {
            return Mutation.none(false);
          }
          return Mutation.write(next.get(), ns -> true);
        });
  }

  /**
   * Takes a slot for {@code holder}, polling (with backoff and jitter) while the semaphore is full.
   *
   * @return the last result: {@link LockResult#held()} is false if {@code maxWait} passed first
   * @throws IOException as {@link #tryLock}
   */
  public LockResult lock(String holder, Duration maxWait) throws IOException {
    long deadline = System.nanoTime() + maxWait.toNanos();
    int attempt = 0;
    while (true) {
      LockResult r = tryLock(holder);
      if (r.held()) {
        return r;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return r;
      }
      sleep(Math.min(retry.pollDelayMillis(attempt++), Math.max(1, left / 1_000_000)));
    }
  }

  /**
   * Frees {@code holder}'s slot if it has one. Whether the caller may release another machine's
   * hold is the caller's policy ({@code basaltctl lock unlock --force}).
   *
   * @throws IOException as {@link #tryLock}
   */
  public UnlockOutcome unlock(String holder) throws IOException {
    checkHolder(holder);
    return mutate(
        st -> {
          Optional<Semaphore> next = st.semaphore().withUnlock(holder);
          if (next.isEmpty()) {
            return Mutation.none(UnlockOutcome.NOT_HELD);
          }
          return Mutation.write(next.get(), ns -> UnlockOutcome.RELEASED);
        });
  }

  /**
   * Sets the number of machines that may hold the lock at once (locksmith's set-max: the free count
   * moves by the same difference, holders stay).
   *
   * @return the semaphore after the change
   * @throws IllegalArgumentException if {@code max} is negative
   * @throws IOException as {@link #tryLock}
   */
  public Status setMax(int max) throws IOException {
    if (max < 0) {
      throw new IllegalArgumentException("max must be 0 or more, got " + max);
    }
    return mutate(
        st -> {
          if (st.exists() && st.semaphore().max() == max) {
            return Mutation.none(st);
          }
          return Mutation.write(st.semaphore().withMax(max), ns -> ns);
        });
  }

  // --- internals -----------------------------------------------------------------------------

  private static void checkHolder(String holder) {
    if (holder == null || holder.isBlank()) {
      throw new IllegalArgumentException("holder (machine id) must not be empty");
    }
  }

  private Status toStatus(Optional<KeyValue> kv) throws SemaphoreFormatException {
    if (kv.isEmpty()) {
      return new Status(key, Semaphore.initial(), 0, false);
    }
    return new Status(key, Semaphore.parse(key, kv.get().value()), kv.get().modRevision(), true);
  }

  /** A pure decision over the current semaphore: maybe a new value, and the result to return. */
  private static final class Mutation<T> {
    final Semaphore next;
    final T result;
    final java.util.function.Function<Status, T> onWritten;

    private Mutation(Semaphore next, T result, java.util.function.Function<Status, T> onWritten) {
      this.next = next;
      this.result = result;
      this.onWritten = onWritten;
    }

    static <T> Mutation<T> none(T result) {
      return new Mutation<>(null, result, null);
    }

    static <T> Mutation<T> write(Semaphore next, java.util.function.Function<Status, T> onWritten) {
      return new Mutation<>(next, null, onWritten);
    }
  }

  private interface Decide<T> {
    Mutation<T> apply(Status current) throws IOException;
  }

  private interface Io<T> {
    T get() throws IOException;
  }

  /**
   * Read, decide, compare-and-swap on the mod revision; on conflict decide again on the new value.
   */
  private <T> T mutate(Decide<T> decide) throws IOException {
    long deadline = System.nanoTime() + retry.giveUpAfter().toNanos();
    Optional<KeyValue> current = null;
    int attempt = 0;
    int conflicts = 0;
    while (true) {
      try {
        if (current == null) {
          current = etcd.get(key);
        }
        Status st = toStatus(current);
        Mutation<T> m = decide.apply(st);
        if (m.next == null) {
          return m.result;
        }
        EtcdClient.CasResult r = etcd.compareAndSwap(key, m.next.toJson(), st.modRevision());
        if (r.succeeded()) {
          return m.onWritten.apply(new Status(key, m.next, r.revision(), true));
        }
        conflicts++;
        current = r.current();
        if (System.nanoTime() - deadline > 0) {
          throw new IOException(
              "etcd key "
                  + key
                  + ": gave up after "
                  + conflicts
                  + " compare-and-swap conflicts in "
                  + retry.giveUpAfter().toSeconds()
                  + " s");
        }
      } catch (EtcdUnavailableException e) {
        // the outcome of a failed write is unknown: read again and decide again (idempotent)
        current = null;
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
      }
      sleep(retry.casDelayMillis(attempt++));
    }
  }

  private <T> T retrying(Io<T> op) throws IOException {
    long deadline = System.nanoTime() + retry.giveUpAfter().toNanos();
    int attempt = 0;
    while (true) {
      try {
        return op.get();
      } catch (EtcdUnavailableException e) {
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
      }
      sleep(retry.casDelayMillis(attempt++));
    }
  }

  private static void sleep(long millis) throws InterruptedIOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the reboot lock");
    }
  }
}
