package io.basalt.signing.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.ChunkIndex;
import io.basalt.host.UpdatePayload;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.signing.tuf.repo.Passphrases;
import io.basalt.signing.tuf.repo.RepositoryTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code basalt repo publish out/<image>/update --channel C}: the payload as signed targets for the
 * agent.
 */
class PayloadPublishTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  @TempDir Path tmp;
  private Clock savedClock;
  private Supplier<Passphrases> savedPass;

  @BeforeEach
  void hooks() {
    savedClock = RepoCommand.clock;
    savedPass = RepoCommand.passphrases;
    RepoCommand.clock = Clock.fixed(T0, ZoneOffset.UTC);
    RepoCommand.passphrases = () -> Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "pw"));
  }

  @AfterEach
  void restore() {
    RepoCommand.clock = savedClock;
    RepoCommand.passphrases = savedPass;
  }

  private String[] repo(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new RepoCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int rc = cl.execute(args);
    return new String[] {Integer.toString(rc), out.toString(), err.toString()};
  }

  private Path payload(String version) throws Exception {
    Path d = tmp.resolve("out/basalt-" + version + "/update");
    Files.createDirectories(d);
    // 1 MiB of seeded noise with the version written at its end: versions share most chunks
    byte[] usr = new byte[1 << 20];
    new java.util.SplittableRandom(7).nextBytes(usr);
    byte[] v = version.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(v, 0, usr, usr.length - v.length, v.length);
    Files.write(d.resolve("usr.img"), usr);
    Files.writeString(d.resolve("vmlinuz"), "kernel " + version);
    Files.writeString(d.resolve("initramfs"), "initramfs " + version);
    StringBuilder files = new StringBuilder();
    for (String f : UpdatePayload.FILES) {
      byte[] b = Files.readAllBytes(d.resolve(f));
      files
          .append(files.length() == 0 ? "" : ",")
          .append("\"")
          .append(f)
          .append("\":{\"size\":")
          .append(b.length)
          .append(",\"sha256\":\"")
          .append(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)))
          .append("\"}");
    }
    Files.writeString(
        d.resolve("payload.json"),
        "{\n  \"name\": \"basalt\",\n  \"version\": \""
            + version
            + "\",\n  \"channel\": \"beta\",\n  \"arch\": \"x86-64\",\n  \"usrRootHash\": \""
            + "ef".repeat(32)
            + "\",\n  \"usrHashOffset\": 8192,\n  \"files\": {"
            + files
            + "}\n}\n",
        StandardCharsets.UTF_8);
    return d;
  }

  @Test
  void publishesThePayloadWithCustomMetadataTheClientReads() throws Exception {
    Path r = tmp.resolve("repo");
    assertEquals("0", repo("init", "-r", r.toString())[0]);
    Path p = payload("2.1.0");
    String[] res = repo("publish", "-r", r.toString(), p.toString(), "--channel", "stable");
    assertEquals("0", res[0], res[2]);
    assertTrue(
        res[1].startsWith(
            "staged stable/x86-64/2.1.0/usr.img\nstaged stable/x86-64/2.1.0/vmlinuz\n"
                + "staged stable/x86-64/2.1.0/initramfs\n"
                + "staged stable/x86-64/2.1.0/usr.img.chunks.json.gz\npublished "),
        res[1]);

    Path client = tmp.resolve("client");
    Files.createDirectories(client);
    Files.copy(r.resolve("metadata/1.root.json"), client.resolve("root.json"));
    Updater u =
        new Updater(
            client,
            URI.create("http://repo/metadata/"),
            URI.create("http://repo/targets/"),
            RepositoryTest.fetcher(r),
            Clock.fixed(T0.plusSeconds(60), ZoneOffset.UTC));
    TargetInfo usr = u.getTargetInfo("stable/x86-64/2.1.0/usr.img").orElseThrow();
    assertEquals(1 << 20, usr.length());
    assertEquals("2.1.0", usr.customString("version"));
    assertEquals("stable", usr.customString("channel"));
    assertEquals("x86-64", usr.customString("arch"));
    assertEquals("ef".repeat(32), usr.customString("usr_root_hash"));
    assertEquals(8192L, ((Number) usr.custom().get("usr_hash_offset")).longValue());
    TargetInfo k = u.getTargetInfo("stable/x86-64/2.1.0/vmlinuz").orElseThrow();
    assertEquals("2.1.0", k.customString("version"));
    assertEquals(null, k.customString("usr_root_hash"));
    Path dl = tmp.resolve("dl");
    Files.createDirectories(dl);
    assertEquals("kernel 2.1.0", Files.readString(u.downloadTarget(k, dl)));
    // the chunk index: a signed target with the payload's custom fields, its chunks stored
    TargetInfo idxInfo =
        u.getTargetInfo("stable/x86-64/2.1.0/usr.img.chunks.json.gz").orElseThrow();
    assertEquals("2.1.0", idxInfo.customString("version"));
    ChunkIndex idx =
        ChunkIndex.parseFile(Files.readAllBytes(u.downloadTarget(idxInfo, dl)), "index");
    byte[] img = Files.readAllBytes(p.resolve("usr.img"));
    assertEquals(usr.hashes().get("sha256"), idx.sha256());
    assertTrue(idx.chunks().size() > 4, "chunks: " + idx.chunks().size());
    for (ChunkIndex.Chunk c : idx.chunks()) {
      byte[] stored =
          Files.readAllBytes(r.resolve("targets").resolve(ChunkIndex.chunkPath(c.sha256())));
      assertTrue(
          Arrays.equals(
              stored, Arrays.copyOfRange(img, (int) c.offset(), (int) c.offset() + c.length())),
          "chunk at " + c.offset());
    }
    assertEquals(
        "OK: 4 target(s) verified, 0 error(s), 0 warning(s)\n",
        repo("verify", "-r", r.toString())[1]);

    // a second version stores only the chunks it does not share
    Set<Path> before = chunkFiles(r);
    assertEquals("0", repo("publish", "-r", r.toString(), payload("2.2.0").toString())[0]);
    Set<Path> added = chunkFiles(r);
    added.removeAll(before);
    assertEquals(1, added.size(), "new chunks: " + added);
  }

  private static Set<Path> chunkFiles(Path repo) throws Exception {
    try (var s = Files.walk(repo.resolve("targets/chunks"))) {
      return s.filter(Files::isRegularFile).collect(Collectors.toCollection(HashSet::new));
    }
  }

  @Test
  void refusesAPayloadWhoseFilesDoNotMatchPayloadJson() throws Exception {
    Path r = tmp.resolve("repo");
    repo("init", "-r", r.toString());
    Path p = payload("2.2.0");
    Files.writeString(p.resolve("vmlinuz"), "kernel 2.2.0 but changed");
    String[] res = repo("publish", "-r", r.toString(), p.toString());
    assertEquals("1", res[0]);
    assertEquals(
        "basalt repo publish: " + p.resolve("vmlinuz") + ": 24 bytes, payload.json says 12\n",
        res[2]);
    assertEquals(
        "OK: 0 target(s) verified, 0 error(s), 0 warning(s)\n",
        repo("verify", "-r", r.toString())[1],
        "nothing published");
    String[] notPayload = repo("publish", "-r", r.toString(), tmp.toString());
    assertEquals("1", notPayload[0]);
    assertTrue(notPayload[2].contains("not an update payload directory"), notPayload[2]);
    assertEquals("2", repo("publish", "-r", r.toString(), "--channel", "stable")[0]);
  }

  @Test
  void mirrorCopiesAChannelThatVerifiesOnItsOwn() throws Exception {
    Path r = tmp.resolve("repo");
    assertEquals("0", repo("init", "-r", r.toString())[0]);
    assertEquals(
        "0",
        repo("publish", "-r", r.toString(), payload("3.0.0").toString(), "--channel", "stable")[0]);
    assertEquals(
        "0",
        repo("publish", "-r", r.toString(), payload("3.1.0").toString(), "--channel", "beta")[0]);
    Path m = tmp.resolve("usb");
    String[] res = repo("mirror", r.toString(), m.toString(), "--channel", "stable");
    assertEquals("0", res[0], res[2]);
    assertTrue(res[1].startsWith("mirrored 4 target(s) and "), res[1]);

    // metadata byte for byte, nothing re-signed
    for (String f :
        List.of(
            "1.root.json", "root.json", "timestamp.json", "3.snapshot.json", "3.targets.json")) {
      assertArrayEquals(
          Files.readAllBytes(r.resolve("metadata").resolve(f)),
          Files.readAllBytes(m.resolve("metadata").resolve(f)),
          f);
    }
    // a client that trusts only the origin's root reads the mirror alone
    Path client = tmp.resolve("client-m");
    Files.createDirectories(client);
    Files.copy(r.resolve("metadata/1.root.json"), client.resolve("root.json"));
    Updater u =
        new Updater(
            client,
            URI.create("http://repo/metadata/"),
            URI.create("http://repo/targets/"),
            RepositoryTest.fetcher(m),
            Clock.fixed(T0.plusSeconds(60), ZoneOffset.UTC));
    TargetInfo idxInfo =
        u.getTargetInfo("stable/x86-64/3.0.0/usr.img.chunks.json.gz").orElseThrow();
    Path dl = Files.createDirectories(tmp.resolve("dl-m"));
    ChunkIndex idx = ChunkIndex.parseFile(Files.readAllBytes(u.downloadTarget(idxInfo, dl)), "i");
    for (ChunkIndex.Chunk c : idx.chunks()) {
      assertTrue(
          Files.isRegularFile(m.resolve("targets").resolve(ChunkIndex.chunkPath(c.sha256()))));
    }
    TargetInfo usr = u.getTargetInfo("stable/x86-64/3.0.0/usr.img").orElseThrow();
    assertEquals(1 << 20, Files.size(u.downloadTarget(usr, dl)));
    assertFalse(Files.exists(m.resolve("targets/beta")), "other channels are not copied");

    // a second run fetches nothing
    res = repo("mirror", r.toString(), m.toString(), "--channel", "stable");
    assertTrue(res[1].contains("(0 bytes fetched)"), res[1]);

    // a chunk corrupted at the origin is refused and no metadata is written
    Path chunk = r.resolve("targets").resolve(ChunkIndex.chunkPath(idx.chunks().get(0).sha256()));
    byte[] b = Files.readAllBytes(chunk);
    b[0] ^= 1;
    Files.write(chunk, b);
    Path m2 = tmp.resolve("usb2");
    res = repo("mirror", r.toString(), m2.toString(), "--channel", "stable");
    assertEquals("1", res[0]);
    assertTrue(
        res[2].contains(idx.chunks().get(0).sha256() + ": " + b.length + " bytes with sha256 "),
        res[2]);
    assertFalse(Files.exists(m2.resolve("metadata/timestamp.json")));
    assertEquals("2", repo("mirror", "http://example.invalid/", m2.toString())[0]);
  }
}
