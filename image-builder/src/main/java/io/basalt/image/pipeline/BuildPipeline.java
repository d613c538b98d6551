package io.basalt.image.pipeline;

import io.basalt.host.AtomicFiles;
import io.basalt.image.api.BuildException;
import io.basalt.image.api.BuildResult;
import io.basalt.image.api.DiskLayout;
import io.basalt.image.api.ImagePlan;
import io.basalt.image.api.Progress;
import io.basalt.image.base.BaseTreeCache;
import io.basalt.image.esp.BootEntries;
import io.basalt.image.initramfs.Initramfs;
import io.basalt.image.opennebula.OpenNebulaTemplate;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.spec.ImageSpec.Output;
import io.basalt.image.squashfs.BlockCache;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.usr.UsrAssembler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The {@code basalt build} pipeline: spec → cached Debian base tree → /usr assembly → squashfs +
 * dm-verity → initramfs → ESP/OEM FAT → GPT disk → qcow2, PXE files, update payload and manifest,
 * every artifact written under a temporary name and moved into the output folder only when the
 * whole build succeeded. The {@link ImagePlan} (disk layout, artifacts, command lines) is computed
 * from the spec first; each stage runs from it and records the size and sha256 of what it writes as
 * it writes it. One {@code SOURCE_DATE_EPOCH} flows into every writer. Not thread-safe; one
 * instance per build.
 */
public final class BuildPipeline {

