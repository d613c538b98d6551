package io.basalt.update.install;

import io.basalt.host.BootEntry;
import io.basalt.host.KernelCommandLine;
import io.basalt.host.UpdatePayload;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Installs a verified update into the inactive USR slot. The order makes the new entry the commit
 * point, so a crash or power cut at any moment before it leaves the running version the default:
 *
 * <ol>
 *   <li>download usr.img, vmlinuz, initramfs into the downloads directory (resumable, length and
 *       sha256 checked against the signed metadata); with a chunk index, only the index and the
 *       chunks the running slot lacks are downloaded instead of usr.img ({@link DeltaInstall});
 *   <li>delete every boot entry of the inactive slot (it is about to be overwritten);
 *   <li>write usr.img into the slot device, fsync; on the delta path, assemble it there: the
 *       running slot's chunks copied, the fetched ones written;
 *   <li>{@code veritysetup verify} the slot against the signed root hash; on the delta path, {@code
 *       veritysetup format} over the slot's data must compute the signed root hash (a failure of
 *       steps 3-4 there writes the full usr.img and verifies it instead);
 *   <li>copy kernel and initramfs to {@code ESP/basalt/SLOT/} (temp file, fsync, rename);
 *   <li>write {@code basalt-VERSION-SLOT+3.conf} (temp file, fsync, rename) — last.
 * </ol>
 *
 * After the entry, the new image's chunk index is kept by its root hash for the next delta update.
 * The running slot's entry is never touched, so it stays the fallback. Not thread-safe.
 */
public final class Installer {

  /** The folder (beside the downloads) that keeps the chunk indexes of installed images. */
  public static final String INDEX_STORE = "chunk-indexes";

  /** Loader-added arguments and the live flag: never carried into a slot's entry. */
  private static final Set<String> DROPPED =
      Set.of(
          KernelCommandLine.LOADER_INITRD,
          KernelCommandLine.LOADER_BOOT_IMAGE,
          KernelCommandLine.LIVE);

  /** The points between steps (crash-injection hooks in tests, progress in the daemon). */
  public enum Step {
    DOWNLOADED,
    STALE_ENTRIES_REMOVED,
    SLOT_WRITTEN,
    SLOT_VERIFIED,
    KERNEL_COPIED,
    ENTRY_WRITTEN
  }

  /** Observes progress: a phase name and a whole-install percentage. */
  @FunctionalInterface
  public interface Progress {
    void report(String phase, int percent);
  }

  /** Called after each step; throwing simulates a crash at that point. */
  @FunctionalInterface
  public interface Hooks {
    void after(Step step) throws IOException;
  }

  private final ResumableDownload download;
  private final SlotDevices slots;
  private final VerityVerifier verity;
  private final Esp boot;
  private final Path downloads;
  private final Hooks hooks;
  private final Progress progress;
  private final DeltaInstall delta;
  private final DeltaInstall.Planned planned;
  private final Consumer<String> log;

  /** Wires the steps' collaborators; {@code downloads} is {@code /var/lib/basalt/downloads}. */
  public Installer(
      ResumableDownload download,
      SlotDevices slots,
      VerityVerifier verity,
      Esp boot,
      Path downloads,
      Hooks hooks,
      Progress progress) {
    this(download, slots, verity, boot, downloads, hooks, progress, null, null, null);
  }

  /**
   * Wires the steps' collaborators; with {@code delta}, {@code usr.img} is assembled from the
   * running slot and the missing chunks when the offer has a chunk index ({@link DeltaInstall}),
   * falling back to the full download on any failure; {@code planned} hears the plan and {@code
   * log} gets a line per delta event (both may be null).
   */
  public Installer(
      ResumableDownload download,
      SlotDevices slots,
      VerityVerifier verity,
      Esp boot,
      Path downloads,
      Hooks hooks,
      Progress progress,
      DeltaInstall delta,
      DeltaInstall.Planned planned,
      Consumer<String> log) {
    this.delta = delta;
    this.planned = planned == null ? p -> {} : planned;
    this.log = log == null ? l -> {} : log;
    this.download = Objects.requireNonNull(download);
    this.slots = Objects.requireNonNull(slots);
    this.verity = Objects.requireNonNull(verity);
    this.boot = Objects.requireNonNull(boot);
    this.downloads = Objects.requireNonNull(downloads);
    this.hooks = hooks == null ? s -> {} : hooks;
    this.progress = progress == null ? (p, n) -> {} : progress;
  }

