package io.basalt.image.pipeline;

import io.basalt.image.base.BaseTreeCache;
import io.basalt.image.esp.BootEntries;
import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.gpt.GptTypes;
import io.basalt.image.gpt.PartitionContent;
import io.basalt.image.initramfs.Initramfs;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.spec.ImageSpec.Output;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.usr.UsrAssembler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.stream.Stream;

/**
 * The {@code basalt build} pipeline: spec → cached Debian base tree → /usr assembly → squashfs +
 * dm-verity → initramfs → ESP/OEM FAT → GPT disk → qcow2, PXE files, update payload and manifest,
 * every artifact written under a temporary name and moved into the output folder only when the
 * whole build succeeded. One {@code SOURCE_DATE_EPOCH} flows into every writer. Not thread-safe;
 * one instance per build.
 */
public final class BuildPipeline {

  /** Supplies Basalt's jars to install (see {@code BasaltJars}). */
  @FunctionalInterface
  public interface JarSource {
    /**
     * The jars, keyed by path under /usr/lib/basalt.
     *
     * @throws IOException if they cannot be found
     */
    SortedMap<String, Content> jars() throws IOException;
  }

  /**
   * What to build and with what.
   *
   * @param spec the image spec
   * @param outDir the output folder (artifacts directly in it)
   * @param envEpoch SOURCE_DATE_EPOCH from the environment, if set
   * @param cache the base tree cache (with its bootstrap runner)
   * @param jars Basalt's jars
   * @param initUnits installs init-units' resources
   * @param basaltVersion version of this Basalt toolchain (part of BUILD_ID)
   * @param progress progress receiver
   */
  public record Config(
      ImageSpec spec,
      Path outDir,
      OptionalLong envEpoch,
      BaseTreeCache cache,
      JarSource jars,
      UsrAssembler.InitUnitsInstaller initUnits,
      String basaltVersion,
      Progress progress) {
    public Config {
      Objects.requireNonNull(spec, "spec");
      Objects.requireNonNull(outDir, "outDir");
      Objects.requireNonNull(envEpoch, "envEpoch");
      Objects.requireNonNull(cache, "cache");
      Objects.requireNonNull(jars, "jars");
      Objects.requireNonNull(initUnits, "initUnits");
      Objects.requireNonNull(progress, "progress");
    }
  }

  static final String STAGING = ".partial-build";
  private static final int STAGES = 12;

  private final Config cfg;
  private final Path staging;
  private final List<BuildResult.Artifact> artifacts = new ArrayList<>();
  private final List<BuildResult.StageTime> times = new ArrayList<>();
  private int stageIndex;
  private String stageName;
  private long stageStart;

  private BuildPipeline(Config cfg) {
    this.cfg = cfg;
    this.staging = cfg.outDir().resolve(STAGING);
  }

  /**
   * Runs the build.
   *
   * @throws BuildException naming the stage that failed and why
   * @throws InterruptedException if interrupted while a child process runs
   */
  public static BuildResult run(Config cfg) throws BuildException, InterruptedException {
    return new BuildPipeline(cfg).build();
  }

  private void start(String name, String what) {
    stageIndex++;
    stageName = name;
    stageStart = System.nanoTime();
    cfg.progress().stageStarted(stageIndex, STAGES, name, what);
  }

  private void finish(String result) {
    long nanos = System.nanoTime() - stageStart;
    times.add(new BuildResult.StageTime(stageName, nanos));
    cfg.progress().stageFinished(stageName, nanos, result);
  }

  private void skip(String name, String why) {
    start(name, "skipped: " + why);
    finish("skipped");
  }

