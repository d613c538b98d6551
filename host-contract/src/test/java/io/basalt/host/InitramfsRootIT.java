package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The initramfs {@code /init}'s ROOT and /usr-check functions, sourced with {@code
 * BASALT_INIT_FUNCTIONS=1} and run on a temp file as the ROOT device, with fake {@code blkid},
 * {@code mkfs.ext4}, {@code e2fsck}, {@code resize2fs} and {@code veritysetup} that log their calls
 * (the real {@code dd} reads and clears the marker). Run with {@code sh} and, where installed,
 * busybox's sh (the shell of the initramfs).
 */
class InitramfsRootIT {

  private static final Path INIT = InitUnitsScripts.INIT;

  private static final String HASH = "ab".repeat(32);

  @TempDir Path tmp;
  private Path fakes;
  private Path calls;
  private Path dev;
  private Path mark;

  @BeforeEach
  void fakes() throws IOException {
    assertTrue(Files.isRegularFile(INIT), "script not found at " + INIT.toAbsolutePath());
    fakes = Files.createDirectories(tmp.resolve("bin"));
    calls = tmp.resolve("calls");
    dev = tmp.resolve("root.img");
    Files.write(dev, new byte[64 * 1024]);
    mark = tmp.resolve("sysroot/var/lib/basalt/verified/" + HASH);
    // blkid prints $FAKE_BLKID (lines separated by ';') and exits $FAKE_BLKID_RC.
    fake(
        "blkid",
        "echo \"blkid $*\" >>\"$CALLS\"\n"
            + "[ -n \"$FAKE_BLKID\" ] && echo \"$FAKE_BLKID\" | tr ';' '\\n'\n"
            + "exit \"${FAKE_BLKID_RC:-2}\"");
    for (String tool : List.of("mkfs.ext4", "e2fsck", "resize2fs")) {
      fake(tool, "echo \"" + tool + " $*\" >>\"$CALLS\"");
    }
    fake("veritysetup", "echo \"veritysetup $*\" >>\"$CALLS\"\nexit \"${FAKE_VERITY_RC:-0}\"");
  }

  private void fake(String name, String body) throws IOException {
    InitUnitsScripts.fake(fakes, name, body);
  }

  private void marked() throws IOException {
    try (FileChannel c = FileChannel.open(dev, StandardOpenOption.WRITE)) {
      c.write(ByteBuffer.wrap(RootPartition.firstBootMarker()), 0);
    }
  }

  private boolean stillMarked() throws IOException {
    byte[] marker = RootPartition.firstBootMarker();
    byte[] head = new byte[marker.length];
    try (FileChannel c = FileChannel.open(dev, StandardOpenOption.READ)) {
      c.read(ByteBuffer.wrap(head), 0);
    }
    if (java.util.Arrays.equals(head, marker)) {
      return true;
    }
    assertArrayEquals(new byte[marker.length], head, "the marker's bytes are zeros once cleared");
    return false;
  }

  private List<String> calls() throws IOException {
    return Files.exists(calls) ? Files.readAllLines(calls, StandardCharsets.UTF_8) : List.of();
  }

  /** The outcome of one run: exit status and output. */
  private record Run(int exit, String out) {
    boolean emergency() {
      return exit == 3 && out.contains("EMERGENCY");
    }
  }

  /**
   * Sources /init and runs {@code lines} after it, with emergency() replaced by one that exits 3
   * and grow_partition() by a logged no-op (it reads /sys).
   */
  private Run run(Map<String, String> env, String... lines) throws Exception {
    String driver =
        String.join(
            "\n",
            "BASALT_INIT_FUNCTIONS=1",
            ". \"$INIT\"",
            "PATH=$FAKES:$PATH",
            "emergency() { say \"$*\"; echo EMERGENCY; exit 3; }",
            "grow_partition() { echo \"grow_partition $*\" >>\"$CALLS\"; }",
            String.join("\n", lines),
            "echo \"FIRSTBOOT=$FIRSTBOOT\"",
            "");
    Path script = tmp.resolve("driver.sh");
    Files.writeString(script, driver);
    Run sh = run(List.of("sh"), script, env);
    if (InitUnitsScripts.busybox().isPresent()) {
      Files.deleteIfExists(calls);
      Run bb = run(List.of(InitUnitsScripts.busybox().get().toString(), "sh"), script, env);
      assertEquals(sh, bb, "busybox sh differs from sh");
    }
    return sh;
  }