  /**
   * Runs every step for {@code offer} into the slot that is not running.
   *
   * @return the new boot entry
   * @throws IOException from any step; what was done before stays consistent (see the class doc)
   */
  public Path install(Offer offer, URI targetsBase, boolean consistentSnapshot, HostInfo host)
      throws IOException {
    if (host.live()) {
      throw new IOException("PXE live boot (basalt.live): there is no USR slot to update");
    }
    String slot = host.otherSlot().orElseThrow();
    String version = offer.version();
    if (!version.matches(UpdatePayload.VERSION_PATTERN)) {
      throw new IOException(
          "signed version \"" + version + "\" has characters not allowed in a boot entry name");
    }
    // 1. downloads (those of any other version are superseded by this offer); on the delta path
    // the index and the missing chunks only: the image is assembled in the slot (step 3)
    removeOtherDownloads(version);
    long total = offer.usr().length() + offer.kernel().length() + offer.initramfs().length();
    Path dir = downloads.resolve(version);
    long[] base = {0};
    boolean cs = consistentSnapshot;
    DeltaInstall.Prepared prepared = prepare(offer, targetsBase, cs, host, dir, total, base);
    Path usr = null;
    if (prepared == null) {
      usr = fetch(offer.usr(), targetsBase, cs, dir, UpdatePayload.USR_IMG, total, base);
    }
    Path kernel = fetch(offer.kernel(), targetsBase, cs, dir, UpdatePayload.KERNEL, total, base);
    Path initrd =
        fetch(offer.initramfs(), targetsBase, cs, dir, UpdatePayload.INITRAMFS, total, base);
    hooks.after(Step.DOWNLOADED);
    // 2. stale entries of the target slot go before the slot is overwritten
    boot.delete(boot.ofSlot(slot));
    hooks.after(Step.STALE_ENTRIES_REMOVED);
    // 3. the slot, and 4. its dm-verity check against the signed root hash: on the delta path one
    // step (the tree made over the assembled data must have the signed root hash), any failure of
    // which falls back to the full image
    Path dev = slots.device(slot);
    String partuuid = slots.partuuid(slot);
    boolean assembled = prepared != null && assembleSlot(prepared, offer, dev, slot);
    if (!assembled) {
      if (usr == null) {
        usr = fetch(offer.usr(), targetsBase, cs, dir, UpdatePayload.USR_IMG, total, base);
      }
      writeSlot(usr, dev, offer.usr().length());
    }
    hooks.after(Step.SLOT_WRITTEN);
    if (!assembled) {
      progress.report("verifying slot " + slot, 90);
      verity.verify(dev, offer.usrRootHash(), offer.usrHashOffset());
    }
    hooks.after(Step.SLOT_VERIFIED);
    // 5. kernel + initramfs
    progress.report("installing kernel", 97);
    boot.copyIn(kernel, BootEntry.kernelPath(slot));
    boot.copyIn(initrd, BootEntry.initramfsPath(slot));
    hooks.after(Step.KERNEL_COPIED);
    // 6. the entry: the commit point
    String options =
        newOptions(
            runningOptions(host),
            partuuid,
            offer.usrRootHash(),
            offer.usrHashOffset(),
            slot,
            version);
    Path entry = boot.writeEntry(version, slot, options);
    hooks.after(Step.ENTRY_WRITTEN);
    progress.report("installed " + version + " into slot " + slot, 100);
    keepIndex(offer, targetsBase, cs, host, dir, prepared);
    deleteTree(dir);
    return entry;
  }

  /**
   * Where the chunk indexes of installed images are kept: {@code /var/lib/basalt/chunk-indexes}.
   */
  Path indexStore() {
    return downloads.resolveSibling(INDEX_STORE);
  }

  /**
   * The delta path's downloads ({@link DeltaInstall#prepare}), or null when there is no index or
   * anything failed (then the caller downloads the full image).
   */
  private DeltaInstall.Prepared prepare(
      Offer offer, URI targetsBase, boolean cs, HostInfo host, Path dir, long total, long[] base) {
    if (delta == null || offer.usrIndex() == null) {
      return null;
    }
    try {
      Map<String, String> args = KernelCommandLine.parse(host.cmdline());
      String off = args.get(KernelCommandLine.USR_HASH_OFFSET);
      if (off == null || !off.matches("[1-9][0-9]{0,18}")) {
        throw new IOException(
            "the running kernel command line has no usable "
                + KernelCommandLine.USR_HASH_OFFSET
                + "= (found "
                + off
                + "), so the running image's length is unknown");
      }
      DeltaInstall.Running running =
          new DeltaInstall.Running(
              slots.device(host.slot()),
              Long.parseLong(off),
              args.getOrDefault(KernelCommandLine.USR_HASH, ""));
      DeltaInstall.Prepared p =
          delta.prepare(
              targetsBase,
              cs,
              offer,
              running,
              indexStore(),
              dir,
              planned,
              n -> progress.report("assembling usr.img", (int) (n * 60 / Math.max(1, total))));
      base[0] += offer.usr().length();
      return p;
    } catch (IOException | RuntimeException e) {
      fallingBack(e, offer);
      return null;
    }
  }

  /** Steps 3 and 4 on the delta path; false (logged) when they failed. */
  private boolean assembleSlot(DeltaInstall.Prepared p, Offer offer, Path dev, String slot) {
    try {
      long length = offer.usr().length();
      p.writeSlot(
          dev, n -> progress.report("writing slot", 60 + (int) (n * 30 / Math.max(1, length))));
      progress.report("verifying slot " + slot, 90);
      p.check(dev, offer.usrRootHash(), offer.usrHashOffset(), verity);
      return true;
    } catch (IOException | RuntimeException e) {
      fallingBack(e, offer);
      return false;
    }
  }

