package io.basalt.update.agent;

import io.basalt.host.UpdatePayload;
import io.basalt.signing.tuf.client.Fetcher;
import io.basalt.signing.tuf.client.HttpFetcher;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.update.install.Offer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Set;

/**
 * The newest payload of a channel taken from a TUF repository the way the agent takes an update:
 * the metadata refreshed and verified by the signing {@link Updater} from a trusted root, the
 * version chosen by the agent's {@link UpdateChecker} (signed {@code custom} fields, root hash and
 * hash offset checked), and the three targets downloaded with their signed length and hashes
 * checked. {@code basalt install --repo} installs from it. Not thread-safe.
 */
public final class RepoPayload {

  /**
   * A downloaded, signature-checked payload.
   *
   * @param payload the payload as the signed metadata describes it (sizes and sha256 from there)
   * @param dir the folder holding {@code usr.img}, {@code vmlinuz} and {@code initramfs}
   */
  public record Fetched(UpdatePayload payload, Path dir) {}

  private RepoPayload() {}

  /**
   * Fetches the newest version of {@code channel} for {@code arch} with the system clock (metadata
   * expiry) and HTTP.
   *
   * @see #fetch(URI, String, String, Path, Path, Fetcher, Clock)
   */
  public static Fetched fetch(
      URI repository, String channel, String arch, Path trustedRoot, Path work) throws IOException {
    return fetch(
        repository, channel, arch, trustedRoot, work, new HttpFetcher(), Clock.systemUTC());
  }

  /**
   * Fetches the newest version of {@code channel} for {@code arch} from {@code repository} (laid
   * out as {@code basalt repo serve} serves it: {@code metadata/} and {@code targets/}).
   *
   * @param trustedRoot the TUF root to start the root chain from (copied, never written)
   * @param work a folder for the metadata and the downloads
   * @throws io.basalt.signing.tuf.TufException when the metadata fails verification
   * @throws IOException naming the target when the repository offers no such payload, the signed
   *     custom fields are malformed, or a download fails its length or hash check
   */
  public static Fetched fetch(
      URI repository,
      String channel,
      String arch,
      Path trustedRoot,
      Path work,
      Fetcher fetcher,
      Clock clock)
      throws IOException {
    Path tuf = Files.createDirectories(work.resolve("tuf"));
    Files.copy(trustedRoot, tuf.resolve("root.json"));
    String base = repository.toString().endsWith("/") ? repository.toString() : repository + "/";
    URI root = URI.create(base);
    Updater updater =
        new Updater(tuf, root.resolve("metadata/"), root.resolve("targets/"), fetcher, clock);
    UpdateChecker.Result r =
        new UpdateChecker(updater, tuf)
            .check(channel, arch, SemVer.parse("0.0.0"), Set.of(), null, false);
    Offer o =
        r.offer()
            .orElseThrow(
                () -> new IOException(repository + ": no payload to install: " + r.message()));
    Path dir = Files.createDirectories(work.resolve("payload"));
    List<UpdatePayload.FileEntry> files =
        List.of(
            download(updater, o.usr(), dir, UpdatePayload.USR_IMG),
            download(updater, o.kernel(), dir, UpdatePayload.KERNEL),
            download(updater, o.initramfs(), dir, UpdatePayload.INITRAMFS));
    String name = o.usr().customString(UpdatePayload.CUSTOM_NAME);
    if (name == null) {
      throw new IOException(o.usr().path() + ": signed custom.name is missing");
    }
    return new Fetched(
        new UpdatePayload(
            name, o.version(), o.channel(), o.arch(), o.usrRootHash(), o.usrHashOffset(), files),
        dir);
  }

  private static UpdatePayload.FileEntry download(
      Updater updater, TargetInfo info, Path dir, String name) throws IOException {
    String sha = info.hashes().get("sha256");
    if (sha == null) {
      throw new IOException(info.path() + ": the signed metadata gives no sha256");
    }
    Path got = updater.downloadTarget(info, dir);
    Path to = dir.resolve(name);
    if (!got.equals(to)) {
      Files.move(got, to);
    }
    return new UpdatePayload.FileEntry(name, info.length(), sha);
  }
}