  private Run run(List<String> shell, Path script, Map<String, String> env) throws Exception {
    // Each shell starts from the same device and record of calls.
    byte[] device = Files.readAllBytes(dev);
    boolean hadMark = Files.exists(mark);
    List<String> cmd = new ArrayList<>(shell);
    cmd.add(script.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Map<String, String> e = pb.environment();
    e.put("PATH", "/usr/bin" + File.pathSeparator + "/bin");
    e.put("INIT", INIT.toAbsolutePath().toString());
    e.put("FAKES", fakes.toString());
    e.put("CALLS", calls.toString());
    e.putAll(env);
    Files.deleteIfExists(calls);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    Run r = new Run(p.exitValue(), out);
    if (!shell.get(0).equals("sh")) {
      return r;
    }
    // Restore for the second shell, keeping what the first did in reach of the caller.
    Path done = tmp.resolve("after-sh");
    Files.write(done, Files.readAllBytes(dev));
    Files.write(dev, device);
    if (!hadMark) {
      Files.deleteIfExists(mark);
    }
    return r;
  }

  private Run prepareRoot(Map<String, String> env) throws Exception {
    return run(env, "prepare_root \"$DEV\" /dev/fakedisk");
  }

  private Map<String, String> blkidNothing() {
    return Map.of("DEV", dev.toString(), "FAKE_BLKID_RC", "2", "FAKE_BLKID", "");
  }

  private Map<String, String> blkidExt4() {
    return Map.of(
        "DEV",
        dev.toString(),
        "FAKE_BLKID_RC",
        "0",
        "FAKE_BLKID",
        "DEVNAME=" + dev + ";UUID=0a1b;TYPE=ext4;USAGE=filesystem");
  }

  private List<String> mkfsCalls() throws IOException {
    return calls().stream().filter(c -> c.startsWith("mkfs")).toList();
  }

  @Test
  void noFileSystemAndNoMarkerDropsToTheEmergencyShellWithoutFormatting() throws Exception {
    Run r = prepareRoot(blkidNothing());
    assertTrue(r.emergency(), r.out());
    assertTrue(
        r.out().contains("has no file system and is not marked for first boot: refusing to format"),
        r.out());
    assertTrue(r.out().contains("e2fsck -b 32768"), "says how to recover: " + r.out());
    assertEquals(List.of(), mkfsCalls());
  }

  @Test
  void theFirstBootMarkerMakesExt4AndIsCleared() throws Exception {
    marked();
    Run r = prepareRoot(blkidNothing());
    assertEquals(0, r.exit(), r.out());
    assertEquals(List.of("mkfs.ext4 -q -F -L ROOT " + dev), mkfsCalls());
    assertTrue(calls().contains("grow_partition " + dev + " /dev/fakedisk"), calls().toString());
    assertTrue(r.out().contains("FIRSTBOOT=1"), r.out());
    Files.write(dev, Files.readAllBytes(tmp.resolve("after-sh")));
    assertFalse(stillMarked(), "the first boot clears the marker");
  }

  @Test
  void anExt4RootIsNeverFormatted() throws Exception {
    Run r = prepareRoot(blkidExt4());
    assertEquals(0, r.exit(), r.out());
    assertEquals(List.of(), mkfsCalls());
    assertTrue(r.out().contains("FIRSTBOOT=\n"), r.out());
  }

  @Test
  void aMarkerLeftNextToExt4IsClearedNotFormatted() throws Exception {
    // A power cut after mkfs.ext4 and before the marker was cleared.
    marked();
    Run r = prepareRoot(blkidExt4());
    assertEquals(0, r.exit(), r.out());
    assertEquals(List.of(), mkfsCalls());
    Files.write(dev, Files.readAllBytes(tmp.resolve("after-sh")));
    assertFalse(stillMarked(), "the marker is cleared once ROOT holds ext4");
  }

  @Test
  void aFailingProbeDropsToTheEmergencyShellEvenWhenMarked() throws Exception {
    marked();
    Run r =
        prepareRoot(Map.of("DEV", dev.toString(), "FAKE_BLKID_RC", "4", "FAKE_BLKID", "I/O error"));
    assertTrue(r.emergency(), r.out());
    assertEquals(List.of(), mkfsCalls());
  }

  private Run checkUsr(String verify, String verityRc) throws Exception {
    return run(
        Map.of("MARK", mark.toString(), "FAKE_VERITY_RC", verityRc),
        "VERIFY=" + verify + " USRHASH=" + HASH + " HASHOFFSET=4096 LIVE=",
        "check_usr /dev/fakeusr \"$MARK\"",
        "record_usr_checked \"$MARK\"");
  }

  private List<String> verifyCalls() throws IOException {
    return calls().stream().filter(c -> c.startsWith("veritysetup verify")).toList();
  }

  @Test
  void lazyChecksNothingSoRecordsNothing() throws Exception {
    Run r = checkUsr("lazy", "0");
    assertEquals(0, r.exit(), r.out());
    assertEquals(List.of(), verifyCalls());
    assertFalse(Files.exists(mark), "no full check ran, so /usr must not be marked as checked");
  }

  @Test
  void firstChecksEveryBlockAndRecordsIt() throws Exception {
    Run r = checkUsr("first", "0");
    assertEquals(0, r.exit(), r.out());
    assertEquals(
        List.of("veritysetup verify /dev/fakeusr /dev/fakeusr " + HASH + " --hash-offset=4096"),
        verifyCalls());
    assertTrue(Files.exists(mark), "a completed full check is recorded");
  }

  @Test
  void firstWithTheRecordChecksNothing() throws Exception {
    Files.createDirectories(mark.getParent());
    Files.createFile(mark);
    Run r = checkUsr("first", "0");
    assertEquals(0, r.exit(), r.out());
    assertEquals(List.of(), verifyCalls());
  }

  @Test
  void aFailedCheckRecordsNothing() throws Exception {
    Run r = checkUsr("full", "1");
    assertTrue(r.emergency(), r.out());
    assertTrue(r.out().contains("/usr verity check failed"), r.out());
    assertFalse(Files.exists(mark));
  }
}