  private BuildResult build() throws BuildException, InterruptedException {
    ImageSpec spec = cfg.spec();
    try {
      Files.createDirectories(cfg.outDir());
      deleteRecursively(staging);
      Files.createDirectories(staging);
    } catch (IOException e) {
      throw new BuildException("output", BuildException.Kind.IO, "cannot prepare " + cfg.outDir() + ": " + e.getMessage(), e);
    }
    try {
      // 1. base tree
      start("base tree", "Debian " + spec.debian().suite() + ", " + spec.debian().packages().size() + " packages (cached by inputs)");
      BaseTreeCache.Entry base;
      try {
        base = cfg.cache().get(spec.debian(), cfg.progress()::detail);
      } catch (IOException e) {
        throw new BuildException(stageName, BuildException.Kind.BOOTSTRAP, e.getMessage(), e);
      }
      finish((base.cached() ? "cached " : "made ") + human(size(base.tar())) + " " + base.tar());

      // 2. read the tar as a tree
      start("read base tree", base.tar().toString());
      FileTree baseTree = io(() -> Writers.readTar(base.tar()));
      long epoch = sourceDateEpoch(baseTree);
      SortedMap<String, String> packages = packages(baseTree);
      finish(baseTree.size() + " entries, " + human(baseTree.contentBytes()) + ", SOURCE_DATE_EPOCH=" + epoch
          + ", " + packages.size() + " packages");
      String buildId = buildId(base.key(), epoch);

      // 3. /usr
      start("usr assembly", "merged /usr, /etc defaults, Basalt jars and units, os-release");
      UsrAssembler.Result assembled = io(() -> UsrAssembler.assemble(baseTree,
          new UsrAssembler.Inputs(spec, epoch, buildId, cfg.jars().jars(), cfg.initUnits())));
      FileTree usr = UsrAssembler.usrTree(assembled.tree());
      UsrAssembler.Report rep = assembled.report();
      finish(usr.size() + " entries, " + human(usr.contentBytes()) + "; Java runtime " + human(rep.javaBytesBefore())
          + " → " + human(rep.javaBytesAfter()));

      // 4. + 5. squashfs and verity
      Path usrImg = staging.resolve("usr.img");
      start("usr squashfs", spec.compressor().key()
          + (spec.compressorLevel().isPresent() ? " level " + spec.compressorLevel().getAsInt() : " (default level)") + ", mtimes ≤ " + epoch);
      // The blocks are hashed for dm-verity as the squashfs writer writes them (see Writers.UsrImage).
      Writers.UsrImage usrImage = io(() -> new Writers.UsrImage(usrImg, spec.name() + " " + spec.version() + " " + buildId));
      Writers.Verity2 verity;
      try {
        long squashfsBytes = io(() -> usrImage.squashfs(usr, spec.compressor(), spec.compressorLevel(), epoch));
        finish(human(squashfsBytes) + " (block digests made while writing)");
        start("usr verity", "dm-verity sha256 hash tree appended at the 4096-padded squashfs size");
        verity = io(usrImage::appendVerity);
      } finally {
        io(() -> {
          usrImage.close();
          return null;
        });
      }
      if (verity.totalSize() > spec.partitions().usr()) {
        throw new BuildException(stageName, BuildException.Kind.TREE, "usr.img is " + human(verity.totalSize())
            + " but partitions.usr is " + human(spec.partitions().usr()) + "; raise partitions.usr in the spec");
      }
      finish("root hash " + verity.rootHash() + ", hash offset " + verity.hashOffset() + ", " + human(verity.totalSize()));
      writeString(staging.resolve("usr.roothash"), verity.rootHash() + "\n");
      if (!spec.outputs().contains(Output.USR_IMG) && !spec.outputs().contains(Output.UPDATE)
          && !spec.outputs().contains(Output.DISK_RAW) && !spec.outputs().contains(Output.DISK_QCOW2)
          && !spec.outputs().contains(Output.PXE)) {
        throw new BuildException("outputs", BuildException.Kind.IO, "nothing to write");
      }

      // 6. initramfs (disk and live)
      start("initramfs", "init, busybox, veritysetup/e2fsprogs with their libraries, kernel modules (zstd cpio)");
      Path initrd = staging.resolve("update/initramfs");
      Path liveInitrd = staging.resolve("pxe/initramfs");
      Initramfs ird = io(() -> {
        Files.createDirectories(initrd.getParent());
        Initramfs disk = Writers.initramfsTree(baseTree, epoch, null);
        Writers.writeInitramfs(disk.tree(), epoch, initrd);
        if (spec.outputs().contains(Output.PXE)) {
          Files.createDirectories(liveInitrd.getParent());
          Initramfs live = Writers.initramfsTree(baseTree, epoch, Content.ofFile(usrImg));
          Writers.writeInitramfs(live.tree(), epoch, liveInitrd);
        }
        return disk;
      });
      finish("disk " + human(size(initrd)) + (Files.exists(liveInitrd) ? ", live " + human(size(liveInitrd)) : "")
          + ", kernel " + ird.kernelRelease() + ", " + ird.modules().size() + " modules");
      Path vmlinuz = staging.resolve("update/vmlinuz");
      io(() -> {
        Content k = ird.kernelImagePath() != null && baseTree.get(ird.kernelImagePath()) != null
            ? baseTree.get(ird.kernelImagePath()).content() : kernel(baseTree);
        copy(k, vmlinuz);
        return null;
      });

      // 7. ESP + OEM + GPT disk
      String seed = spec.name() + " " + spec.version();
      String usrAUuid = GptDisk.partitionGuid(seed, "USR-A").toString();
      String cmdline = BootEntries.diskCmdline(usrAUuid, verity.rootHash(), verity.hashOffset(), "A", spec.version(), spec.cmdline());
      Path raw = staging.resolve("disk.raw");
      boolean wantDisk = spec.outputs().contains(Output.DISK_RAW) || spec.outputs().contains(Output.DISK_QCOW2);
      if (wantDisk) {
        start("esp", "systemd-boot, loader.conf, entry " + BootEntries.entryFileName(spec.version(), "A"));
        TreeEntry sdboot = assembled.tree().get(BootEntries.SYSTEMD_BOOT_EFI);
        if (sdboot == null || sdboot.content() == null) {
          throw new BuildException(stageName, BuildException.Kind.TREE, BootEntries.SYSTEMD_BOOT_EFI
              + ": missing from the image tree; add systemd-boot to debian.packages");
        }
        FileTree esp = io(() -> BootEntries.espTree(sdboot.content(),
            List.of(new BootEntries.Slot("A", spec.version(), Content.ofFile(vmlinuz), Content.ofFile(initrd), cmdline)), epoch));
        FileTree oem = oemTree(epoch);
        finish(esp.size() + " entries, " + human(esp.contentBytes()) + "; options: " + cmdline);

        start("disk.raw", "GPT: EFI-SYSTEM " + human(spec.partitions().esp()) + ", USR-A/USR-B " + human(spec.partitions().usr())
            + ", OEM " + human(spec.partitions().oem()) + ", ROOT " + human(spec.partitions().root()) + " (empty)");
        GptDisk[] disk = new GptDisk[1];
        disk[0] = io(() -> GptDisk.builder(seed)
            .add(GptPartition.of("EFI-SYSTEM", GptTypes.EFI_SYSTEM, spec.partitions().esp(),
                w -> Writers.fat("EFI-SYSTEM", epoch, disk[0].partitions().get(0).firstLba()).write(esp, w, w.size())))
            .add(GptPartition.of("USR-A", GptTypes.USR_X86_64, spec.partitions().usr(), PartitionContent.ofFile(usrImg)))
            .add(GptPartition.of("USR-B", GptTypes.USR_X86_64, spec.partitions().usr(), PartitionContent.empty()))
            .add(GptPartition.of("OEM", GptTypes.LINUX_DATA, spec.partitions().oem(),
                w -> Writers.fat("OEM", epoch, disk[0].partitions().get(3).firstLba()).write(oem, w, w.size())))
            .add(GptPartition.of("ROOT", GptTypes.ROOT_X86_64, spec.partitions().root(), PartitionContent.empty()))
            .build());
        io(() -> {
          disk[0].writeTo(raw);
          return null;
        });
        finish(human(disk[0].sizeBytes()) + " (sparse), disk GUID " + disk[0].diskGuid() + ", USR-A PARTUUID " + usrAUuid);
      } else {
        skip("esp", "no disk output in the spec");
        skip("disk.raw", "no disk output in the spec");
      }

      // 8. qcow2
      if (spec.outputs().contains(Output.DISK_QCOW2)) {
        start("disk.qcow2", "from disk.raw");
        Path q = staging.resolve("disk.qcow2");
        io(() -> {
          Writers.qcow2(raw, q);
          return null;
        });
        finish(human(size(q)));
      } else {
        skip("disk.qcow2", "not in the spec's outputs");
      }

      // 9. PXE
      String liveCmdline = BootEntries.liveCmdline(verity.rootHash(), verity.hashOffset(), spec.version(), spec.cmdline());
      if (spec.outputs().contains(Output.PXE)) {
        start("pxe", "vmlinuz, initramfs with /basalt/usr.img, cmdline, boot.ipxe");
        io(() -> {
          copy(Content.ofFile(vmlinuz), staging.resolve("pxe/vmlinuz"));
          Files.writeString(staging.resolve("pxe/cmdline"), liveCmdline + "\n", StandardCharsets.UTF_8);
          Files.writeString(staging.resolve("pxe/boot.ipxe"),
              "#!ipxe\nkernel vmlinuz " + liveCmdline + "\ninitrd initramfs\nboot\n", StandardCharsets.UTF_8);
          return null;
        });
        finish("initramfs " + human(size(liveInitrd)) + "; options: " + liveCmdline);
      } else {
        skip("pxe", "not in the spec's outputs");
      }

      // 10. update payload
      boolean wantUpdate = spec.outputs().contains(Output.UPDATE);
      if (wantUpdate) {
        start("update payload", "USR slot image + kernel + initramfs + payload.json");
        io(() -> {
          linkOrCopy(usrImg, staging.resolve("update/usr.img"));
          Files.writeString(staging.resolve("update/payload.json"),
              Manifests.payload(spec, verity, hashed(List.of("update/usr.img", "update/vmlinuz", "update/initramfs"), "update/")),
              StandardCharsets.UTF_8);
          return null;
        });
        finish(human(size(staging.resolve("update/usr.img")) + size(vmlinuz) + size(initrd)));
      } else {
        skip("update payload", "not in the spec's outputs");
      }

      // 11. manifest; then publish
      start("manifest", "sizes and sha256 of every artifact, package versions");
      List<String> names = new ArrayList<>();
      if (spec.outputs().contains(Output.DISK_RAW)) {
        names.add("disk.raw");
      }
      if (spec.outputs().contains(Output.DISK_QCOW2)) {
        names.add("disk.qcow2");
      }
      if (spec.outputs().contains(Output.PXE)) {
        names.addAll(List.of("pxe/boot.ipxe", "pxe/cmdline", "pxe/initramfs", "pxe/vmlinuz"));
      }
      if (spec.outputs().contains(Output.USR_IMG)) {
        names.addAll(List.of("usr.img", "usr.roothash"));
      }
      if (wantUpdate) {
        names.addAll(List.of("update/initramfs", "update/payload.json", "update/usr.img", "update/vmlinuz"));
      }
      names.sort(null);
      List<BuildResult.Artifact> arts = io(() -> hashed(names, ""));
      io(() -> {
        Files.writeString(staging.resolve("manifest.json"),
            Manifests.manifest(spec, epoch, buildId, verity, packages, arts, ird.kernelRelease()), StandardCharsets.UTF_8);
        return null;
      });
      artifacts.addAll(arts);
      String mh = io(() -> sha256Hex(staging.resolve("manifest.json")));
      artifacts.add(new BuildResult.Artifact("manifest.json", size(staging.resolve("manifest.json")), mh));
      List<String> publish = new ArrayList<>(names);
      publish.add("manifest.json");
      io(() -> {
        publish(publish);
        return null;
      });
      finish(artifacts.size() + " artifacts in " + cfg.outDir());
      return new BuildResult(cfg.outDir(), spec.name(), spec.version(), epoch, buildId, verity.rootHash(), artifacts, times);
    } catch (BuildException e) {
      cleanupStaging();
      throw e;
    } catch (RuntimeException e) {
      cleanupStaging();
      throw e;
    }
  }

