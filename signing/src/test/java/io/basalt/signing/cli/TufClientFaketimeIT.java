package io.basalt.signing.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.signing.tuf.repo.Passphrases;
import io.basalt.signing.tuf.repo.RepoServer;
import io.basalt.signing.tuf.repo.Repository;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the tuf-client CLI in its own JVM, as the conformance suite does, against a repository
 * served on loopback whose metadata expired ten days ago: with the real clock it must fail, under
 * Debian's {@code faketime} set to a moment inside the validity window it must succeed.
 */
class TufClientFaketimeIT {
  @TempDir Path tmp;

  record Result(int exit, String out) {}

  private static Result cli(List<String> prefix, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(TufClientCommand.class.getName());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      byte[] out = p.getInputStream().readAllBytes();
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tuf-client did not finish: " + cmd);
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly();
    }
  }

  private Set<String> files(Path d) throws Exception {
    try (Stream<Path> s = Files.list(d)) {
      return s.map(x -> x.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  @Test
  void followsTheSystemClockAndWorksUnderFaketime() throws Exception {
    Instant t0 = Instant.now().minus(Duration.ofDays(10)).truncatedTo(ChronoUnit.SECONDS);
    Path repo = tmp.resolve("repo");
    Repository r =
        Repository.init(
            repo,
            new Repository.InitOptions().expires("timestamp", "P1D"),
            Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "it")),
            Clock.fixed(t0, ZoneOffset.UTC),
            new SecureRandom());
    r.addTarget(
        "targets",
        "stable/update.raw",
        Files.writeString(tmp.resolve("u"), "payload"),
        Map.of("version", "1"));
    r.publish();
    String fake =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .format(LocalDateTime.ofInstant(t0.plus(Duration.ofHours(1)), ZoneOffset.UTC));
    List<String> faketime = List.of("env", "TZ=UTC", "faketime", fake);
    List<String> real = List.of();

    try (RepoServer server = RepoServer.start(repo, 0)) {
      String meta = server.baseUrl() + "metadata";
      String targets = server.baseUrl() + "targets/";
      Path d = tmp.resolve("client-metadata");
      Path t = tmp.resolve("client-targets");

      Result init =
          cli(
              real,
              "--metadata-dir",
              d.toString(),
              "init",
              repo.resolve("metadata/1.root.json").toString());
      assertEquals(0, init.exit(), init.out());
      assertEquals(Set.of("root.json"), files(d));

      Result expired = cli(real, "--metadata-url", meta, "--metadata-dir", d.toString(), "refresh");
      assertEquals(1, expired.exit(), expired.out());
      assertTrue(expired.out().contains("timestamp: expired at"), expired.out());

      Result ok = cli(faketime, "--metadata-dir", d.toString(), "--metadata-url", meta, "refresh");
      assertEquals(0, ok.exit(), ok.out());
      assertEquals(
          Set.of("root.json", "timestamp.json", "snapshot.json", "targets.json"), files(d));
      for (String f : List.of("root.json", "timestamp.json", "snapshot.json", "targets.json")) {
        assertArrayEquals(
            Files.readAllBytes(repo.resolve("metadata").resolve(f)),
            Files.readAllBytes(d.resolve(f)),
            f);
      }

      Result dl =
          cli(
              faketime,
              "--target-name",
              "stable/update.raw",
              "--metadata-url",
              meta,
              "--target-dir",
              t.toString(),
              "--metadata-dir",
              d.toString(),
              "--target-base-url",
              targets,
              "download");
      assertEquals(0, dl.exit(), dl.out());
      assertEquals("payload", Files.readString(t.resolve("stable%2Fupdate.raw")));
      Result again =
          cli(
              faketime,
              "--metadata-url",
              meta,
              "--metadata-dir",
              d.toString(),
              "--target-name",
              "stable/update.raw",
              "--target-dir",
              t.toString(),
              "--target-base-url",
              targets,
              "download");
      assertEquals(0, again.exit(), again.out());
      assertTrue(again.out().contains("already present"), again.out());

      Result missing =
          cli(
              faketime,
              "--metadata-url",
              meta,
              "--metadata-dir",
              d.toString(),
              "--target-name",
              "nope",
              "--target-dir",
              t.toString(),
              "--target-base-url",
              targets,
              "download");
      assertEquals(1, missing.exit(), missing.out());
      Result usage = cli(real, "--metadata-dir", d.toString(), "--bogus", "refresh");
      assertEquals(1, usage.exit(), usage.out());
      assertEquals(
          Set.of("root.json", "timestamp.json", "snapshot.json", "targets.json"), files(d));
    }
  }
}
