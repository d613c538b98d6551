package io.basalt.update.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An independent observer of a key's history: the reference {@code etcdctl watch --rev=N KEY -w
 * json} run as a child process, every event collected. Thread-safe (synchronized).
 */
public final class HistoryObserver implements AutoCloseable {

  /** One version of the key: its mod revision and value (null when deleted). */
  public record Event(long modRevision, byte[] value) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final Process process;
  private final Thread reader;
  private final List<Event> events = new ArrayList<>();
  private final List<String> garbage = new ArrayList<>();

  public HistoryObserver(EtcdProcess etcd, String key, long fromRevision) throws IOException {
    process = etcd.etcdctl("watch", "--rev=" + fromRevision, key, "-w", "json").start();
    reader = new Thread(this::read, "history-observer");
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode n;
        try {
          n = JSON.readTree(line);
        } catch (IOException e) {
          synchronized (this) {
            garbage.add(line);
          }
          continue;
        }
        for (JsonNode ev : n.path("Events")) {
          JsonNode kv = ev.path("kv");
          JsonNode type = ev.path("type");
          boolean delete = type.asInt(0) == 1 || "DELETE".equals(type.asText());
          long rev = kv.path("mod_revision").asLong();
          byte[] value = delete ? null : Base64.getDecoder().decode(kv.path("value").asText(""));
          synchronized (this) {
            events.add(new Event(rev, value));
            notifyAll();
          }
        }
      }
    } catch (IOException e) {
      // process killed
    }
  }

  /** Waits until an event with mod revision >= {@code revision} arrived; returns all so far. */
  public synchronized List<Event> awaitRevision(long revision, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (events.isEmpty() || events.get(events.size() - 1).modRevision() < revision) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            "observer saw revisions only up to "
                + (events.isEmpty() ? "none" : events.get(events.size() - 1).modRevision())
                + ", expected "
                + revision
                + "; unparsed output: "
                + garbage);
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return List.copyOf(events);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
    reader.join(5000);
  }
}