  private void fallingBack(Exception e, Offer offer) {
    log.accept(
        "delta update failed: "
            + (e.getMessage() == null ? e.toString() : e.getMessage())
            + "; falling back to the full usr.img ("
            + offer.usr().length()
            + " bytes)");
  }

  /**
   * Keeps the installed image's chunk index (downloaded now when the full path did not need it) by
   * its root hash, so the next delta update finds where this slot has each chunk; a failure only
   * costs that update a cut of the slot.
   */
  private void keepIndex(
      Offer offer, URI targetsBase, boolean cs, HostInfo host, Path dir, DeltaInstall.Prepared p) {
    if (delta == null || offer.usrIndex() == null) {
      return;
    }
    try {
      Path idx =
          p != null
              ? p.indexFile()
              : download.fetch(
                  ResumableDownload.targetUri(targetsBase, offer.usrIndex(), cs),
                  offer.usrIndex(),
                  dir,
                  io.basalt.host.ChunkIndex.indexName(UpdatePayload.USR_IMG),
                  n -> {});
      String running = KernelCommandLine.parse(host.cmdline()).get(KernelCommandLine.USR_HASH);
      DeltaInstall.keepIndex(indexStore(), idx, offer.usrRootHash(), running);
    } catch (IOException | RuntimeException e) {
      log.accept("delta update: the chunk index of " + offer.version() + " not kept: " + e);
    }
  }

  private Path fetch(
      io.basalt.signing.tuf.client.TargetInfo t,
      URI targetsBase,
      boolean cs,
      Path dir,
      String name,
      long total,
      long[] base)
      throws IOException {
    long start = base[0];
    Path p =
        download.fetch(
            ResumableDownload.targetUri(targetsBase, t, cs),
            t,
            dir,
            name,
            n ->
                progress.report(
                    "downloading " + name, (int) ((start + n) * 60 / Math.max(1, total))));
    base[0] += t.length();
    return p;
  }

  private void writeSlot(Path image, Path dev, long length) throws IOException {
    try (FileChannel out = FileChannel.open(dev, StandardOpenOption.WRITE);
        InputStream in = Files.newInputStream(image)) {
      // A block device reports size 0 here (the kernel refuses writes past its end anyway).
      long size = out.size();
      if (Files.isRegularFile(dev) && size < length) {
        throw new IOException(dev + ": slot is " + size + " bytes, the image needs " + length);
      }
      byte[] buf = new byte[1 << 20];
      long done = 0;
      int n;
      while ((n = in.read(buf)) > 0) {
        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
        while (bb.hasRemaining()) {
          out.write(bb, done + (n - bb.remaining()));
        }
        done += n;
        progress.report("writing slot", 60 + (int) (done * 30 / Math.max(1, length)));
      }
      if (done != length) {
        throw new IOException(image + ": " + done + " bytes, signed length " + length);
      }
      out.force(true);
    }
  }

  /** The options of the running slot's entry, else /proc/cmdline without loader-added arguments. */
  private String runningOptions(HostInfo host) throws IOException {
    for (Esp.Entry e : boot.ofSlot(host.slot())) {
      if (e.version().equals(host.version())) {
        return Esp.options(e);
      }
    }
    return host.cmdline();
  }

  /**
   * The new slot's command line: the running one with the slot-specific arguments replaced (order
   * kept; missing ones appended) and loader-added {@code initrd=}/{@code BOOT_IMAGE=} dropped.
   */
  public static String newOptions(
      String running,
      String partuuid,
      String rootHash,
      long hashOffset,
      String slot,
      String version) {
    Map<String, String> set =
        KernelCommandLine.slotArguments(partuuid, rootHash, hashOffset, slot, version);
    List<String> out = new ArrayList<>();
    for (String w : running.strip().split("\\s+")) {
      if (w.isEmpty()) {
        continue;
      }
      String key = KernelCommandLine.key(w);
      if (DROPPED.contains(key)) {
        continue;
      }
      if (set.containsKey(key)) {
        String v = set.remove(key);
        out.add(KernelCommandLine.argument(key, v));
      } else {
        out.add(w);
      }
    }
    int at = 0;
    for (Map.Entry<String, String> e : set.entrySet()) {
      out.add(at++, KernelCommandLine.argument(e.getKey(), e.getValue()));
    }
    return String.join(" ", out);
  }

  /** Deletes {@code downloads/OTHER/} for every version but {@code keep} (superseded offers). */
  private void removeOtherDownloads(String keep) throws IOException {
    if (!Files.isDirectory(downloads)) {
      return;
    }
    List<Path> stale;
    try (var s = Files.list(downloads)) {
      stale = s.filter(p -> !p.getFileName().toString().equals(keep)).sorted().toList();
    }
    for (Path p : stale) {
      deleteTree(p);
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
