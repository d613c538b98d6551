package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import com.sun.net.httpserver.HttpServer;
import io.basalt.host.BootEntry;
import io.basalt.signing.tuf.HashMismatchException;
import io.basalt.update.agent.SemVer;
import io.basalt.update.agent.UpdateChecker;
import io.basalt.update.testing.RepoRangeSource;
import io.basalt.update.testing.TufFixture;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class InstallerTest {

  static final String CMDLINE =
      "mount.usr=PARTUUID=aaaaaaaa-0000-0000-0000-00000000000a usrhash="
          + "11".repeat(32)
          + " basalt.usr.hashoffset=4096 basalt.slot=A basalt.version=1.0.0 console=tty0 console=ttyS0,115200 quiet";
  static final String ROOT_HASH = "cd".repeat(32);

  // The TUF repository is expensive to make (key derivation); one for the class, copied per test.
  private static final FileSystem REPO_FS = Jimfs.newFileSystem(Configuration.unix());
  private static TufFixture tuf;
  private static byte[] usrImg;
  private static byte[] kernel;
  private static byte[] initrd;

  private FileSystem fs;
  private Path esp;
  private Path slotB;
  private Path slotA;
  private Offer offer;
  private HostInfo host;

  @BeforeAll
  static void repo() throws Exception {
    tuf = new TufFixture(REPO_FS.getPath("/t"));
    Random r = new Random(42);
    usrImg = new byte[3 * 1024 * 1024 + 4096];
    r.nextBytes(usrImg);
    kernel = new byte[200_000];
    r.nextBytes(kernel);
    initrd = new byte[300_000];
    r.nextBytes(initrd);
    tuf.addRelease("stable", "x86-64", "2.0.0", usrImg, ROOT_HASH, 3 * 1024 * 1024, kernel, initrd);
    tuf.publish();
  }

  @BeforeEach
  void setUp() throws Exception {
    fs = Jimfs.newFileSystem(Configuration.unix());
    offer =
        new UpdateChecker(tuf.updater(TufFixture.T0.plusSeconds(60)), tuf.clientDir)
            .check("stable", "x86-64", SemVer.parse("1.0.0"), Set.of(), null, false)
            .offer()
            .orElseThrow();
    host = HostInfo.parse(CMDLINE, "cmdline");
    esp = fs.getPath("/efi");
    Files.createDirectories(esp.resolve("loader/entries"));
    Files.writeString(
        esp.resolve("loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(CMDLINE.replace(" quiet", "")));
    Files.createDirectories(esp.resolve("basalt/A"));
    Files.writeString(esp.resolve("basalt/A/vmlinuz"), "kernel 1.0.0");
    Path dev = fs.getPath("/dev");
    Files.createDirectories(dev);
    TestBootDisk.write(fs.getPath("/"));
    slotA = dev.resolve("vda2");
    slotB = dev.resolve("vda3");
    Files.write(slotA, new byte[8 << 20]);
    Files.write(slotB, new byte[8 << 20]);
  }

  /**
   * Checks the slot holds exactly the signed image (the real check is veritysetup, in VerityIT).
   */
  private final VerityVerifier contentCheck =
      (device, rootHash, hashOffset) -> {
        byte[] onSlot = Arrays.copyOf(Files.readAllBytes(device), usrImg.length);
        if (!rootHash.equals(ROOT_HASH)
            || hashOffset != 3 * 1024 * 1024
            || !Arrays.equals(onSlot, usrImg)) {
          throw new IOException(device + ": verity check failed");
        }
      };

  private Installer installer(RepoRangeSource src, Installer.Hooks hooks, VerityVerifier v) {
    return new Installer(
        new ResumableDownload(src),
        new SlotDevices(fs.getPath("/")),
        v,
        new Esp(esp),
        fs.getPath("/var/lib/basalt/downloads"),
        hooks,
        null);
  }

  private Path install(RepoRangeSource src, Installer.Hooks hooks) throws IOException {
    return installer(src, hooks, contentCheck)
        .install(offer, URI.create("http://repo/targets/"), true, host);
  }

  private List<String> entries() throws IOException {
    try (var s = Files.list(esp.resolve("loader/entries"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void installsIntoTheInactiveSlotAndWritesTheEntryLast() throws Exception {
    Path entry = install(new RepoRangeSource(tuf.repoDir), null);
    assertEquals("basalt-2.0.0-B+3.conf", entry.getFileName().toString());
    assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), entries());
    assertEquals(
        "title Basalt 2.0.0 (B)\nversion 2.0.0\nlinux /basalt/B/vmlinuz\ninitrd /basalt/B/initramfs\n"
            + "options mount.usr=PARTUUID=bbbbbbbb-0000-0000-0000-00000000000b usrhash="
            + ROOT_HASH
            + " basalt.usr.hashoffset=3145728 basalt.slot=B basalt.version=2.0.0 console=tty0 console=ttyS0,115200\n",
        Files.readString(entry));
    assertArrayEquals(usrImg, Arrays.copyOf(Files.readAllBytes(slotB), usrImg.length));
    assertArrayEquals(kernel, Files.readAllBytes(esp.resolve("basalt/B/vmlinuz")));
    assertArrayEquals(initrd, Files.readAllBytes(esp.resolve("basalt/B/initramfs")));
    assertEquals("kernel 1.0.0", Files.readString(esp.resolve("basalt/A/vmlinuz")));
    assertArrayEquals(new byte[8 << 20], Files.readAllBytes(slotA), "running slot untouched");
    assertFalse(
        Files.exists(fs.getPath("/var/lib/basalt/downloads/2.0.0")), "downloads cleaned up");
  }

  @Test
  void aSupersededVersionsDownloadIsRemovedWhenANewerOneIsInstalled() throws Exception {
    Path old = fs.getPath("/var/lib/basalt/downloads/1.5.0/usr.img.partial");
    Files.createDirectories(old.getParent());
    Files.write(old, new byte[4096]);
    install(new RepoRangeSource(tuf.repoDir), null);
    assertFalse(Files.exists(old.getParent()), "partial download of 1.5.0 removed");
  }

  @Test
  void aTricklingServerFailsTheDownloadAtTheDeadline() throws Exception {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            ex.sendResponseHeaders(200, usrImg.length);
            OutputStream out = ex.getResponseBody();
            for (int i = 0; i < usrImg.length; i++) {
              out.write(usrImg[i]);
              out.flush();
              Thread.sleep(20); // one byte every 20 ms: every read succeeds, the whole never ends
            }
          } catch (IOException | InterruptedException e) {
            // the client hung up
          }
        });
    server.start();
    try {
      URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/usr.img");
      ResumableDownload d =
          new ResumableDownload(new HttpRangeSource(Duration.ofSeconds(30)), Duration.ofSeconds(1));
      Path dir = fs.getPath("/var/lib/basalt/downloads/2.0.0");
      long t0 = System.nanoTime();
      IOException e =
          assertThrows(IOException.class, () -> d.fetch(uri, offer.usr(), dir, "usr.img", n -> {}));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 1000 && ms < 5000, "failed after " + ms + " ms");
      assertTrue(
          e.getMessage()
              .matches(
                  Pattern.quote(uri + ": download not complete within PT1S (DOWNLOAD_DEADLINE): ")
                      + "\\d+ of "
                      + usrImg.length
                      + " bytes; the partial file is kept and the next check resumes it"),
          e.getMessage());
      assertTrue(Files.exists(dir.resolve("usr.img.partial")));
    } finally {
      server.stop(0);
    }
  }

  @Test
  void aServerThatNeverAnswersFailsTheDownloadAtTheDeadline() throws Exception {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            Thread.sleep(20_000); // no status line within the per-read timeout's reach either
          } catch (InterruptedException e) {
            // stopped
          }
        });
    server.start();
    try {
      URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/usr.img");
      ResumableDownload d =
          new ResumableDownload(new HttpRangeSource(Duration.ofSeconds(30)), Duration.ofSeconds(1));
      long t0 = System.nanoTime();
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  d.fetch(
                      uri,
                      offer.usr(),
                      fs.getPath("/var/lib/basalt/downloads/2.0.0"),
                      "usr.img",
                      n -> {}));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 1000 && ms < 5000, "failed after " + ms + " ms");
      assertTrue(
          e.getMessage()
              .startsWith(uri + ": download not complete within PT1S (DOWNLOAD_DEADLINE): 0 of "),
          e.getMessage());
    } finally {
      server.stop(0);
    }
  }

  @Test
  void aCrashAfterAnyStepBeforeTheEntryLeavesTheRunningVersionDefaultAndARerunCompletes()
      throws Exception {
    for (Installer.Step crashAt : Installer.Step.values()) {
      if (crashAt == Installer.Step.ENTRY_WRITTEN) {
        continue;
      }
      setUp();
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  install(
                      new RepoRangeSource(tuf.repoDir),
                      s -> {
                        if (s == crashAt) {
                          throw new IOException("power cut after " + s);
                        }
                      }));
      assertEquals("power cut after " + crashAt, e.getMessage());
      assertEquals(List.of("basalt-1.0.0-A.conf"), entries(), "after a crash at " + crashAt);
      install(new RepoRangeSource(tuf.repoDir), null);
      assertEquals(
          List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"),
          entries(),
          "rerun after " + crashAt);
    }
  }

  @Test
  void interruptedDownloadsResumeWithRangeRequestsAtTenPoints() throws Exception {
    long total = usrImg.length;
    for (int i = 1; i <= 10; i++) {
      RepoRangeSource src = new RepoRangeSource(tuf.repoDir);
      src.cutAfter =
          total * i / 11 - (i == 1 ? 0 : total * (i - 1) / 11); // each run adds the next slice
      assertThrows(IOException.class, () -> install(src, null));
      assertEquals(List.of("basalt-1.0.0-A.conf"), entries());
      assertEquals(
          total * (i - 1) / 11, src.offsets.get(0), "run " + i + " resumed where the last stopped");
    }
    RepoRangeSource src = new RepoRangeSource(tuf.repoDir);
    install(src, null);
    assertEquals(total * 10 / 11, src.offsets.get(0));
    assertArrayEquals(usrImg, Arrays.copyOf(Files.readAllBytes(slotB), usrImg.length));
    assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), entries());
  }

  @Test
  void aServerIgnoringRangesRestartsFromZero() throws Exception {
    RepoRangeSource src = new RepoRangeSource(tuf.repoDir);
    src.cutAfter = 1_000_000;
    assertThrows(IOException.class, () -> install(src, null));
    RepoRangeSource full = new RepoRangeSource(tuf.repoDir);
    full.ignoreRange = true;
    install(full, null);
    assertEquals(1_000_000L, full.offsets.get(0));
    assertArrayEquals(usrImg, Arrays.copyOf(Files.readAllBytes(slotB), usrImg.length));
  }

  @Test
  void payloadNotMatchingTheSignedHashIsRefusedAndTheInactiveEntryUntouched() throws Exception {
    Files.writeString(
        esp.resolve("loader/entries/basalt-0.9.0-B.conf"), BootEntry.fresh("0.9.0", "B").text("x"));
    // The mirror serves other bytes of the same length under the signed name.
    Path served;
    try (var s = Files.walk(tuf.repoDir.resolve("targets"))) {
      served =
          s.filter(p -> p.getFileName().toString().endsWith(".usr.img")).findFirst().orElseThrow();
    }
    byte[] orig = Files.readAllBytes(served);
    byte[] evil = orig.clone();
    evil[12345] ^= 1;
    Files.write(served, evil);
    try {
      HashMismatchException e =
          assertThrows(
              HashMismatchException.class, () -> install(new RepoRangeSource(tuf.repoDir), null));
      assertTrue(e.getMessage().startsWith("stable/x86-64/2.0.0/usr.img: "), e.getMessage());
    } finally {
      Files.write(served, orig);
    }
    assertEquals(List.of("basalt-0.9.0-B.conf", "basalt-1.0.0-A.conf"), entries());
    assertFalse(
        Files.exists(fs.getPath("/var/lib/basalt/downloads/2.0.0/usr.img.partial")),
        "bad bytes not kept for resuming");
    assertArrayEquals(new byte[8 << 20], Files.readAllBytes(slotB), "slot never written");
  }

  @Test
  void verityMismatchWritesNoEntry() throws Exception {
    VerityVerifier refuse =
        (d, h, o) -> {
          throw new IOException(d + ": verity check failed");
        };
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                installer(new RepoRangeSource(tuf.repoDir), null, refuse)
                    .install(offer, URI.create("http://repo/targets/"), true, host));
    assertEquals("/dev/vda3: verity check failed", e.getMessage());
    assertEquals(List.of("basalt-1.0.0-A.conf"), entries());
    assertFalse(Files.exists(esp.resolve("basalt/B/vmlinuz")));
  }

  @Test
  void newOptionsReplaceSlotArgumentsAndDropLoaderAddedOnes() {
    assertEquals(
        "mount.usr=PARTUUID=p usrhash=h basalt.usr.hashoffset=8192 basalt.slot=B basalt.version=2.0.0 console=ttyS0 x.y=1",
        Installer.newOptions(
            "initrd=\\basalt\\A\\initramfs mount.usr=PARTUUID=a usrhash=old basalt.usr.hashoffset=4096 "
                + "basalt.slot=A basalt.version=1.0.0 console=ttyS0 x.y=1",
            "p",
            "h",
            8192,
            "B",
            "2.0.0"));
    assertEquals(
        "mount.usr=PARTUUID=p usrhash=h basalt.usr.hashoffset=1 basalt.slot=B basalt.version=2 console=ttyS0",
        Installer.newOptions("console=ttyS0", "p", "h", 1, "B", "2"));
  }

  @Test
  void entryNamesParseWithBootCounters() {
    var e = Esp.parse(fs.getPath("basalt-2.0.0-rc.1-B+0-3.conf")).orElseThrow();
    assertEquals("2.0.0-rc.1", e.version());
    assertEquals("B", e.slot());
    assertFalse(e.bootable());
    assertTrue(Esp.parse(fs.getPath("basalt-1.0.0-A.conf")).orElseThrow().blessed());
    assertEquals(
        2, Esp.parse(fs.getPath("basalt-1.0.0-A+2-1.conf")).orElseThrow().boot().triesLeft());
    assertTrue(Esp.parse(fs.getPath("other.conf")).isEmpty());
  }
}
