package io.basalt.qemu;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs reference host tools for tests, failing with their output when they fail. */
final class Host {
  private Host() {}

  static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IOException(List.of(cmd) + " timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException(List.of(cmd) + " failed with exit " + p.exitValue() + ":\n" + out);
    }
    return out;
  }

  /**
   * Copies {@code from} to {@code to} (replacing it) keeping holes: a built disk.raw is 2.5 GB long
   * with 0.36 GB of data, and a plain {@code Files.copy} writes every zero of it. Test runs copy
   * the disk several times; dense copies filled the CI machine's disk.
   *
   * @throws IOException if cp fails
   */
  static void sparseCopy(Path from, Path to) throws IOException, InterruptedException {
    run("cp", "--sparse=always", "--reflink=auto", "-f", "--", from.toString(), to.toString());
  }

  /**
   * An ISO 9660 image {@code iso} (replaced) of the files under {@code dir}, labelled {@code
   * label}, with Rock Ridge and Joliet names, made by {@code xorriso} as cloud platforms make their
   * config drives ({@code config-2}) and OpenNebula its context CD-ROM ({@code CONTEXT}).
   *
   * @throws IOException if xorriso fails
   */
  static Path configIso(Path dir, String label, Path iso) throws IOException, InterruptedException {
    Files.deleteIfExists(iso);
    run(
        "xorriso",
        "-as",
        "mkisofs",
        "-quiet",
        "-R",
        "-J",
        "-V",
        label,
        "-o",
        iso.toString(),
        dir.toString());
    return iso;
  }

  /** A TCP port free on 127.0.0.1 now (for a hostfwd or a server of the test's own). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * A real {@code ssh} into a guest through a hostfwd on 127.0.0.1:{@code port} as {@code user}
   * with {@code key} only (batch mode, no known hosts), retried up to 6 times 10 s apart while sshd
   * comes up.
   *
   * @return the command's output, trimmed; or {@code "ssh USER failed: "} and the last attempt's
   *     exit and output, for the caller's assertion to show
   */
  static String ssh(Path key, String user, int port, String command)
      throws IOException, InterruptedException {
    List<String> cmd =
        List.of(
            "ssh",
            "-i",
            key.toString(),
            "-p",
            Integer.toString(port),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=30",
            "-o",
            "LogLevel=ERROR",
            user + "@127.0.0.1",
            command);
    String last = "";
    for (int attempt = 1; attempt <= 6; attempt++) {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      }
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        last = "attempt " + attempt + ": timed out: " + out;
      } else if (p.exitValue() == 0) {
        return out;
      } else {
        last = "attempt " + attempt + ": exit " + p.exitValue() + ": " + out;
      }
      Thread.sleep(10_000);
    }
    return "ssh " + user + " failed: " + last;
  }

  /** Bytes of disk that {@code file} takes (its allocated 512-byte blocks), from stat(1). */
  static long allocatedBytes(Path file) throws IOException, InterruptedException {
    return 512 * Long.parseLong(run("stat", "-c", "%b", "--", file.toString()).strip());
  }
}
