package io.basalt.update.testing;

import io.basalt.signing.tuf.client.FetchException;
import io.basalt.signing.tuf.client.Fetcher;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.signing.tuf.repo.Passphrases;
import io.basalt.signing.tuf.repo.PayloadPublisher;
import io.basalt.signing.tuf.repo.Repository;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A real TUF repository made with the signing module's {@link Repository} tooling (on any file
 * system, jimfs included) and served in memory to an {@link Updater}. Not thread-safe.
 */
public final class TufFixture {

  public static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  public final Path repoDir;
  public final Path clientDir;
  public final Repository repo;
  private final Path work;

  public TufFixture(Path base) throws Exception {
    this.repoDir = base.resolve("repo");
    this.clientDir = base.resolve("client/tuf");
    this.work = base.resolve("work");
    Files.createDirectories(work);
    Passphrases pass = Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "test secret"));
    repo =
        Repository.init(
            repoDir,
            new Repository.InitOptions(),
            pass,
            Clock.fixed(T0, ZoneOffset.UTC),
            new SecureRandom());
    Files.createDirectories(clientDir);
    Files.copy(repoDir.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
  }

  /** Adds a payload (usr.img, vmlinuz, initramfs) as targets {@code channel/arch/version/NAME}. */
  public void addRelease(
      String channel,
      String arch,
      String version,
      byte[] usrImg,
      String rootHash,
      long hashOffset,
      byte[] kernel,
      byte[] initrd)
      throws Exception {
    String dir = channel + "/" + arch + "/" + version + "/";
    Map<String, Object> common = new LinkedHashMap<>();
    common.put("version", version);
    common.put("channel", channel);
    common.put("arch", arch);
    Map<String, Object> usr = new LinkedHashMap<>(common);
    usr.put("usr_root_hash", rootHash);
    usr.put("usr_hash_offset", hashOffset);
    repo.addTarget("targets", dir + "usr.img", file(dir + "usr.img", usrImg), usr);
    repo.addTarget("targets", dir + "vmlinuz", file(dir + "vmlinuz", kernel), common);
    repo.addTarget("targets", dir + "initramfs", file(dir + "initramfs", initrd), common);
  }

  /**
   * Publishes a release the way {@code basalt repo publish PAYLOAD_DIR} does ({@link
   * PayloadPublisher}): the three payload files plus the chunk index of {@code usr.img} and its
   * chunks under {@code targets/chunks/}.
   */
  public void addPayload(
      String channel,
      String version,
      byte[] usrImg,
      String rootHash,
      long hashOffset,
      byte[] kernel,
      byte[] initrd)
      throws Exception {
    Path d = work.resolve("payload-" + version);
    Files.createDirectories(d);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("usr.img", usrImg);
    files.put("vmlinuz", kernel);
    files.put("initramfs", initrd);
    StringBuilder json = new StringBuilder();
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Files.write(d.resolve(e.getKey()), e.getValue());
      json.append(json.length() == 0 ? "" : ",")
          .append('"')
          .append(e.getKey())
          .append("\":{\"size\":")
          .append(e.getValue().length)
          .append(",\"sha256\":\"")
          .append(
              java.util.HexFormat.of()
                  .formatHex(
                      java.security.MessageDigest.getInstance("SHA-256").digest(e.getValue())))
          .append("\"}");
    }
    Files.writeString(
        d.resolve("payload.json"),
        "{\"name\":\"basalt\",\"version\":\""
            + version
            + "\",\"channel\":\""
            + channel
            + "\",\"arch\":\"x86-64\",\"usrRootHash\":\""
            + rootHash
            + "\",\"usrHashOffset\":"
            + hashOffset
            + ",\"files\":{"
            + json
            + "}}");
    PayloadPublisher.stage(repo, "targets", d, channel);
  }

  /** Adds a simple release whose contents are derived from the version text. */
  public void addRelease(String channel, String arch, String version) throws Exception {
    byte[] usr = new byte[8192];
    byte[] v = ("usr " + version).getBytes(StandardCharsets.UTF_8);
    System.arraycopy(v, 0, usr, 0, v.length);
    addRelease(
        channel,
        arch,
        version,
        usr,
        "ab".repeat(32),
        4096,
        ("kernel " + version).getBytes(StandardCharsets.UTF_8),
        ("initrd " + version).getBytes(StandardCharsets.UTF_8));
  }

  private Path file(String name, byte[] content) throws Exception {
    Path p = work.resolve(name);
    Files.createDirectories(p.getParent());
    Files.write(p, content);
    return p;
  }

  public void publish() throws Exception {
    repo.publish();
  }

  /** Serves the repository directory the way {@code basalt repo serve} lays it out. */
  public Fetcher fetcher() {
    return uri -> {
      boolean meta = uri.getRawPath().startsWith("/metadata/");
      String p = meta ? uri.getRawPath() : uri.getPath();
      Path f =
          repoDir
              .resolve(meta ? "metadata" : "targets")
              .resolve(p.substring(p.indexOf('/', 1) + 1));
      if (!Files.isRegularFile(f)) {
        throw new FetchException(uri, 404, "HTTP status 404", null);
      }
      return Files.newInputStream(f);
    };
  }

  public Updater updater(Instant now) throws Exception {
    return new Updater(
        clientDir,
        URI.create("http://repo/metadata/"),
        URI.create("http://repo/targets/"),
        fetcher(),
        Clock.fixed(now, ZoneOffset.UTC));
  }
}
