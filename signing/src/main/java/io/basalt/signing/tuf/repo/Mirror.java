package io.basalt.signing.tuf.repo;

import io.basalt.host.AtomicFiles;
import io.basalt.host.ChunkIndex;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.TargetFile;
import io.basalt.signing.tuf.Targets;
import io.basalt.signing.tuf.client.FetchException;
import io.basalt.signing.tuf.client.Fetcher;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Copies part of a TUF repository into a directory that can serve as a repository on its own (an
 * air-gapped mirror, a USB stick): the metadata byte for byte (nothing is re-signed, so clients
 * keep every TUF guarantee and check the mirror exactly as they check the origin), the selected
 * targets of the top-level targets role and, for every chunk index among them, its chunks. Every
 * file is verified on the way in: the metadata by the TUF client from a trusted root, each target
 * by its signed length and hashes, each chunk by the length and sha256 its signed index lists.
 * Targets and chunks are written first and the metadata last ({@code timestamp.json} at the very
 * end), so an interrupted mirror still serves its previous consistent state; files already present
 * and intact are not fetched again. Not thread-safe.
 */
public final class Mirror {

  /** What a mirror run copied. */
  public record Report(int targets, int chunks, long bytesFetched, List<String> metadata) {}

  private final URI metadataUrl;
  private final URI targetsUrl;
  private final Fetcher fetcher;
  private final Clock clock;

  /**
   * Mirrors from the repository at {@code metadataUrl} / {@code targetsUrl} through {@code
   * fetcher}.
   */
  public Mirror(URI metadataUrl, URI targetsUrl, Fetcher fetcher, Clock clock) {
    this.metadataUrl = metadataUrl;
    this.targetsUrl = targetsUrl;
    this.fetcher = fetcher;
    this.clock = clock;
  }

  /**
   * Mirrors into {@code dest} ({@code dest/metadata/}, {@code dest/targets/}).
   *
   * @param trustedRoot the root metadata the verification starts from
   * @param select which target paths of the top-level targets role to copy
   * @throws IOException when the source fails verification (nothing of the new state is then
   *     published in {@code dest/metadata}) or a file cannot be fetched or written
   */
  public Report mirror(Path trustedRoot, Path dest, Predicate<String> select) throws IOException {
    Files.createDirectories(dest);
    Path work = Files.createTempDirectory(dest, ".mirror-");
    try {
      Path meta = Files.createDirectories(work.resolve("metadata"));
      Path dl = Files.createDirectories(work.resolve("targets"));
      Files.copy(trustedRoot, meta.resolve("root.json"));
      Updater u = new Updater(meta, metadataUrl, targetsUrl, fetcher, clock);
      u.refresh();
      Metadata top =
          Metadata.parse(Files.readAllBytes(meta.resolve("targets.json")), "targets", "targets");
      Map<String, TargetFile> all = new TreeMap<>(Targets.from("targets", top).targets());
      Path targets = dest.resolve("targets");
      int nTargets = 0;
      int nChunks = 0;
      long fetched = 0;
      Set<String> chunksDone = new HashSet<>();
      for (String path : all.keySet()) {
        if (!select.test(path)) {
          continue;
        }
        TargetInfo info =
            u.getTargetInfo(path)
                .orElseThrow(() -> new IOException(path + ": listed but not found by the client"));
        Path stored = storedTarget(targets, info);
        if (!intact(stored, info.length(), info.hashes().get("sha256"))) {
          Path got = u.downloadTarget(info, dl);
          Files.createDirectories(stored.getParent());
          AtomicFiles.rename(got, stored);
          fetched += info.length();
        }
        linkAliases(stored, info);
        nTargets++;
        if (path.endsWith(ChunkIndex.SUFFIX)) {
          ChunkIndex idx = ChunkIndex.parseFile(Files.readAllBytes(stored), path);
          for (ChunkIndex.Chunk c : idx.chunks()) {
            if (!chunksDone.add(c.sha256())) {
              continue;
            }
            Path f = targets.resolve(ChunkIndex.chunkPath(c.sha256()));
            if (!intact(f, c.length(), c.sha256())) {
              byte[] b = fetchChunk(c);
              Files.createDirectories(f.getParent());
              AtomicFiles.writeOutput(f, tmp -> Files.write(tmp, b));
              fetched += b.length;
            }
            nChunks++;
          }
        }
      }
      return new Report(nTargets, nChunks, fetched, writeMetadata(u, meta, dest));
    } finally {
      deleteTree(work);
    }
  }

