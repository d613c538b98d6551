package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

  final RetryPolicy p =
      new RetryPolicy(
          Duration.ofMillis(5),
          Duration.ofMillis(1000),
          Duration.ofSeconds(60),
          Duration.ofMillis(100),
          Duration.ofMillis(3000));

  @Test
  void casBackoffIsExponentialWithFullJitterUpToTheCap() {
    for (int attempt = 0; attempt < 30; attempt++) {
      long ceiling = Math.min(1000, 5L << Math.min(attempt, 20));
      Set<Long> seen = new HashSet<>();
      for (int i = 0; i < 200; i++) {
        long d = p.casDelayMillis(attempt);
        assertTrue(d >= 0 && d <= ceiling, "attempt " + attempt + ": " + d + " > " + ceiling);
        seen.add(d);
      }
      assertTrue(seen.size() > 1, "jittered at attempt " + attempt);
    }
  }

  @Test
  void pollingWaitsBetweenHalfAndTheCeiling() {
    for (int attempt = 0; attempt < 10; attempt++) {
      long ceiling = Math.min(3000, 100L << attempt);
      for (int i = 0; i < 200; i++) {
        long d = p.pollDelayMillis(attempt);
        assertTrue(d >= ceiling / 2 && d <= ceiling, "attempt " + attempt + ": " + d);
      }
    }
  }
}