  private void cleanupStaging() {
    try {
      deleteRecursively(staging);
    } catch (IOException ignored) {
      // best effort: the folder's name marks it as partial
    }
  }

  /** A stage body that may throw IOException (mapped to a BuildException of the current stage). */
  @FunctionalInterface
  interface IoSupplier<T> {
    T get() throws IOException, BuildException;
  }

  private <T> T io(IoSupplier<T> s) throws BuildException {
    try {
      return s.get();
    } catch (io.basalt.image.usr.UsrAssemblyException e) {
      throw new BuildException(stageName, BuildException.Kind.TREE, e.getMessage(), e);
    } catch (IOException e) {
      throw new BuildException(stageName, BuildException.Kind.IO, e.getMessage(), e);
    }
  }

  /**
   * SOURCE_DATE_EPOCH: the environment's if set, else the spec's source-date-epoch, else derived
   * from the inputs: the newest mtime of the packages' /usr/share/doc/PACKAGE/copyright files
   * (dpkg keeps the mtimes the package was built with, so this is the build date of the newest
   * package in the set).
   */
  long sourceDateEpoch(FileTree baseTree) throws BuildException {
    if (cfg.envEpoch().isPresent()) {
      return cfg.envEpoch().getAsLong();
    }
    if (cfg.spec().sourceDateEpoch().isPresent()) {
      return cfg.spec().sourceDateEpoch().getAsLong();
    }
    return derivedEpoch(baseTree).orElseThrow(() -> new BuildException(stageName, BuildException.Kind.TREE,
        "cannot derive SOURCE_DATE_EPOCH: the base tree has no /usr/share/doc/*/copyright files; "
            + "set SOURCE_DATE_EPOCH or source-date-epoch in the spec"));
  }

