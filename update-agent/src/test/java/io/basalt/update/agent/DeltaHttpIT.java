package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.BootEntry;
import io.basalt.host.ChunkIndex;
import io.basalt.signing.tuf.repo.RepoServer;
import io.basalt.update.install.TestBootDisk;
import io.basalt.update.install.VerityITAccess;
import io.basalt.update.testing.TufFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The delta path end to end on the build host: two squashfs images made by {@code mksquashfs} +
 * {@code veritysetup format} that share most of their content, v2 published by the real publisher
 * and served by {@code basalt repo serve}'s server over 127.0.0.1, the agent with its real HTTP
 * clients, the slot assembled in place and {@code veritysetup format} over it computing the signed
 * root hash. The server's access log shows what was fetched.
 */
class DeltaHttpIT {

  @TempDir Path tmp;

  /** A 4 MiB file shared by every version, plus a version file and 100 KiB that differ. */
  VerityITAccess.Image image(String version) throws Exception {
    Path tree = tmp.resolve("tree-" + version);
    Files.createDirectories(tree.resolve("share/basalt"));
    byte[] shared = new byte[4 << 20];
    new Random(1).nextBytes(shared);
    Files.write(tree.resolve("share/shared.bin"), shared);
    byte[] own = new byte[100 << 10];
    new Random(version.hashCode()).nextBytes(own);
    Files.write(tree.resolve("share/zz-" + version + ".bin"), own);
    Files.writeString(tree.resolve("share/basalt/version"), version + "\n");
    return VerityITAccess.format(
        tree,
        tmp.resolve("usr-" + version + ".img"),
        "--salt=" + "ab".repeat(32),
        "--uuid=12345678-1234-1234-1234-123456789abc");
  }

  @Test
  void aV1MachineFetchesOnlyTheMissingChunksAndBootsNothingUnverified() throws Exception {
    VerityITAccess.Image v1 = image("1.0.0");
    VerityITAccess.Image v2 = image("2.0.0");
    TufFixture tuf = new TufFixture(tmp.resolve("t"));
    tuf.addPayload(
        "stable",
        "2.0.0",
        v2.bytes(),
        v2.rootHash(),
        v2.hashOffset(),
        "kernel".getBytes(StandardCharsets.UTF_8),
        "initramfs".getBytes(StandardCharsets.UTF_8));
    tuf.publish();
    ChunkIndex index =
        ChunkIndex.parseFile(
            Files.readAllBytes(
                tuf.repoDir.resolve("targets/stable/x86-64/2.0.0/usr.img.chunks.json.gz")),
            "index");
    assertTrue(index.verity() != null, "the publisher read the verity superblock");

    List<String> access = Collections.synchronizedList(new ArrayList<>());
    try (RepoServer rs = RepoServer.start(tuf.repoDir, 0, access::add)) {
      Path root = root(rs.baseUrl().toString(), tuf, v1);
      List<String> events = Collections.synchronizedList(new ArrayList<>());
      UpdateAgent a = agent(root, events);
      String m = a.runCycle(true, null, false);
      assertTrue(m.startsWith("version 2.0.0 installed in slot B"), m + " " + events);

      byte[] slotB = Files.readAllBytes(root.resolve("dev/vda3"));
      assertTrue(Arrays.equals(v2.bytes(), Arrays.copyOf(slotB, v2.bytes().length)));
      List<String> chunkGets =
          access.stream().filter(l -> l.startsWith("GET /targets/chunks/")).toList();
      assertFalse(
          access.stream().anyMatch(l -> l.matches("GET /targets/\\S*usr\\.img 200 .*")),
          "the full usr.img was not downloaded: " + access);
      long fetched =
          chunkGets.stream()
              .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1)))
              .sum();
      String planned =
          events.stream()
              .filter(l -> l.startsWith("delta update: fetch "))
              .findFirst()
              .orElseThrow();
      assertTrue(
          planned.startsWith(
              "delta update: fetch " + fetched + " bytes in " + chunkGets.size() + " chunks"),
          planned + " vs " + access);
      // the shared 4 MiB came from slot A: at most the changed 100 KiB and the metadata around it
      assertTrue(
          fetched < v2.bytes().length / 4, "fetched " + fetched + " of " + v2.bytes().length);
      assertTrue(
          events.stream().anyMatch(l -> l.endsWith(": dm-verity root hash matches the signed one")),
          events.toString());
      assertEquals(fetched, a.status().fetchBytes());
      assertEquals(
          v2.bytes().length - (index.size() - index.verity().hashOffset()) - fetched,
          a.status().reuseBytes());
      System.out.printf(
          "delta over HTTP: %d of %d bytes fetched in %d chunks; access log:%n%s%n",
          fetched, v2.bytes().length, chunkGets.size(), String.join("\n", access));
    }
  }

  private Path root(String repoUrl, TufFixture tuf, VerityITAccess.Image running) throws Exception {
    Path root = tmp.resolve("root");
    String cmdline =
        "mount.usr=PARTUUID=aaaaaaaa-0000-0000-0000-00000000000a usrhash="
            + running.rootHash()
            + " basalt.usr.hashoffset="
            + running.hashOffset()
            + " basalt.slot=A basalt.version=1.0.0 console=ttyS0,115200";
    Files.createDirectories(root.resolve("proc"));
    Files.writeString(root.resolve("proc/cmdline"), cmdline + "\n");
    Files.createDirectories(root.resolve("usr/share/basalt"));
    Files.writeString(
        root.resolve("usr/share/basalt/update.conf"),
        "SERVER=" + repoUrl + "\nREBOOT_STRATEGY=reboot\n");
    Files.copy(tuf.clientDir.resolve("root.json"), root.resolve("usr/share/basalt/root.json"));
    Files.createDirectories(root.resolve("efi/loader/entries"));
    Files.writeString(
        root.resolve("efi/loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(cmdline));
    Files.createDirectories(root.resolve("dev"));
    TestBootDisk.write(root);
    // slot A runs v1 (a slot is larger than its image); slot B is empty
    Files.write(
        root.resolve("dev/vda2"),
        Arrays.copyOf(running.bytes(), running.bytes().length + (1 << 20)));
    Files.write(root.resolve("dev/vda3"), new byte[running.bytes().length + (1 << 20)]);
    return root;
  }

  private UpdateAgent agent(Path root, List<String> events) throws Exception {
    return HttpAgents.started(root, events, false);
  }
}
