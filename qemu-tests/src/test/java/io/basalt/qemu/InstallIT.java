package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.image.cli.Basalt;
import io.basalt.signing.tuf.repo.RepoServer;
import io.basalt.testing.QemuTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code basalt install} of the default image's payload into image files (no VM): a file of
 * disk.raw's size gets exactly disk.raw's bytes (the manifest's sha256); with a cloud-config and an
 * extra kernel argument the disk passes sgdisk's and fsck.vfat's checks, USR-A passes {@code
 * veritysetup verify} against the payload's root hash, the entry carries the argument and OEM the
 * cloud-config; and the refusals leave the target as it was.
 */
@QemuTest
class InstallIT {
  static Path image;
  static JsonNode manifest;

  @TempDir static Path work;

  @BeforeAll
  static void image() throws IOException {
    image = GuestImage.defaultImage();
    manifest = new ObjectMapper().readTree(Files.readAllBytes(image.resolve("manifest.json")));
  }

  private record Run(int exit, String out, String err) {}

  private static Run install(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Basalt.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    String[] argv = new String[args.length + 1];
    argv[0] = "install";
    System.arraycopy(args, 0, argv, 1, args.length);
    int rc = cl.execute(argv);
    return new Run(rc, out.toString(), err.toString());
  }

  private static long artifactSize(String path) {
    for (JsonNode a : manifest.get("artifacts")) {
      if (a.get("path").asText().equals(path)) {
        return a.get("size").asLong();
      }
    }
    throw new AssertionError(path + " not in the manifest");
  }

  private static String artifactSha(String path) {
    for (JsonNode a : manifest.get("artifacts")) {
      if (a.get("path").asText().equals(path)) {
        return a.get("sha256").asText();
      }
    }
    throw new AssertionError(path + " not in the manifest");
  }

  /** A sparse file of {@code size} bytes, all zero but a marker in its first bytes. */
  private static Path emptyTarget(String name, long size) throws IOException {
    Path p = work.resolve(name);
    try (SeekableByteChannel ch =
        Files.newByteChannel(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap("old content".getBytes(StandardCharsets.US_ASCII)));
      ch.position(size - 1);
      ch.write(ByteBuffer.wrap(new byte[1]));
    }
    return p;
  }

  private static String sha256(Path p) throws IOException {
    try (InputStream in = Files.newInputStream(p)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aFileOfDiskRawsSizeGetsDiskRawsBytes() throws Exception {
    Path target = emptyTarget("same.raw", artifactSize("disk.raw"));
    Run r = install("--source", image.toString(), target.toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(artifactSha("disk.raw"), sha256(target));
    Files.delete(target);
  }

  /** A partition of {@code disk} copied out (sparse) for a tool that takes no offset. */
  private static Path extract(Path disk, String sgdiskInfo, String name)
      throws IOException, InterruptedException {
    long first = Long.parseLong(field(sgdiskInfo, "First sector: "));
    long last = Long.parseLong(field(sgdiskInfo, "Last sector: "));
    Path out = work.resolve(name);
    Host.run(
        "dd",
        "if=" + disk,
        "of=" + out,
        "bs=512",
        "skip=" + first,
        "count=" + (last - first + 1),
        "conv=sparse",
        "status=none");
    return out;
  }

  private static String field(String text, String key) {
    for (String l : text.lines().toList()) {
      if (l.startsWith(key)) {
        return l.substring(key.length()).split(" ")[0];
      }
    }
    throw new AssertionError("no '" + key + "' in:\n" + text);
  }

  @Test
  void anInstallWithOptionsPassesTheReferenceTools() throws Exception {
    Path cc = work.resolve("cc.yml");
    Files.writeString(cc, "#cloud-config\nhostname: installed\n", StandardCharsets.UTF_8);
    Path target = work.resolve("opts.raw");
    Run r =
        install(
            "--source",
            image.resolve("update").toString(),
            "--cloud-config",
            cc.toString(),
            "--append-karg",
            "quiet",
            target.toString());
    assertEquals(0, r.exit(), r.err());
    String verify = Host.run("sgdisk", "-v", target.toString());
    assertTrue(verify.contains("No problems found"), verify);
    JsonNode payload =
        new ObjectMapper().readTree(Files.readAllBytes(image.resolve("update/payload.json")));
    Path esp = extract(target, Host.run("sgdisk", "-i", "1", target.toString()), "esp.img");
    Host.run("fsck.vfat", "-n", esp.toString());
    String entry =
        Host.run(
            "env",
            "MTOOLS_SKIP_CHECK=1",
            "mtype",
            "-i",
            esp.toString(),
            "::/loader/entries/basalt-" + payload.get("version").asText() + "-A+3.conf");
    assertTrue(entry.contains("usrhash=" + payload.get("usrRootHash").asText()), entry);
    assertTrue(entry.strip().endsWith(" quiet"), entry);
    Path oem = extract(target, Host.run("sgdisk", "-i", "4", target.toString()), "oem.img");
    Host.run("fsck.vfat", "-n", oem.toString());
    String onOem =
        Host.run(
            "env", "MTOOLS_SKIP_CHECK=1", "mtype", "-i", oem.toString(), "::/cloud-config.yml");
    assertEquals("#cloud-config\nhostname: installed\n", onOem);
    Path usr = extract(target, Host.run("sgdisk", "-i", "2", target.toString()), "usr.img");
    Host.run(
        "veritysetup",
        "verify",
        "--hash-offset=" + payload.get("usrHashOffset").asLong(),
        usr.toString(),
        usr.toString(),
        payload.get("usrRootHash").asText());
    for (Path p : List.of(target, esp, oem, usr)) {
      Files.delete(p);
    }
  }

  @Test
  void aTargetSmallerThanTheLayoutIsLeftAsItWas() throws Exception {
    Path target = emptyTarget("small.raw", 1L << 30);
    Run r = install("--source", image.toString(), target.toString());
    assertEquals(3, r.exit(), r.err());
    assertTrue(r.err().startsWith("basalt install: " + target + ": too small: "), r.err());
    assertEquals(1L << 30, Files.size(target));
    byte[] head = new byte[11];
    try (InputStream in = Files.newInputStream(target)) {
      assertEquals(11, in.readNBytes(head, 0, 11));
    }
    assertArrayEquals("old content".getBytes(StandardCharsets.US_ASCII), head);
    Files.delete(target);
  }

  /** A payload folder linking the image's files, with {@code json} as payload.json. */
  private static Path payloadWith(String name, String json) throws IOException {
    Path dir = Files.createDirectories(work.resolve(name));
    for (String f : List.of("usr.img", "vmlinuz", "initramfs")) {
      Files.createSymbolicLink(dir.resolve(f), image.resolve("update").resolve(f));
    }
    Files.writeString(dir.resolve("payload.json"), json, StandardCharsets.UTF_8);
    return dir;
  }

  @Test
  void aPayloadWithAWrongHashOrRootHashWritesNothing() throws Exception {
    String json = Files.readString(image.resolve("update/payload.json"));
    JsonNode p = new ObjectMapper().readTree(json);
    String kernelSha = p.get("files").get("vmlinuz").get("sha256").asText();
    String badSha = kernelSha.replace(kernelSha.charAt(0), kernelSha.charAt(0) == 'a' ? 'b' : 'a');
    Path target = work.resolve("never.raw");
    Run r =
        install(
            "--source",
            payloadWith("badsha", json.replace(kernelSha, badSha)).toString(),
            target.toString());
    assertEquals(4, r.exit(), r.err());
    assertTrue(
        r.err().contains("vmlinuz: sha256 " + kernelSha + ", payload.json says " + badSha),
        r.err());
    String root = p.get("usrRootHash").asText();
    String badRoot = root.replace(root.charAt(0), root.charAt(0) == 'a' ? 'b' : 'a');
    r =
        install(
            "--source",
            payloadWith("badroot", json.replace(root, badRoot)).toString(),
            target.toString());
    assertEquals(4, r.exit(), r.err());
    assertTrue(
        r.err().contains("dm-verity check against the signed root hash " + badRoot), r.err());
    assertTrue(!Files.exists(target), "nothing written");
  }

  @Test
  void aRepositoryInstallIsTheBuildsDiskAndOtherKeysAreRefused() throws Exception {
    Path good = work.resolve("repo-good");
    Path other = work.resolve("repo-other");
    for (Path repo : List.of(good, other)) {
      UpdateImages.basalt("repo", "init", "-r", repo.toString());
      UpdateImages.basalt(
          "repo",
          "publish",
          "-r",
          repo.toString(),
          image.resolve("update").toString(),
          "--channel",
          "stable");
    }
    String trusted = good.resolve("metadata/1.root.json").toString();
    Path target = work.resolve("repo.raw");
    try (RepoServer s = RepoServer.start(other, 0)) {
      Run r =
          install("--repo", s.baseUrl().toString(), "--trusted-root", trusted, target.toString());
      assertEquals(4, r.exit(), r.err());
      assertTrue(r.err().startsWith("basalt install: " + target + ": " + s.baseUrl()), r.err());
      assertTrue(!Files.exists(target), "nothing written");
    }
    try (RepoServer s = RepoServer.start(good, 0)) {
      Run r =
          install("--repo", s.baseUrl().toString(), "--trusted-root", trusted, target.toString());
      assertEquals(0, r.exit(), r.err());
    }
    // a new file gets the layout's own size: disk.raw's
    assertEquals(artifactSha("disk.raw"), sha256(target));
    Files.delete(target);
  }
}