  static OptionalLong derivedEpoch(FileTree baseTree) {
    long max = -1;
    for (TreeEntry doc : baseTree.children("/usr/share/doc")) {
      TreeEntry c = baseTree.get(doc.path() + "/copyright");
      if (c != null && c.type() == io.basalt.image.tree.EntryType.REGULAR) {
        max = Math.max(max, c.mtime());
      }
    }
    return max < 0 ? OptionalLong.empty() : OptionalLong.of(max);
  }

  static SortedMap<String, String> packages(FileTree baseTree) throws BuildException {
    TreeEntry st = baseTree.get("/var/lib/dpkg/status");
    if (st == null || st.content() == null) {
      throw new BuildException("read base tree", BuildException.Kind.TREE, "/var/lib/dpkg/status: missing from the base tree");
    }
    try (InputStream in = st.content().open()) {
      return DpkgStatus.parse(in.readAllBytes());
    } catch (IOException e) {
      throw new BuildException("read base tree", BuildException.Kind.IO, "/var/lib/dpkg/status: " + e.getMessage(), e);
    }
  }

  /** The newest /boot/vmlinuz-* of the base tree (symlinks followed within /boot). */
  static Content kernel(FileTree t) throws IOException {
    TreeEntry best = null;
    for (TreeEntry e : t.children("/boot")) {
      if (e.name().startsWith("vmlinuz-") && e.type() == io.basalt.image.tree.EntryType.REGULAR) {
        if (best == null || compareVersions(e.name(), best.name()) > 0) {
          best = e;
        }
      }
    }
    if (best == null) {
      throw new io.basalt.image.usr.UsrAssemblyException("/boot", "no vmlinuz-* kernel in the base tree; add linux-image-amd64 to debian.packages");
    }
    return best.content();
  }

