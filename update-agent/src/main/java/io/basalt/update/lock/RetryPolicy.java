package io.basalt.update.lock;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How {@link RebootLock} retries: compare-and-swap conflicts and unreachable etcd are retried with
 * exponential backoff and full jitter (a random sleep in [0, min(max, initial * 2^attempt)]) until
 * {@code giveUpAfter}; a full semaphore is polled the same way between {@code pollInitial} and
 * {@code pollMax}. Immutable and thread-safe.
 *
 * @param casInitial first backoff after a conflict or transport failure
 * @param casMax backoff cap
 * @param giveUpAfter how long one operation keeps retrying before it fails
 * @param pollInitial first wait when the semaphore is full
 * @param pollMax cap of that wait
 */
public record RetryPolicy(
    Duration casInitial,
    Duration casMax,
    Duration giveUpAfter,
    Duration pollInitial,
    Duration pollMax) {

  /** Defaults for an agent: 5 ms..1 s backoff, give up after 60 s, poll a full lock 1 s..30 s. */
  public static RetryPolicy defaults() {
    return new RetryPolicy(
        Duration.ofMillis(5),
        Duration.ofSeconds(1),
        Duration.ofSeconds(60),
        Duration.ofSeconds(1),
        Duration.ofSeconds(30));
  }

  /** The same policy with another give-up time (the CLI gives up sooner than the agent). */
  public RetryPolicy withGiveUpAfter(Duration d) {
    return new RetryPolicy(casInitial, casMax, d, pollInitial, pollMax);
  }

  /** The same policy with other polling bounds for a full semaphore. */
  public RetryPolicy withPoll(Duration initial, Duration max) {
    return new RetryPolicy(casInitial, casMax, giveUpAfter, initial, max);
  }

  long casDelayMillis(int attempt) {
    return jitter(casInitial, casMax, attempt);
  }

  long pollDelayMillis(int attempt) {
    long base = Math.max(1, pollInitial.toMillis());
    long cap = Math.max(base, pollMax.toMillis());
    long ceiling = Math.min(cap, base << Math.min(attempt, 20));
    // half fixed, half jitter: a waiting agent polls regularly but never in lockstep with others
    return ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
  }

  private static long jitter(Duration initial, Duration max, int attempt) {
    long base = Math.max(1, initial.toMillis());
    long ceiling = Math.min(Math.max(base, max.toMillis()), base << Math.min(attempt, 20));
    return ThreadLocalRandom.current().nextLong(ceiling + 1);
  }
}
