package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * init-units' {@code /usr/lib/basalt/boot-fallback} (basalt-update-fallback.service, started when a
 * boot health check fails) against a temp ESP, a fake efivarfs {@code LoaderBootCountPath} and a
 * fake {@code systemctl}: it reboots only when the loader can then choose another entry, so a
 * lasting failure never turns into a reboot loop. Entry names come from {@link BootEntry}.
 */
class BootFallbackIT {

  private static final Path SCRIPT = InitUnitsScripts.script("libexec/boot-fallback");

  private static final String BOOT_COUNT_VAR =
      "LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

  @TempDir Path tmp;
  private Path esp;
  private Path efivars;
  private Path systemctl;
  private Path toolsFirst;

  @BeforeEach
  void fakes() throws IOException {
    assertTrue(Files.isRegularFile(SCRIPT), "script not found at " + SCRIPT.toAbsolutePath());
    esp = tmp.resolve("efi");
    Files.createDirectories(esp.resolve(BootEntry.ENTRIES_DIR));
    efivars = Files.createDirectories(tmp.resolve("efivars"));
    systemctl = tmp.resolve("bin/systemctl");
    Files.createDirectories(systemctl.getParent());
    Files.writeString(systemctl, "#!/bin/sh\necho \"CALLED systemctl $*\"\n");
    Files.setPosixFilePermissions(systemctl, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  /** An entry file on the ESP, as the builder or the agent names it. */
  private void entry(BootEntry e) throws IOException {
    Files.writeString(
        esp.resolve(BootEntry.ENTRIES_DIR).resolve(e.fileName()),
        e.text("basalt.slot=" + e.slot()));
  }

  /**
   * The running entry as systemd-boot exports it when it counts the boot: efivarfs' 4 attribute
   * bytes, then the ESP path of the (already renamed) entry file in UTF-16LE with a final NUL.
   */
  private void counted(BootEntry running) throws IOException {
    entry(running);
    String path = "\\loader\\entries\\" + running.fileName() + "\0";
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(new byte[] {7, 0, 0, 0});
    b.write(path.getBytes(StandardCharsets.UTF_16LE));
    Files.write(efivars.resolve(BOOT_COUNT_VAR), b.toByteArray());
  }

  /**
   * Runs the script with {@code sh} and, where busybox is installed, with busybox's sh (the shell
   * it must work with), and checks both say the same.
   */
  private String run() throws Exception {
    String out = run(List.of("sh"));
    if (InitUnitsScripts.busybox().isPresent()) {
      String busybox = InitUnitsScripts.busybox().get().toString();
      assertEquals(out, run(List.of(busybox, "sh")), "busybox sh differs from sh");
    }
    return out;
  }

  private String run(List<String> shell) throws Exception {
    List<String> cmd = new ArrayList<>(shell);
    cmd.add(SCRIPT.toAbsolutePath().toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put(
        "PATH",
        (toolsFirst == null ? "" : toolsFirst + File.pathSeparator)
            + "/usr/bin"
            + File.pathSeparator
            + "/bin");
    env.put("BASALT_ESP", esp.toString());
    env.put("BASALT_EFIVARS", efivars.toString());
    env.put("BASALT_SYSTEMCTL", systemctl.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  private static List<String> calls(String out) {
    return out.lines().filter(l -> l.startsWith("CALLED ")).toList();
  }

  private static void assertStaysUp(String out) {
    assertEquals(List.of(), calls(out), out);
    assertTrue(out.contains("not rebooting"), out);
  }

  @Test
  void theOnlyEntryWithNoTriesLeftStaysUp() throws Exception {
    // A fresh machine: its one counted entry used up its tries, and the loader boots it anyway.
    counted(new BootEntry("1.0", "A", 0, 3));
    String out = run();
    assertStaysUp(out);
    assertTrue(out.contains("no other boot entry"), out);
  }

  @Test
  void theOnlyEntryWithTriesLeftStaysUp() throws Exception {
    counted(new BootEntry("1.0", "A", 2, 1));
    assertStaysUp(run());
  }

  @Test
  void aBlessedEntryOfTheOtherSlotMeansReboot() throws Exception {
    entry(new BootEntry("1.0", "A", null, null));
    counted(new BootEntry("1.1", "B", 1, 2));
    String out = run();
    assertEquals(List.of("CALLED systemctl reboot"), calls(out), out);
    assertTrue(out.contains(BootEntry.ENTRIES_DIR + "/basalt-1.0-A.conf"), out);
  }

  @Test
  void anEntryOfTheOtherSlotWithTriesLeftMeansReboot() throws Exception {
    entry(new BootEntry("1.0", "A", 2, 1));
    counted(new BootEntry("1.1", "B", 0, 3));
    assertEquals(List.of("CALLED systemctl reboot"), calls(run()));
  }

  @Test
  void anotherEntryWithNoTriesLeftStaysUp() throws Exception {
    entry(new BootEntry("1.0", "A", 0, 3));
    counted(new BootEntry("1.1", "B", 1, 2));
    String out = run();
    assertStaysUp(out);
    assertTrue(out.contains("basalt-1.0-A+0-3.conf has no tries left"), out);
  }

  @Test
  void anotherEntryOfTheRunningSlotStaysUp() throws Exception {
    // A stale entry of the same slot boots the same kernel and /usr: no way out through it.
    entry(new BootEntry("0.9", "B", null, null));
    counted(new BootEntry("1.1", "B", 1, 2));
    assertStaysUp(run());
  }

  @Test
  void aBootTheLoaderDoesNotCountStaysUp() throws Exception {
    entry(new BootEntry("1.0", "A", null, null));
    entry(new BootEntry("1.1", "B", null, null));
    String out = run();
    assertStaysUp(out);
    assertTrue(out.contains("not counted"), out);
  }

  @Test
  void anEfivarfsFileThatCannotSeekIsReadAsAStream() throws Exception {
    // efivarfs files are regular files that refuse lseek: coreutils' tail -c +5 FILE failed with
    // "cannot seek to relative offset 4: Illegal seek" on a real machine (QEMU, UpdateEndToEndIT),
    // so the counted boot read as '' and a failed update never fell back. A tail that fails the
    // same way on a file operand stands in for efivarfs here.
    toolsFirst = Files.createDirectories(tmp.resolve("efivarfs-tools"));
    Path tail = toolsFirst.resolve("tail");
    Files.writeString(
        tail,
        String.join(
            "\n",
            "#!/bin/sh",
            "for a in \"$@\"; do",
            "  if [ -f \"$a\" ]; then",
            "    echo \"tail: $a: cannot seek to relative offset 4: Illegal seek\" >&2; exit 1",
            "  fi",
            "done",
            "exec /usr/bin/tail \"$@\"",
            ""));
    Files.setPosixFilePermissions(tail, PosixFilePermissions.fromString("rwxr-xr-x"));
    entry(new BootEntry("2.0", "B", null, null));
    counted(new BootEntry("3.0", "A", 2, 1));
    String out = run();
    assertEquals(List.of("CALLED systemctl reboot"), calls(out), out);
  }

  @Test
  void anUnreadableBootCountPathStaysUp() throws Exception {
    entry(new BootEntry("1.0", "A", null, null));
    Files.write(efivars.resolve(BOOT_COUNT_VAR), new byte[] {7, 0, 0, 0, 'x', 0});
    String out = run();
    assertStaysUp(out);
    assertTrue(out.contains("not a Basalt boot entry"), out);
  }
}