  private static int compareVersions(String a, String b) {
    String[] x = a.split("[.-]");
    String[] y = b.split("[.-]");
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      int c;
      if (x[i].matches("\\d+") && y[i].matches("\\d+")) {
        c = Long.compare(Long.parseLong(x[i]), Long.parseLong(y[i]));
      } else {
        c = x[i].compareTo(y[i]);
      }
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }

  /** BUILD_ID: 12 hex digits of sha256 over the base-tree key, spec text, epoch and toolchain version. */
  String buildId(String baseKey, long epoch) {
    String in = "base " + baseKey + "\nepoch " + epoch + "\nbasalt " + cfg.basaltVersion() + "\nspec\n" + cfg.spec().text();
    return sha256Hex(in.getBytes(StandardCharsets.UTF_8)).substring(0, 12);
  }

  static String sha256Hex(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha256Hex(Path file) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      try (InputStream in = Files.newInputStream(file)) {
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return -1;
    }
  }

  private static void writeString(Path p, String s) throws BuildException {
    try {
      Files.writeString(p, s, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new BuildException("output", BuildException.Kind.IO, p + ": " + e.getMessage(), e);
    }
  }

  /** "412.3 MiB" style sizes for progress lines. */
  public static String human(long bytes) {
    if (bytes < 0) {
      return "?";
    }
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
  }

  static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(x);
      }
    }
  }

  /** The OEM partition's files: a short README for whoever mounts it on a laptop. */
  static FileTree oemTree(long epoch) {
    String readme = "Basalt OEM partition.\r\n"
        + "Put cloud-config.yml (a #cloud-config document) and site files here; Basalt reads them on every boot.\r\n";
    return FileTree.builder()
        .put(TreeEntry.directory("/").withMtime(epoch))
        .put(TreeEntry.regular("/README.TXT", Content.ofBytes(readme.getBytes(StandardCharsets.US_ASCII))).withMtime(epoch))
        .build();
  }

  private static void copy(Content c, Path to) throws IOException {
    Files.createDirectories(to.getParent());
    try (InputStream in = c.open()) {
      Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void linkOrCopy(Path from, Path to) throws IOException {
    Files.createDirectories(to.getParent());
    Files.deleteIfExists(to);
    try {
      Files.createLink(to, from);
    } catch (UnsupportedOperationException | IOException e) {
      Files.copy(from, to);
    }
  }

  /** Size and sha256 of staged files (paths relative to the staging folder, minus {@code strip}). */
  private List<BuildResult.Artifact> hashed(List<String> names, String strip) throws IOException {
    List<BuildResult.Artifact> out = new ArrayList<>();
    for (String n : names) {
      Path p = staging.resolve(n);
      if (!Files.isRegularFile(p)) {
        throw new IOException(n + ": expected output was not written");
      }
      out.add(new BuildResult.Artifact(n.substring(strip.length()), Files.size(p), sha256Hex(p)));
    }
    return out;
  }

  /** Moves every staged artifact into the output folder (atomic per file), manifest last. */
  void publish(List<String> names) throws IOException {
    for (String n : names) {
      Path from = staging.resolve(n);
      Path to = cfg.outDir().resolve(n);
      Files.createDirectories(to.getParent());
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
    deleteRecursively(staging);
  }
}