  /** Root chain, targets, snapshot, then timestamp: each exactly the bytes the origin served. */
  private List<String> writeMetadata(Updater u, Path meta, Path dest) throws IOException {
    Path out = Files.createDirectories(dest.resolve("metadata"));
    List<String> written = new ArrayList<>();
    long rootVersion = u.trustedRoot().metadata().version();
    for (long v = 1; v <= rootVersion; v++) {
      String name = v + ".root.json";
      byte[] b;
      try (InputStream in = fetcher.open(metadataUrl.resolve(name))) {
        b = in.readNBytes(512_001);
      } catch (FetchException e) {
        // an origin may prune old roots; clients holding a newer root do not need them
        if (v < rootVersion) {
          continue;
        }
        throw e;
      }
      AtomicFiles.write(out.resolve(name), b);
      written.add(name);
    }
    AtomicFiles.copy(meta.resolve("root.json"), out.resolve("root.json"));
    written.add("root.json");
    for (String role : List.of("targets", "snapshot")) {
      byte[] b = Files.readAllBytes(meta.resolve(role + ".json"));
      long v = Metadata.parse(b, role, role).version();
      AtomicFiles.write(out.resolve(v + "." + role + ".json"), b);
      AtomicFiles.write(out.resolve(role + ".json"), b);
      written.add(v + "." + role + ".json");
      written.add(role + ".json");
    }
    AtomicFiles.copy(meta.resolve("timestamp.json"), out.resolve("timestamp.json"));
    written.add("timestamp.json");
    return written;
  }

  /** {@code targets/DIR/SHA256.NAME}, the name a consistent-snapshot client asks for. */
  private static Path storedTarget(Path targets, TargetInfo info) throws IOException {
    String sha = info.hashes().get("sha256");
    if (sha == null || !sha.matches("[0-9a-f]{64}")) {
      throw new IOException(info.path() + ": signed metadata lists no sha256");
    }
    String path = info.path();
    int slash = path.lastIndexOf('/');
    Path p = targets.resolve(path.substring(0, slash + 1) + sha + "." + path.substring(slash + 1));
    if (!p.normalize().startsWith(targets)) {
      throw new IOException(path + ": target path leaves the targets folder");
    }
    return p;
  }

  /**
   * {@code DIR/SHA512.NAME} and {@code DIR/NAME} next to the stored file (hard links or copies).
   */
  private static void linkAliases(Path stored, TargetInfo info) throws IOException {
    String path = info.path();
    String name = path.substring(path.lastIndexOf('/') + 1);
    List<Path> aliases = new ArrayList<>();
    aliases.add(stored.resolveSibling(name));
    String sha512 = info.hashes().get("sha512");
    if (sha512 != null && sha512.matches("[0-9a-f]{128}")) {
      aliases.add(stored.resolveSibling(sha512 + "." + name));
    }
    for (Path a : aliases) {
      if (Files.isRegularFile(a) && Files.isSameFile(a, stored)) {
        continue;
      }
      Files.deleteIfExists(a);
      try {
        Files.createLink(a, stored);
      } catch (UnsupportedOperationException | FileAlreadyExistsException e) {
        AtomicFiles.copy(stored, a);
      } catch (IOException e) {
        AtomicFiles.copy(stored, a); // e.g. vfat on a USB stick: no hard links
      }
    }
  }

  private byte[] fetchChunk(ChunkIndex.Chunk c) throws IOException {
    URI uri = targetsUrl.resolve(ChunkIndex.chunkPath(c.sha256()));
    byte[] b;
    try (InputStream in = fetcher.open(uri)) {
      b = in.readNBytes(c.length() + 1);
    }
    String got = sha256(b);
    if (b.length != c.length() || !got.equals(c.sha256())) {
      throw new IOException(
          uri
              + ": "
              + b.length
              + " bytes with sha256 "
              + got
              + ", the signed index says "
              + c.length()
              + " bytes with sha256 "
              + c.sha256());
    }
    return b;
  }

  private static boolean intact(Path f, long length, String sha256) throws IOException {
    if (!Files.isRegularFile(f) || Files.size(f) != length) {
      return false;
    }
    MessageDigest md = digest();
    try (InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest()).equals(sha256);
  }

  private static String sha256(byte[] b) {
    return HexFormat.of().formatHex(digest().digest(b));
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
