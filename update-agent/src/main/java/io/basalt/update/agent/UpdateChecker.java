package io.basalt.update.agent;

import io.basalt.host.ChunkIndex;
import io.basalt.host.UpdatePayload;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.TargetFile;
import io.basalt.signing.tuf.Targets;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.update.install.Offer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Finds the update to install: refreshes TUF metadata through the signing {@link Updater}, lists
 * the USR image targets of the top-level targets role ({@code <channel>/<arch>/<version>/usr.img},
 * custom {@code version}, {@code channel}, {@code arch}, {@code usr_root_hash}, {@code
 * usr_hash_offset}) and picks the newest version for this channel and architecture. Not thread-safe
 * (the updater is not).
 */
public final class UpdateChecker {

  /** What a check decided. Immutable. */
  public record Result(Optional<Offer> offer, String message, List<String> warnings) {}

  private final Updater updater;
  private final Path metadataDir;

  /** Uses {@code updater}, whose trusted metadata lives in {@code metadataDir}. */
  public UpdateChecker(Updater updater, Path metadataDir) {
    this.updater = updater;
    this.metadataDir = metadataDir;
  }

  /**
   * Refreshes metadata and decides.
   *
   * @param failed versions recorded as failed: never offered unless {@code pin} names them
   * @param pin a version the operator asked for ({@code update apply --version V --force}); may be
   *     older than the running one; null for the newest
   * @param allowDowngrade whether a pinned version older than the running one may be offered
   * @throws io.basalt.signing.tuf.TufException when metadata fails verification
   * @throws IOException when the repository cannot be reached
   */
  public Result check(
      String channel,
      String arch,
      SemVer running,
      Set<String> failed,
      String pin,
      boolean allowDowngrade)
      throws IOException {
    updater.refresh();
    // The trusted top-level targets metadata refresh() just verified (exactly the bytes accepted).
    Metadata m =
        Metadata.parse(
            Files.readAllBytes(metadataDir.resolve("targets.json")), "targets", "targets");
    Targets top = Targets.from("targets", m);
    List<String> warnings = new ArrayList<>();
    TreeMap<SemVer, TargetFile> candidates = new TreeMap<>();
    for (Map.Entry<String, TargetFile> e : new TreeMap<>(top.targets()).entrySet()) {
      String path = e.getKey();
      Map<String, Object> custom = e.getValue().custom();
      if (!path.endsWith("/" + UpdatePayload.USR_IMG) || custom == null) {
        continue;
      }
      if (!channel.equals(custom.get(UpdatePayload.CUSTOM_CHANNEL))
          || !arch.equals(custom.get(UpdatePayload.CUSTOM_ARCH))) {
        continue;
      }
      Object v = custom.get(UpdatePayload.CUSTOM_VERSION);
      Optional<SemVer> sv = v instanceof String s ? SemVer.tryParse(s) : Optional.empty();
      if (sv.isEmpty()) {
        warnings.add(path + ": custom.version " + v + " is not a version; ignored");
        continue;
      }
      candidates.put(sv.get(), e.getValue());
    }
    SemVer chosen;
    if (pin != null) {
      chosen = SemVer.parse(pin);
      if (!candidates.containsKey(chosen)) {
        return new Result(
            Optional.empty(),
            "version " + pin + " is not offered on channel " + channel + " for " + arch,
            warnings);
      }
      if (chosen.compareTo(running) < 0 && !allowDowngrade) {
        return new Result(
            Optional.empty(),
            "version "
                + pin
                + " is older than the running "
                + running
                + "; a downgrade needs --force",
            warnings);
      }
      if (chosen.equals(running)) {
        return new Result(Optional.empty(), "version " + pin + " is already running", warnings);
      }
    } else {
      if (candidates.isEmpty() || candidates.lastKey().compareTo(running) <= 0) {
        return new Result(
            Optional.empty(),
            "up to date: running "
                + running
                + ", newest on channel "
                + channel
                + " is "
                + (candidates.isEmpty() ? "none" : candidates.lastKey().toString()),
            warnings);
      }
      chosen = candidates.lastKey();
      if (failed.contains(chosen.toString())) {
        return new Result(
            Optional.empty(),
            "newest version " + chosen + " failed to boot here before; waiting for a newer one",
            warnings);
      }
    }
    String usrPath = candidates.get(chosen).path();
    String dir = usrPath.substring(0, usrPath.length() - UpdatePayload.USR_IMG.length());
    TargetInfo usr = need(usrPath);
    TargetInfo kernel = need(dir + UpdatePayload.KERNEL);
    TargetInfo initrd = need(dir + UpdatePayload.INITRAMFS);
    String rootHash = usr.customString(UpdatePayload.CUSTOM_USR_ROOT_HASH);
    if (rootHash == null || !rootHash.matches(UpdatePayload.ROOT_HASH_PATTERN)) {
      throw new IOException(
          usrPath
              + ": signed custom.usr_root_hash must be 64 lowercase hex digits, found "
              + rootHash);
    }
    Object off =
        usr.custom() == null ? null : usr.custom().get(UpdatePayload.CUSTOM_USR_HASH_OFFSET);
    if (!(off instanceof Number n)
        || n.longValue() <= 0
        || n.longValue() % UpdatePayload.HASH_OFFSET_ALIGNMENT != 0) {
      throw new IOException(
          usrPath
              + ": signed custom.usr_hash_offset must be a positive multiple of 4096, found "
              + off);
    }
    if (n.longValue() >= usr.length()) {
      throw new IOException(
          usrPath
              + ": usr_hash_offset "
              + n
              + " is not inside the image ("
              + usr.length()
              + " bytes)");
    }
    // the delta payload is optional: without it the agent downloads usr.img whole
    TargetInfo index =
        updater.getTargetInfo(dir + ChunkIndex.indexName(UpdatePayload.USR_IMG)).orElse(null);
    // the running version's index (when still published): where the running slot has each chunk
    TargetInfo runningIndex = null;
    String runningRootHash = null;
    TargetFile runningUsr = candidates.get(running);
    if (index != null && runningUsr != null) {
      String rp = runningUsr.path();
      String rdir = rp.substring(0, rp.length() - UpdatePayload.USR_IMG.length());
      Object rh =
          runningUsr.custom() == null
              ? null
              : runningUsr.custom().get(UpdatePayload.CUSTOM_USR_ROOT_HASH);
      if (rh instanceof String s && s.matches(UpdatePayload.ROOT_HASH_PATTERN)) {
        runningIndex =
            updater.getTargetInfo(rdir + ChunkIndex.indexName(UpdatePayload.USR_IMG)).orElse(null);
        runningRootHash = runningIndex == null ? null : s;
      }
    }
    Offer o =
        new Offer(
            chosen.toString(),
            channel,
            arch,
            usr,
            kernel,
            initrd,
            rootHash,
            n.longValue(),
            index,
            runningIndex,
            runningRootHash);
    return new Result(Optional.of(o), "update available: " + running + " -> " + chosen, warnings);
  }

  private TargetInfo need(String path) throws IOException {
    return updater
        .getTargetInfo(path)
        .orElseThrow(
            () ->
                new IOException(
                    "target " + path + " is not in the signed metadata (payload incomplete)"));
  }
}
