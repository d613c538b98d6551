package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.spec.ImageSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class InstallCommandTest {
  private FileSystem fs;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  private final List<String> verified = new ArrayList<>();
  private static final ImageSpec.Partitions SMALL =
      new ImageSpec.Partitions(64L << 20, 4L << 20, 32L << 20, 1L << 20);

  @BeforeEach
  void setUp() throws IOException {
    fs = Jimfs.newFileSystem(Configuration.unix());
    Path dir = fs.getPath("/build/update");
    io.basalt.image.install.InstallFixtures.payload(dir);
    Files.createDirectories(fs.getPath("/work"));
    Files.createDirectories(fs.getPath("/dev"));
    Files.writeString(fs.getPath("/dev/vda1"), "");
    Files.createDirectories(fs.getPath("/sys/class/block/vda1"));
    Files.writeString(fs.getPath("/sys/class/block/vda1/dev"), "252:1\n");
    Files.writeString(fs.getPath("/sys/class/block/vda1/partition"), "1\n");
  }

  @AfterEach
  void tearDown() throws IOException {
    fs.close();
  }

  private int run(String... args) {
    InstallCommand c = new InstallCommand();
    c.fs = fs;
    c.systemRoot = fs.getPath("/");
    c.partitions = SMALL;
    c.verity = (dev, hash, off) -> verified.add(dev.toString());
    CommandLine cl = new CommandLine(c);
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  @Test
  void dryRunChecksEverythingAndWritesNothing() {
    assertEquals(
        0, run("--source", "/build", "--append-karg", "quiet", "--dry-run", "/work/d.raw"));
    assertEquals(List.of("/build/update/usr.img"), verified);
    assertTrue(out.toString().contains("dry run: nothing written"), out.toString());
    assertTrue(out.toString().contains("slot A options: mount.usr=PARTUUID="), out.toString());
    assertFalse(Files.exists(fs.getPath("/work/d.raw")));
  }

  @Test
  void installsToAnImageFile() throws IOException {
    assertEquals(0, run("--source", "/build/update", "/work/d.raw"), err.toString());
    assertTrue(out.toString().startsWith("installed basalt 0.1.0 to /work/d.raw"), out.toString());
    assertEquals(
        io.basalt.image.pipeline.BasaltDisk.minimumSize(SMALL),
        Files.size(fs.getPath("/work/d.raw")));
  }

  @Test
  void refusalsAreOneLineNamingTheTargetWithTheirExitCode() throws IOException {
    assertEquals(3, run("--source", "/build", "/dev/vda1"));
    assertEquals(
        "basalt install: /dev/vda1: is a partition; give the whole disk\n", err.toString());
    assertTrue(verified.isEmpty(), "the target is checked first");
  }

  @Test
  void aBadPayloadExits4WithNothingWritten() throws IOException {
    Files.write(
        fs.getPath("/build/update/usr.img"),
        new byte[] {1},
        java.nio.file.StandardOpenOption.APPEND);
    assertEquals(4, run("--source", "/build", "/work/d.raw"));
    assertTrue(
        err.toString().startsWith("basalt install: /work/d.raw: /build/update/usr.img: "),
        err.toString());
    assertFalse(Files.exists(fs.getPath("/work/d.raw")));
    assertEquals(4, run("--source", "/work", "/work/d.raw"));
    assertTrue(err.toString().contains("/work: no payload.json in it"), err.toString());
  }

  @Test
  void badKernelArgumentsAndCloudConfigsAreUsageErrors() throws IOException {
    assertEquals(2, run("--source", "/build", "--append-karg", "a b", "/work/d.raw"));
    assertTrue(err.toString().contains("--append-karg 'a b'"), err.toString());
    assertEquals(2, run("--source", "/build", "--append-karg", "usrhash=00", "/work/d.raw"));
    assertTrue(err.toString().contains("the installer writes usrhash itself"), err.toString());
    Files.writeString(
        fs.getPath("/work/cc.yml"), "#cloud-config\nusers: 3\n", StandardCharsets.UTF_8);
    assertEquals(2, run("--source", "/build", "--cloud-config", "/work/cc.yml", "/work/d.raw"));
    assertTrue(err.toString().contains("/work/cc.yml:2:"), err.toString());
    assertEquals(2, run("/work/d.raw"));
    assertTrue(
        err.toString().contains("no --source or --repo given and no boot medium"), err.toString());
    assertFalse(Files.exists(fs.getPath("/work/d.raw")));
  }

  @Test
  void withoutSourceALiveSystemInstallsFromItsMountedIso() throws IOException {
    io.basalt.image.install.InstallFixtures.payload(fs.getPath("/run/basalt/oem/basalt/update"));
    assertEquals(0, run("--dry-run", "/work/d.raw"), err.toString());
    assertEquals(List.of("/run/basalt/oem/basalt/update/usr.img"), verified);
  }
}