  /** Supplies Basalt's jars to install (see {@code UsrAssembler.basaltJarsFromClasspath}). */
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
   * @param isoCloudConfig a cloud-config to embed in the ISO as {@code /cloud-config.yml}, or null
   * @param blockCache compressed squashfs blocks to reuse (output bytes are the same without it);
   *     bounded ({@link BlockCache#close()}) at the end of the usr squashfs stage
   */
  public record Config(
      ImageSpec spec,
      Path outDir,
      OptionalLong envEpoch,
      BaseTreeCache cache,
      JarSource jars,
      UsrAssembler.InitUnitsInstaller initUnits,
      String basaltVersion,
      Progress progress,
      Path isoCloudConfig,
      Optional<BlockCache> blockCache) {

    /** A build whose ISO embeds no cloud-config, without a block cache. */
    public Config(
        ImageSpec spec,
        Path outDir,
        OptionalLong envEpoch,
        BaseTreeCache cache,
        JarSource jars,
        UsrAssembler.InitUnitsInstaller initUnits,
        String basaltVersion,
        Progress progress) {
      this(
          spec,
          outDir,
          envEpoch,
          cache,
          jars,
          initUnits,
          basaltVersion,
          progress,
          null,
          Optional.empty());
    }

    public Config {
      Objects.requireNonNull(blockCache, "blockCache");
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
  private static final int STAGES = 14;

  private final Config cfg;
  private final ImageSpec spec;
  private final ImagePlan plan;
  private final Path staging;

  /** Size and sha256 of each staged file, taken while it was written, by path under staging. */
  private final Map<String, BuildResult.Artifact> written = new TreeMap<>();

  private final List<BuildResult.StageTime> times = new ArrayList<>();
  private int stageIndex;
  private String stageName;
  private long stageStart;

  private BuildPipeline(Config cfg) {
    this.cfg = cfg;
    this.spec = cfg.spec();
    this.plan = Planner.plan(cfg.spec(), cfg.envEpoch());
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

  /**
   * The plan of a build of {@code spec}: computed from the spec alone, writes nothing.
   *
   * @param envEpoch SOURCE_DATE_EPOCH from the environment, if set
   * @throws IllegalArgumentException if the spec's partitions cannot be laid out
   */
  public static ImagePlan plan(ImageSpec spec, OptionalLong envEpoch) {
    return Planner.plan(spec, envEpoch);
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

  private boolean wants(Output o) {
    return spec.outputs().contains(o);
  }

  /** The base tree as read, with what the later stages take from it. */
  private record Base(
      FileTree tree, long epoch, SortedMap<String, String> packages, String buildId) {}

  /**
   * The staged kernel and initramfs files; {@code liveInitrd}, the initramfs carrying usr.img, is
   * made for the ISO only.
   */
  private record Boot(Initramfs initramfs, Path vmlinuz, Path initrd, Path liveInitrd) {}

  private BuildResult build() throws BuildException, InterruptedException {
    prepareOutput();
    try {
      Base base = base();
      UsrAssembler.Result assembled = usr(base);
      Path usrImg = staging.resolve("usr.img");
      Writers.Verity2 verity = usrImage(UsrAssembler.usrTree(assembled.tree()), base, usrImg);
      Boot boot = initramfs(base, usrImg);
      if (plan.disk().isPresent()) {
        disk(plan.disk().get(), assembled.tree(), base.epoch(), boot, usrImg, verity);
      } else {
        skip("esp", "no disk output in the spec");
        skip("disk.raw", "no disk output in the spec");
      }
      if (wants(Output.DISK_QCOW2)) {
        qcow2();
      } else {
        skip("disk.qcow2", "not in the spec's outputs");
      }
      if (wants(Output.OPENNEBULA)) {
        openNebula();
      } else {
        skip("opennebula", "not in the spec's outputs");
      }
      if (wants(Output.PXE)) {
        pxe(boot, usrImg, verity);
      } else {
        skip("pxe", "not in the spec's outputs");
      }
      if (wants(Output.UPDATE)) {
        update(boot, usrImg, verity);
      } else {
        skip("update payload", "not in the spec's outputs");
      }
      if (wants(Output.ISO)) {
        iso(assembled.tree(), base.epoch(), boot, usrImg, verity);
      } else {
        skip("iso", "not in the spec's outputs");
      }
      return manifest(base, assembled.report(), boot, verity);
    } catch (BuildException | RuntimeException e) {
      cleanupStaging();
      throw e;
    }
  }

  private void prepareOutput() throws BuildException {
    try {
      Files.createDirectories(cfg.outDir());
      deleteRecursively(staging);
      Files.createDirectories(staging);
    } catch (IOException e) {
      throw new BuildException(
          "output",
          BuildException.Kind.IO,
          "cannot prepare " + cfg.outDir() + ": " + e.getMessage(),
          e);
    }
  }

  /** Stages 1 and 2: the cached Debian base tree, read as a tree. */
  private Base base() throws BuildException, InterruptedException {
    start(
        "base tree",
        "Debian "
            + spec.debian().suite()
            + ", "
            + spec.debian().packages().size()
            + " packages (cached by inputs)");
    BaseTreeCache.Entry entry;
    try {
      entry = cfg.cache().get(spec.debian(), cfg.progress()::detail);
    } catch (IOException e) {
      throw new BuildException(stageName, BuildException.Kind.BOOTSTRAP, e.getMessage(), e);
    }
    finish((entry.cached() ? "cached " : "made ") + human(size(entry.tar())) + " " + entry.tar());

    start("read base tree", entry.tar().toString());
    FileTree tree = io(() -> Writers.readTar(entry.tar()));
    long epoch = sourceDateEpoch(tree);
    SortedMap<String, String> packages = packages(tree);
    finish(
        tree.size()
            + " entries, "
            + human(tree.contentBytes())
            + ", SOURCE_DATE_EPOCH="
            + epoch
            + ", "
            + packages.size()
            + " packages");
    return new Base(tree, epoch, packages, buildId(entry.key(), epoch));
  }

  /** Stage 3: the image tree (merged /usr, /etc defaults, Basalt's jars and units). */
  private UsrAssembler.Result usr(Base base) throws BuildException {
    start("usr assembly", "merged /usr, /etc defaults, Basalt jars and units, os-release");
    UsrAssembler.Result assembled =
        io(
            () ->
                UsrAssembler.assemble(
                    base.tree(),
                    new UsrAssembler.Inputs(
                        spec, base.epoch(), base.buildId(), cfg.jars().jars(), cfg.initUnits())));
    FileTree usr = UsrAssembler.usrTree(assembled.tree());
    UsrAssembler.Report rep = assembled.report();
    finish(
        usr.size()
            + " entries, "
            + human(usr.contentBytes())
            + "; Debian "
            + rep.debianRelease()
            + ", Java "
            + rep.javaVersion()
            + " runtime "
            + human(rep.javaBytesBefore())
            + " → "
            + human(rep.javaBytesAfter()));
    return assembled;
  }

  /** Stages 4 and 5: usr.img (squashfs, then its dm-verity hash tree) and usr.roothash. */
  private Writers.Verity2 usrImage(FileTree usr, Base base, Path usrImg) throws BuildException {
    long epoch = base.epoch();
    String level =
        spec.compressorLevel().isPresent()
            ? " level " + spec.compressorLevel().getAsInt()
            : " (default level)";
    start("usr squashfs", spec.compressor().key() + level + ", mtimes ≤ " + epoch);
    // The blocks are hashed for dm-verity as the squashfs writer writes them (Writers.UsrImage).
    // The salt and UUID follow the image name only: a salt that changed with every version would
    // change every hash of the tree and make a delta update fetch the whole tree (~0.8 % of
    // usr.img)
    // even when one file changed. The salt is not a secret; the root hash is what is trusted.
    String veritySeed = spec.name();
    Writers.UsrImage image = io(() -> new Writers.UsrImage(usrImg, veritySeed));
    Writers.Verity2 verity;
    try {
      long squashfsBytes =
          io(
              () ->
                  image.squashfs(
                      usr, spec.compressor(), spec.compressorLevel(), epoch, cfg.blockCache()));
      String cacheNote = "";
      if (cfg.blockCache().isPresent()) {
        BlockCache bc = cfg.blockCache().get();
        bc.close();
        BlockCache.Stats st = bc.stats();
        cacheNote =
            ", block cache "
                + st.hits()
                + " hits, "
                + st.misses()
                + " compressed"
                + (st.corrupt() > 0 ? ", " + st.corrupt() + " damaged entries ignored" : "")
                + (st.failedWrites() > 0 ? ", " + st.failedWrites() + " writes failed" : "")
                + (st.dropped() > 0 ? ", " + st.dropped() + " not stored (disk busy)" : "");
      }
      finish(human(squashfsBytes) + " (block digests made while writing" + cacheNote + ")");
      start("usr verity", "dm-verity sha256 hash tree appended at the 4096-padded squashfs size");
      verity = io(image::appendVerity);
    } finally {
      io(
          () -> {
            image.close();
            return null;
          });
    }
    if (verity.totalSize() > plan.usrSlotBytes()) {
      throw new BuildException(
          stageName,
          BuildException.Kind.TREE,
          "usr.img is "
              + human(verity.totalSize())
              + " but partitions.usr is "
              + human(plan.usrSlotBytes())
              + "; raise partitions.usr in the spec");
    }
    finish(
        "root hash "
            + verity.rootHash()
            + ", hash offset "
            + verity.hashOffset()
            + ", "
            + human(verity.totalSize()));
    writeString("usr.roothash", verity.rootHash() + "\n");
    if (!wants(Output.USR_IMG)
        && !wants(Output.UPDATE)
        && !wants(Output.DISK_RAW)
        && !wants(Output.DISK_QCOW2)
        && !wants(Output.PXE)
        && !wants(Output.ISO)) {
      throw new BuildException("outputs", BuildException.Kind.IO, "nothing to write");
    }
    return verity;
  }

  /**
   * Stage 6: the initramfs (disk and PXE boots), the live one carrying usr.img (the ISO's) and the
   * kernel.
   */
  private Boot initramfs(Base base, Path usrImg) throws BuildException {
    long epoch = base.epoch();
    start(
        "initramfs",
        "init, busybox, veritysetup/e2fsprogs with their libraries, kernel modules"
            + " (zstd cpio)");
    Path initrd = staging.resolve("update/initramfs");
    Path liveInitrd = staging.resolve(".iso-live-initramfs");
    Initramfs ird =
        io(
            () -> {
              Initramfs disk = Writers.initramfsTree(base.tree(), epoch, null);
              put("update/initramfs", Writers.writeInitramfs(disk.tree(), epoch, initrd));
              if (Planner.wantsLive(spec)) {
                Initramfs live = Writers.initramfsTree(base.tree(), epoch, Content.ofFile(usrImg));
                Writers.writeInitramfs(live.tree(), epoch, liveInitrd);
              }
              return disk;
            });
    String live = Files.exists(liveInitrd) ? ", live " + human(size(liveInitrd)) : "";
    finish(
        "disk "
            + human(size(initrd))
            + live
            + ", kernel "
            + ird.kernelRelease()
            + ", "
            + ird.modules().size()
            + " modules");
    Path vmlinuz = staging.resolve("update/vmlinuz");
    io(
        () -> {
          String path = ird.kernelImagePath();
          TreeEntry image = path != null ? base.tree().get(path) : null;
          put(
              "update/vmlinuz",
              copy(image != null ? image.content() : kernel(base.tree()), vmlinuz));
          return null;
        });
    return new Boot(ird, vmlinuz, initrd, liveInitrd);
  }

  /** Stages 7 and 8: the ESP and OEM trees, then disk.raw laid out as the plan says. */
  private void disk(
      DiskLayout layout, FileTree image, long epoch, Boot boot, Path usrImg, Writers.Verity2 verity)
      throws BuildException {
    String cmdline =
        plan.commandLine(Planner.DISK_SLOT_A).resolve(verity.rootHash(), verity.hashOffset());
    start(
        "esp",
        "systemd-boot, loader.conf, entry " + BootEntries.entryFileName(spec.version(), "A"));
    Content sdboot = systemdBoot(image);
    Writers.HashedFileContent usrA = io(() -> new Writers.HashedFileContent(usrImg));
    BasaltDisk disk =
        io(
            () ->
                BasaltDisk.of(
                    new BasaltDisk.Inputs(
                        spec.name(),
                        spec.version(),
                        spec.partitions(),
                        spec.cmdline(),
                        epoch,
                        sdboot,
                        Content.ofFile(boot.vmlinuz()),
                        Content.ofFile(boot.initrd()),
                        verity.rootHash(),
                        verity.hashOffset(),
                        Optional.empty(),
                        0),
                    usrA));
    if (!disk.cmdline().equals(cmdline)) {
      throw new IllegalStateException(
          "disk.raw: slot A's command line differs from the plan's: " + disk.cmdline());
    }
    FileTree esp = disk.esp();
    finish(esp.size() + " entries, " + human(esp.contentBytes()) + "; options: " + cmdline);

    ImageSpec.Partitions sizes = spec.partitions();
    start(
        "disk.raw",
        "GPT: EFI-SYSTEM "
            + human(sizes.esp())
            + ", USR-A/USR-B "
            + human(sizes.usr())
            + ", OEM "
            + human(sizes.oem())
            + ", ROOT "
            + human(sizes.root())
            + " (first-boot marker)");
    if (!disk.layout().equals(layout)) {
      throw new IllegalStateException("disk.raw: the GPT placement differs from the plan's layout");
    }
    put("disk.raw", io(() -> Writers.writeDisk(disk.gpt(), staging.resolve("disk.raw"))));
    usrA.digest().ifPresent(d -> put("usr.img", d));
    finish(
        human(disk.sizeBytes())
            + " (sparse), disk GUID "
            + disk.layout().diskGuid()
            + ", USR-A PARTUUID "
            + layout.partition(Planner.USR_A).partUuid());
  }

  /** systemd-boot's EFI binary from the image tree. */
  private Content systemdBoot(FileTree image) throws BuildException {
    TreeEntry sdboot = image.get(BootEntries.SYSTEMD_BOOT_EFI);
    if (sdboot == null || sdboot.content() == null) {
      throw new BuildException(
          stageName,
          BuildException.Kind.TREE,
          BootEntries.SYSTEMD_BOOT_EFI
              + ": missing from the image tree; add systemd-boot to debian.packages");
    }
    return sdboot.content();
  }

  /** Stage 9: disk.qcow2 from disk.raw. */
  private void qcow2() throws BuildException {
    start("disk.qcow2", "from disk.raw");
    Path q = staging.resolve("disk.qcow2");
    put("disk.qcow2", io(() -> Writers.qcow2(staging.resolve("disk.raw"), q)));
    finish(human(size(q)));
  }

  /** Stage 10: the OpenNebula VM template for disk.qcow2 (the spec binder requires disk.qcow2). */
  private void openNebula() throws BuildException {
    start(
        "opennebula",
        OpenNebulaTemplate.FILE + ": VM template for disk.qcow2 (UEFI, virtio, CONTEXT)");
    OpenNebulaTemplate t =
        new OpenNebulaTemplate(
            spec.name(), spec.version(), spec.channel(), plan.disk().orElseThrow().sizeBytes());
    writeString(OpenNebulaTemplate.FILE, t.render());
    finish(
        "image "
            + t.imageName()
            + ", disk "
            + t.diskMib()
            + " MiB, "
            + OpenNebulaTemplate.MEMORY_MIB
            + " MiB memory, "
            + OpenNebulaTemplate.VCPU
            + " vCPUs");
  }

  /**
   * Stage 11: the PXE files: the kernel, the initramfs (the disk boot's; a live boot fetches
   * usr.img into RAM itself), usr.img (hard links where possible), cmdline and boot.ipxe.
   */
  private void pxe(Boot boot, Path usrImg, Writers.Verity2 verity) throws BuildException {
    String liveCmdline =
        plan.commandLine(Planner.PXE).resolve(verity.rootHash(), verity.hashOffset());
    start("pxe", "vmlinuz, initramfs, usr.img, cmdline, boot.ipxe");
    hashUsrImgIfNotYet();
    io(
        () -> {
          put("pxe/vmlinuz", copy(Content.ofFile(boot.vmlinuz()), staging.resolve("pxe/vmlinuz")));
          linkOrCopy(boot.initrd(), staging.resolve("pxe/initramfs"));
          linkOrCopy(usrImg, staging.resolve("pxe/usr.img"));
          return null;
        });
    written.put("pxe/initramfs", renamed(artifact("update/initramfs"), "pxe/initramfs"));
    written.put("pxe/usr.img", renamed(written.get("usr.img"), "pxe/usr.img"));
    writeString("pxe/cmdline", liveCmdline + "\n");
    writeString("pxe/boot.ipxe", Planner.bootIpxe(liveCmdline));
    finish(
        "initramfs "
            + human(size(boot.initrd()))
            + ", usr.img "
            + human(size(usrImg))
            + "; options: "
            + liveCmdline);
  }

  /** Stage 12: the update payload: usr.img (a hard link), kernel, initramfs and payload.json. */
  private void update(Boot boot, Path usrImg, Writers.Verity2 verity) throws BuildException {
    start("update payload", "USR slot image + kernel + initramfs + payload.json");
    hashUsrImgIfNotYet();
    io(
        () -> {
          linkOrCopy(usrImg, staging.resolve("update/usr.img"));
          return null;
        });
    written.put("update/usr.img", renamed(written.get("usr.img"), "update/usr.img"));
    List<BuildResult.Artifact> files = new ArrayList<>();
    for (String n : Planner.PAYLOAD_FILES) {
      files.add(renamed(artifact(n), n.substring("update/".length())));
    }
    writeString("update/payload.json", Manifests.payload(spec, verity, files));
    finish(
        human(
            size(staging.resolve("update/usr.img")) + size(boot.vmlinuz()) + size(boot.initrd())));
  }

  /** The ISO's file system label: {@code OEM} when it carries a cloud-config, else this. */
  static final String ISO_LABEL = "BASALT";

  /**
   * Stage 13: the hybrid ISO (image-builder/README.md, "ISO"): the live ESP as a FAT image (El
   * Torito EFI boot image and the hybrid GPT's ESP), the update payload for an offline install and
   * the embedded cloud-config, if any.
   */
  private void iso(FileTree image, long epoch, Boot boot, Path usrImg, Writers.Verity2 verity)
      throws BuildException {
    String cmdline = plan.commandLine(Planner.ISO).resolve(verity.rootHash(), verity.hashOffset());
    String name = Planner.isoName(spec);
    Path cloudConfig = cfg.isoCloudConfig();
    start(
        "iso",
        "live ESP image (systemd-boot, kernel, live initramfs), update payload"
            + (cloudConfig != null ? ", cloud-config.yml from " + cloudConfig : ""));
    Content sdboot = systemdBoot(image);
    hashUsrImgIfNotYet();
    Path espImg = staging.resolve(".iso-esp.img");
    HashingChannel.Digest iso;
    long espBytes;
    try {
      FileTree esp =
          io(
              () ->
                  BootEntries.liveEspTree(
                      sdboot,
                      spec.version(),
                      Content.ofFile(boot.vmlinuz()),
                      Content.ofFile(boot.liveInitrd()),
                      cmdline,
                      epoch));
      espBytes = Writers.espImageBytes(esp);
      io(() -> Writers.fat(Planner.ESP, epoch, 0).writeTo(esp, espImg, espBytes));
      List<BuildResult.Artifact> files = new ArrayList<>();
      files.add(renamed(written.get("usr.img"), "usr.img"));
      files.add(renamed(artifact("update/vmlinuz"), "vmlinuz"));
      files.add(renamed(artifact("update/initramfs"), "initramfs"));
      String payload = Manifests.payload(spec, verity, files);
      FileTree tree =
          io(
              () -> {
                FileTree.Builder t = FileTree.builder();
                t.put(TreeEntry.directory("/"));
                t.put(TreeEntry.regular("/README.TXT", utf8(isoReadme(cloudConfig != null))));
                t.putWithParents(TreeEntry.regular("/basalt/esp.img", Content.ofFile(espImg)));
                t.putWithParents(
                    TreeEntry.regular("/basalt/update/usr.img", Content.ofFile(usrImg)));
                t.putWithParents(
                    TreeEntry.regular("/basalt/update/vmlinuz", Content.ofFile(boot.vmlinuz())));
                t.putWithParents(
                    TreeEntry.regular("/basalt/update/initramfs", Content.ofFile(boot.initrd())));
                t.putWithParents(TreeEntry.regular("/basalt/update/payload.json", utf8(payload)));
                if (cloudConfig != null) {
                  t.put(
                      TreeEntry.regular(
                          "/cloud-config.yml", Content.ofBytes(Files.readAllBytes(cloudConfig))));
                }
                return t.build();
              });
      String label = cloudConfig != null ? "OEM" : ISO_LABEL;
      String seed = plan.guidSeed() + " iso";
      iso = io(() -> Writers.iso(tree, epoch, label, seed, Planner.ESP, staging.resolve(name)));
    } finally {
      io(
          () -> {
            Files.deleteIfExists(espImg);
            return null;
          });
    }
    put(name, iso);
    finish(human(iso.size()) + ", ESP image " + human(espBytes) + "; options: " + cmdline);
  }

  /** The ISO's README.TXT (CRLF, for any system that opens it). */
  private String isoReadme(boolean cloudConfig) {
    String s =
        "Basalt "
            + spec.version()
            + " ("
            + spec.channel()
            + ") live and install medium.\n"
            + "Boots with UEFI from a CD/DVD, BMC virtual media, or written as a whole to a USB stick.\n"
            + "basalt/update/: the update payload (usr.img, vmlinuz, initramfs, payload.json), what\n"
            + "  basalt install writes to a disk without network.\n"
            + "basalt/esp.img: the EFI system partition the firmware boots (systemd-boot, the\n"
            + "  kernel and the live initramfs).\n"
            + (cloudConfig
                ? "cloud-config.yml: applied by the live system (this file system is labelled OEM).\n"
                : "");
    return s.replace("\n", "\r\n");
  }

  private static Content utf8(String s) {
    return Content.ofBytes(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Stage 14: manifest.json, then every artifact moved from staging into the output folder. */
  private BuildResult manifest(
      Base base, UsrAssembler.Report usr, Boot boot, Writers.Verity2 verity) throws BuildException {
    start("manifest", "sizes and sha256 of every artifact, package versions");
    List<String> names = plan.artifactPaths();
    if (names.contains("usr.img")) {
      hashUsrImgIfNotYet();
    }
    List<BuildResult.Artifact> arts = new ArrayList<>();
    for (String n : names.subList(0, names.size() - 1)) {
      arts.add(artifact(n));
    }
    writeString(
        "manifest.json",
        Manifests.manifest(
            spec,
            base.epoch(),
            base.buildId(),
            verity,
            base.packages(),
            arts,
            boot.initramfs().kernelRelease(),
            usr));
    arts.add(artifact("manifest.json"));
    io(
        () -> {
          publish(names);
          return null;
        });
    finish(arts.size() + " artifacts in " + cfg.outDir());
    return new BuildResult(
        cfg.outDir(),
        spec.name(),
        spec.version(),
        base.epoch(),
        base.buildId(),
        verity.rootHash(),
        arts,
        times);
  }

  /** Without a disk, usr.img was not copied anywhere that hashed it: read it back once. */
  private void hashUsrImgIfNotYet() throws BuildException {
    if (!written.containsKey("usr.img")) {
      put("usr.img", io(() -> Writers.readBack(staging.resolve("usr.img"))));
    }
  }

  private void put(String name, HashingChannel.Digest d) {
    written.put(name, new BuildResult.Artifact(name, d.size(), d.sha256()));
  }

  private BuildResult.Artifact artifact(String name) throws BuildException {
    BuildResult.Artifact a = written.get(name);
    if (a == null || !Files.isRegularFile(staging.resolve(name))) {
      throw new BuildException(
          stageName, BuildException.Kind.IO, name + ": expected output was not written");
    }
    return a;
  }

  private static BuildResult.Artifact renamed(BuildResult.Artifact a, String path) {
    return new BuildResult.Artifact(path, a.size(), a.sha256());
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
   * from the inputs: the newest mtime of the packages' /usr/share/doc/PACKAGE/copyright files (dpkg
   * keeps the mtimes the package was built with, so this is the build date of the newest package in
   * the set).
   */
  long sourceDateEpoch(FileTree baseTree) throws BuildException {
    if (cfg.envEpoch().isPresent()) {
      return cfg.envEpoch().getAsLong();
    }
    if (cfg.spec().sourceDateEpoch().isPresent()) {
      return cfg.spec().sourceDateEpoch().getAsLong();
    }
    return derivedEpoch(baseTree)
        .orElseThrow(
            () ->
                new BuildException(
                    stageName,
                    BuildException.Kind.TREE,
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
      throw new BuildException(
          "read base tree",
          BuildException.Kind.TREE,
          "/var/lib/dpkg/status: missing from the base tree");
    }
    try (InputStream in = st.content().open()) {
      return DpkgStatus.parse(in.readAllBytes());
    } catch (IOException e) {
      throw new BuildException(
          "read base tree", BuildException.Kind.IO, "/var/lib/dpkg/status: " + e.getMessage(), e);
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
      throw new io.basalt.image.usr.UsrAssemblyException(
          "/boot",
          "no vmlinuz-* kernel in the base tree; add linux-image-amd64 to debian.packages");
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

  /**
   * BUILD_ID: 12 hex digits of sha256 over the base-tree key, spec text, epoch and toolchain
   * version.
   */
  String buildId(String baseKey, long epoch) {
    String in =
        "base "
            + baseKey
            + "\nepoch "
            + epoch
            + "\nbasalt "
            + cfg.basaltVersion()
            + "\nspec\n"
            + cfg.spec().text()
            // The trusted root is read from its own file: it changes the image without a change
            // of the spec text (a spec without update: hashes exactly what it did before).
            + cfg.spec()
                .update()
                .map(
                    u ->
                        "\nupdate root sha256 "
                            + sha256Hex(u.rootJson().getBytes(StandardCharsets.UTF_8)))
                .orElse("");
    return sha256Hex(in.getBytes(StandardCharsets.UTF_8)).substring(0, 12);
  }

  static String sha256Hex(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
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

  /** Writes a small text artifact under staging (UTF-8) and records its size and sha256. */
  private void writeString(String name, String s) throws BuildException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    Path p = staging.resolve(name);
    try {
      Files.createDirectories(p.getParent());
      Files.write(p, b);
    } catch (IOException e) {
      throw new BuildException(stageName, BuildException.Kind.IO, p + ": " + e.getMessage(), e);
    }
    written.put(name, new BuildResult.Artifact(name, b.length, sha256Hex(b)));
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

  /** Copies {@code c} to {@code to}, hashing the bytes as they are written. */
  private static HashingChannel.Digest copy(Content c, Path to) throws IOException {
    Files.createDirectories(to.getParent());
    try (InputStream in = c.open();
        HashingChannel ch =
            new HashingChannel(
                Files.newByteChannel(
                    to,
                    StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE,
                    StandardOpenOption.READ))) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
        while (bb.hasRemaining()) {
          ch.write(bb);
        }
      }
      return ch.finish();
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

  /**
   * Moves every staged artifact into the output folder (atomic per file, not synced: outputs are
   * made again after a crash), manifest last.
   */
  void publish(List<String> names) throws IOException {
    for (String n : names) {
      Path from = staging.resolve(n);
      Path to = cfg.outDir().resolve(n);
      Files.createDirectories(to.getParent());
      AtomicFiles.renameOutput(from, to);
    }
    deleteRecursively(staging);
  }
}
