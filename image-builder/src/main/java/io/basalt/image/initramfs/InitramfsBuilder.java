package io.basalt.image.initramfs;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.tree.TreePaths;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * Assembles Basalt's initramfs tree from an image tree: the init script from {@code init-units},
 * busybox and its applet links, the binaries the init needs with every shared library they load
 * (found by reading their ELF headers in the image tree), the kernel modules it needs with their
 * dependencies (from the image kernel's modules.dep), and for live (PXE) images the
 * verity-protected {@code /basalt/usr.img}. The result is a {@link FileTree} for the cpio writer.
 * Not thread-safe; one builder per initramfs.
 *
 * <pre>{@code
 * Initramfs ird = InitramfsBuilder.forImage(imageTree).mtime(sourceDateEpoch).build();
 * FileTree tree = ird.tree();             // write it as newc cpio (+ compression)
 * String kernel = ird.kernelImagePath();  // e.g. /boot/vmlinuz-6.1.0-50-amd64, in the image tree
 * }</pre>
 */
public final class InitramfsBuilder {
  /**
   * Modules loaded by default: disks (virtio, SCSI, SATA/AHCI, USB mass storage behind xHCI/EHCI),
   * dm-verity, the file systems (squashfs for /usr, ext4 for ROOT, vfat + code pages for OEM), loop
   * for the live /usr image, overlay, efivarfs (the loader's {@code LoaderDevicePartUUID} names the
   * boot disk); and the devices cloud-config's datasources need (the virtio NIC for {@code
   * cloud-config-url=}, CD-ROMs for config-2 and OpenNebula's CONTEXT), so that they exist before
   * systemd starts. Left to udev's coldplug, a driver load on a starved machine can outlast udev's
   * event timeout; the worker is killed and the device never appears for that boot. {@code
   * nls_ascii} is the Debian kernel's default FAT I/O charset ({@code
   * CONFIG_FAT_DEFAULT_IOCHARSET="ascii"}), needed by every vfat mount without {@code iocharset=}
   * (the ESP at /efi, the OEM partition). Loaded on demand by the mount, on a starved machine it
   * was still loading (shown as {@code nls_ascii(+)}) when the mount gave up, and efi.mount failed
   * with "IO charset ascii not found". {@code sha256_ssse3} holds the kernel's
   * SSSE3/AVX/AVX2/SHA-NI SHA-256: dm-verity picks its hash implementation when /init opens /usr,
   * and without it every /usr read of that boot is hashed by sha256-generic. A CPU without those
   * extensions (QEMU's default TCG model) refuses it with "No such device", which /init ignores.
   */
  public static final List<String> DEFAULT_MODULES =
      List.of(
          "virtio_pci",
          "virtio_blk",
          "virtio_scsi",
          "sd_mod",
          "ahci",
          "sr_mod",
          "xhci_pci",
          "ehci_pci",
          "usb_storage",
          "uas",
          "virtio_net",
          "dm_mod",
          "dm_verity",
          "sha256_ssse3",
          "squashfs",
          "ext4",
          "crc32c",
          "vfat",
          "nls_cp437",
          "nls_iso8859_1",
          "nls_utf8",
          "nls_ascii",
          "loop",
          "overlay",
          "efivarfs");

  /**
   * How many module loaders /init runs at once ({@code /etc/basalt/modules.load} has one line per
   * loader; see {@link KernelModules#loadGroups}). The default modules fall into one large linked
   * set (virtio, SCSI, SATA, USB and the NIC share the virtio and SCSI cores) and small ones (dm,
   * squashfs, ext4, FAT, code pages, loop, overlay); a second loader takes all the small ones while
   * the first works through the large set, so a third would finish no sooner.
   */
  static final int LOAD_GROUPS = 2;

  /**
   * Binaries copied by default (names searched in /usr/sbin, /usr/bin, /sbin, /bin of the image).
   */
  public static final List<String> DEFAULT_BINARIES =
      List.of(
          "busybox",
          "veritysetup",
          "sfdisk",
          "blkid",
          "mke2fs",
          "mkfs.ext4",
          "e2fsck",
          "resize2fs");

  /**
   * Busybox applets the init script uses; each becomes a link to busybox unless a real binary is
   * there. {@code ip}, {@code udhcpc}, {@code wget} and {@code tftp} fetch a live boot's usr.img.
   */
  public static final List<String> BUSYBOX_APPLETS =
      List.of(
          "sh",
          "[",
          "test",
          "awk",
          "basename",
          "blockdev",
          "cat",
          "chmod",
          "cp",
          "cttyhack",
          "cut",
          "dd",
          "dmesg",
          "find",
          "grep",
          "head",
          "insmod",
          "ip",
          "ln",
          "losetup",
          "ls",
          "lsmod",
          "mkdir",
          "mknod",
          "modprobe",
          "mount",
          "mv",
          "poweroff",
          "readlink",
          "reboot",
          "rm",
          "sed",
          "setsid",
          "sleep",
          "stat",
          "switch_root",
          "sync",
          "tail",
          "tftp",
          "tr",
          "udhcpc",
          "umount",
          "uname",
          "wget");

  /** The init-units resource holding the init script. */
  public static final String INIT_RESOURCE = "/basalt/initramfs/init";

  private static final List<String> BIN_DIRS = List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin");

  private final FileTree image;
  private String kernelRelease;
  private List<String> modules = DEFAULT_MODULES;
  private List<String> binaries = DEFAULT_BINARIES;
  private Content initScript;
  private Content liveUsrImage;
  private long mtime;

  private InitramfsBuilder(FileTree image) {
    this.image = Objects.requireNonNull(image, "image");
  }

  /** A builder taking binaries, libraries and modules from {@code image} (the full image tree). */
  public static InitramfsBuilder forImage(FileTree image) {
    return new InitramfsBuilder(image);
  }

  /** The kernel release whose modules to take; by default the only one under /usr/lib/modules. */
  public InitramfsBuilder kernelRelease(String release) {
    this.kernelRelease = Objects.requireNonNull(release, "release");
    return this;
  }

  /** Module names or aliases to load at boot, replacing {@link #DEFAULT_MODULES}. */
  public InitramfsBuilder modules(List<String> names) {
    this.modules = List.copyOf(names);
    return this;
  }

  /** Binary names or absolute in-image paths, replacing {@link #DEFAULT_BINARIES}. */
  public InitramfsBuilder binaries(List<String> namesOrPaths) {
    this.binaries = List.copyOf(namesOrPaths);
    return this;
  }

  /** The /init script; by default {@link #INIT_RESOURCE} from the init-units jar. */
  public InitramfsBuilder initScript(Content script) {
    this.initScript = Objects.requireNonNull(script, "script");
    return this;
  }

  /**
   * Makes a live (PXE) initramfs: {@code usrImage} (the /usr squashfs followed by its dm-verity
   * hash tree, i.e. usr.img) is stored as /basalt/usr.img.
   */
  public InitramfsBuilder liveUsrImage(Content usrImage) {
    this.liveUsrImage = Objects.requireNonNull(usrImage, "usrImage");
    return this;
  }

  /**
   * Modification time (seconds, SOURCE_DATE_EPOCH) of generated entries and upper bound for copied
   * ones.
   */
  public InitramfsBuilder mtime(long epochSeconds) {
    if (epochSeconds < 0) {
      throw new IllegalArgumentException("mtime " + epochSeconds + " is negative");
    }
    this.mtime = epochSeconds;
    return this;
  }

  /**
   * Builds the initramfs tree.
   *
   * @throws NoSuchFileException naming the binary, library, module or file missing from the image
   * @throws IOException when an ELF file or module index in the image is malformed or unreadable
   */
  public Initramfs build() throws IOException {
    TreeResolver resolver = new TreeResolver(image);
    LibraryResolver libs = new LibraryResolver(resolver);
    Copier out = new Copier(resolver, libs);

    // Merged-/usr style top level, so that /bin/sh and PT_INTERP paths resolve whatever the image
    // uses.
    for (String d :
        List.of("/dev", "/proc", "/sys", "/run", "/sysroot", "/tmp", "/etc/basalt", "/basalt")) {
      out.dir(d);
    }
    out.put(TreeEntry.device("/dev/console", EntryType.CHAR_DEVICE, 5, 1).withMode(0600));
    out.put(TreeEntry.device("/dev/null", EntryType.CHAR_DEVICE, 1, 3).withMode(0666));

    // Binaries and their libraries.
    String busyboxPath = null;
    List<String> binaryPaths = new ArrayList<>();
    for (String b : binaries) {
      String path = findBinary(resolver, b);
      binaryPaths.add(path);
      for (String f : libs.closure(path)) {
        out.copy(f);
      }
      if (b.equals("busybox") || b.endsWith("/busybox")) {
        busyboxPath = resolver.resolve(path).entry.path();
      }
    }
    if (busyboxPath == null) {
      throw new IllegalStateException(
          "binaries " + binaries + " do not include busybox, which the init script runs on");
    }
    String bbDir = TreePaths.parent(busyboxPath);
    for (String applet : BUSYBOX_APPLETS) {
      boolean real = false;
      for (String d : BIN_DIRS) {
        if (out.resolves(TreePaths.child(d, applet))) {
          real = true;
          break;
        }
      }
      if (!real) {
        out.put(TreeEntry.symlink(TreePaths.child(bbDir, applet), "busybox"));
      }
    }
    for (String top : List.of("bin", "sbin", "lib", "lib64")) {
      if (!out.has("/" + top) && out.has("/usr/" + top)) {
        out.put(TreeEntry.symlink("/" + top, "usr/" + top));
      }
    }
    if (!out.resolves("/bin/sh")) {
      throw new IllegalStateException(
          "/bin/sh does not resolve in the initramfs (busybox at " + busyboxPath + ")");
    }
    if (resolver.resolve("/etc/mke2fs.conf") != null) {
      out.copy("/etc/mke2fs.conf");
    }

    // Kernel modules.
    String release = kernelRelease != null ? kernelRelease : onlyRelease(resolver);
    String modDir = "/lib/modules/" + release;
    TreeResolver.Resolved md = resolver.resolve(modDir);
    if (md == null || !md.entry.isDirectory()) {
      throw new NoSuchFileException(
          modDir, null, "kernel module directory missing from the image tree");
    }
    KernelModules index =
        new KernelModules(
            text(resolver, modDir + "/modules.dep", true),
            text(resolver, modDir + "/modules.alias", false),
            text(resolver, modDir + "/modules.softdep", false),
            text(resolver, modDir + "/modules.builtin", false));
    List<String> order = index.loadOrder(modules);
    out.copyLinksTo(modDir);
    String canonicalModDir = md.entry.path();
    List<String> loaded = new ArrayList<>();
    Map<String, Long> size = new HashMap<>();
    StringBuilder dep = new StringBuilder();
    for (String f : order) {
      String src = modDir + "/" + f;
      TreeResolver.Resolved r = resolver.resolve(src);
      TreeEntry e = r == null ? null : libs.regular(r.entry);
      if (e == null) {
        throw new NoSuchFileException(
            src, null, "module listed in modules.dep missing from the image tree");
      }
      String plain = stripCompression(f);
      byte[] ko = decompress(e, src);
      out.put(
          TreeEntry.regular(canonicalModDir + "/" + plain, Content.ofBytes(ko))
              .withMtime(e.mtime()));
      size.put(f, (long) ko.length);
      loaded.add(KernelModules.nameOf(f));
      dep.append(plain).append(':');
      for (String d : index.dependencies(f)) {
        dep.append(' ').append(stripCompression(d));
      }
      dep.append('\n');
    }
    // busybox modprobe reads this modules.dep (the modules here, under their uncompressed names).
    out.put(
        TreeEntry.regular(
                canonicalModDir + "/modules.dep",
                Content.ofBytes(dep.toString().getBytes(StandardCharsets.UTF_8)))
            .withMtime(mtime));
    StringBuilder load = new StringBuilder();
    for (List<String> group : index.loadGroups(order, LOAD_GROUPS, size::get)) {
      List<String> names = new ArrayList<>();
      for (String f : group) {
        String base = stripCompression(f).substring(f.lastIndexOf('/') + 1);
        names.add(base.substring(0, base.length() - ".ko".length()));
      }
      load.append(String.join(" ", names)).append('\n');
    }
    out.put(
        TreeEntry.regular(
                "/etc/basalt/modules.load",
                Content.ofBytes(load.toString().getBytes(StandardCharsets.UTF_8)))
            .withMtime(mtime));

    String kernelImage = "/boot/vmlinuz-" + release;
    if (resolver.resolve(kernelImage) == null) {
      kernelImage = null;
    }

    // Init script and live /usr.
    Content init = initScript != null ? initScript : initResource();
    out.put(TreeEntry.regular("/init", init).withMode(0755).withMtime(mtime));
    if (liveUsrImage != null) {
      out.put(TreeEntry.regular("/basalt/usr.img", liveUsrImage).withMode(0444).withMtime(mtime));
    }
    FileTree tree = out.build().clampMtimes(mtime);
    return new Initramfs(tree, release, loaded, binaryPaths, kernelImage);
  }

  private static String findBinary(TreeResolver resolver, String nameOrPath)
      throws NoSuchFileException {
    if (nameOrPath.startsWith("/")) {
      if (resolver.resolve(nameOrPath) == null) {
        throw new NoSuchFileException(nameOrPath, null, "binary missing from the image tree");
      }
      return nameOrPath;
    }
    for (String d : BIN_DIRS) {
      String p = TreePaths.child(d, nameOrPath);
      TreeResolver.Resolved r = resolver.resolve(p);
      if (r != null && !r.entry.isDirectory()) {
        return p;
      }
    }
    throw new NoSuchFileException(
        nameOrPath,
        null,
        "binary in none of "
            + BIN_DIRS
            + " of the image tree"
            + " (add its Debian package to the image spec: busybox, cryptsetup-bin, fdisk, util-linux, e2fsprogs)");
  }

  private static String onlyRelease(TreeResolver resolver) throws IOException {
    TreeResolver.Resolved r = resolver.resolve("/lib/modules");
    if (r == null || !r.entry.isDirectory()) {
      throw new NoSuchFileException(
          "/lib/modules",
          null,
          "no kernel modules in the image tree (is a linux-image package in the spec?)");
    }
    List<String> releases = new ArrayList<>();
    for (TreeEntry c : resolver.tree().children(r.entry.path())) {
      if (c.isDirectory()) {
        releases.add(c.name());
      }
    }
    if (releases.size() != 1) {
      throw new IOException(
          "/lib/modules holds "
              + releases.size()
              + " kernel releases "
              + releases
              + "; name one with kernelRelease()");
    }
    return releases.get(0);
  }

  private String text(TreeResolver resolver, String path, boolean required) throws IOException {
    TreeResolver.Resolved r = resolver.resolve(path);
    if (r == null) {
      if (required) {
        throw new NoSuchFileException(
            path, null, "missing from the image tree (run depmod when assembling the image)");
      }
      return null;
    }
    TreeEntry e =
        r.entry.type() == EntryType.HARDLINK ? resolver.tree().get(r.entry.linkTarget()) : r.entry;
    try (InputStream in = e.content().open()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static String stripCompression(String f) {
    for (String s : List.of(".xz", ".zst", ".gz")) {
      if (f.endsWith(".ko" + s)) {
        return f.substring(0, f.length() - s.length());
      }
    }
    return f;
  }

  private static byte[] decompress(TreeEntry e, String what) throws IOException {
    try (InputStream raw = e.content().open()) {
      InputStream in;
      if (what.endsWith(".ko.xz")) {
        in = new org.tukaani.xz.XZInputStream(raw);
      } else if (what.endsWith(".ko.zst")) {
        in = new com.github.luben.zstd.ZstdInputStream(raw);
      } else if (what.endsWith(".ko.gz")) {
        in = new GZIPInputStream(raw);
      } else {
        in = raw;
      }
      return in.readAllBytes();
    } catch (IOException ex) {
      throw new IOException(
          what + ": cannot read/decompress kernel module: " + ex.getMessage(), ex);
    }
  }

  private static Content initResource() throws IOException {
    try (InputStream in = InitramfsBuilder.class.getResourceAsStream(INIT_RESOURCE)) {
      if (in == null) {
        throw new NoSuchFileException(
            INIT_RESOURCE,
            null,
            "init script resource missing from the classpath (basalt-init-units jar)");
      }
      return Content.ofBytes(in.readAllBytes());
    }
  }

  /** Copies entries from the image into the initramfs tree, keeping the symlinks on the way. */
  private static final class Copier {
    private final TreeResolver resolver;
    private final LibraryResolver libs;
    private final FileTree.Builder out = FileTree.builder();

    Copier(TreeResolver resolver, LibraryResolver libs) {
      this.resolver = resolver;
      this.libs = libs;
    }

    void put(TreeEntry e) {
      ensureParents(e.path());
      out.put(e);
    }

    boolean has(String path) {
      return out.get(path) != null;
    }

    /**
     * True when {@code path} resolves (following links) to a non-directory in the output so far.
     */
    boolean resolves(String path) {
      TreeResolver.Resolved r = new TreeResolver(out.build()).resolve(path);
      return r != null && !r.entry.isDirectory();
    }

    void dir(String path) {
      if (out.get(path) == null) {
        ensureParents(path);
        out.put(TreeEntry.directory(path));
      }
    }

    /** Parents are taken from the image's own directory entries when it has them (mode, owner). */
    private void ensureParents(String path) {
      List<String> missing = new ArrayList<>();
      for (String p = TreePaths.parent(path);
          p != null && out.get(p) == null;
          p = TreePaths.parent(p)) {
        missing.add(p);
      }
      for (int i = missing.size() - 1; i >= 0; i--) {
        String p = missing.get(i);
        TreeEntry src = resolver.tree().get(p);
        out.put(src != null && src.isDirectory() ? src : TreeEntry.directory(p));
      }
    }

    /** Copies the links leading to {@code path} (not the target itself). */
    void copyLinksTo(String path) throws NoSuchFileException {
      TreeResolver.Resolved r = resolver.resolve(path);
      if (r == null) {
        throw new NoSuchFileException(path, null, "missing from the image tree");
      }
      for (TreeEntry link : r.links) {
        put(link);
      }
    }

    /** Copies {@code path} as the image has it: every link on the way, then the file. */
    void copy(String path) throws NoSuchFileException {
      TreeResolver.Resolved r = resolver.resolve(path);
      if (r == null) {
        throw new NoSuchFileException(path, null, "missing from the image tree");
      }
      for (TreeEntry link : r.links) {
        put(link);
      }
      TreeEntry e = r.entry;
      if (e.type() == EntryType.HARDLINK) {
        TreeEntry t = libs.regular(e);
        e =
            TreeEntry.regular(e.path(), t.content())
                .withMode(t.mode())
                .withOwner(t.uid(), t.gid())
                .withMtime(t.mtime());
      }
      if (e.isDirectory()) {
        dir(e.path());
      } else {
        put(e);
      }
    }

    FileTree build() {
      return out.build();
    }
  }
}
