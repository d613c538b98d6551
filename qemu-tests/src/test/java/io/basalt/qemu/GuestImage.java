package io.basalt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.image.cli.Basalt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A private copy of a disk image built by {@code basalt build}, prepared for one test: extra kernel
 * command line words in its boot entries (e.g. {@code basalt.testhook}), files on its OEM partition
 * (e.g. {@code basalt-test.sh}, {@code cloud-config.yml}), copy-on-write qcow2 overlays per boot
 * and the QEMU arguments for a UEFI (OVMF) machine. Not thread-safe; one per test class.
 *
 * <p>The guest is observed through the test hook (init-units README): with {@code basalt.testhook}
 * on the command line, the host runs OEM's {@code basalt-test.sh} after multi-user.target and
 * frames its output between {@code basalt-test: begin} and {@code basalt-test: end rc=N}; lines
 * {@code T: key=value} are read back by {@link #hookOutput}.
 */
final class GuestImage {
  /** Console markers that end a wait early as a failure. */
  static final String[] FAILURES = {
    "Kernel panic", "basalt-initramfs: dropping to an emergency shell"
  };

  /** First boot of the default image under TCG takes ~4 min on an idle 2-core machine. */
  static final Duration BOOT = Duration.ofMinutes(12);

  private static Path defaultImage;

  final Path imageDir;
  final Path work;
  final Path base;
  final JsonNode manifest;
  private final JsonNode partitions;
  private final Map<String, Path> oemFiles = new LinkedHashMap<>();

  /**
   * Copies {@code imageDir/disk.raw} to {@code work/base.raw} and reads its partition table.
   *
   * @throws IOException if the image folder has no disk.raw/manifest.json or a tool fails
   */
  GuestImage(Path imageDir, Path work) throws IOException, InterruptedException {
    this.imageDir = imageDir;
    this.work = work;
    Files.createDirectories(work);
    manifest = new ObjectMapper().readTree(Files.readString(imageDir.resolve("manifest.json")));
    base = work.resolve("base.raw");
    Host.sparseCopy(imageDir.resolve("disk.raw"), base);
    partitions =
        new ObjectMapper()
            .readTree(Host.run("sfdisk", "-J", base.toString()))
            .get("partitiontable")
            .get("partitions");
  }

  /**
   * A copy of {@code imageDir}'s disk for a machine driven through {@link GuestServer}: the test
   * hook on the kernel command line and the server's guest scripts on OEM.
   *
   * @throws IOException if copying the disk or writing OEM fails
   */
  static GuestImage driven(Path imageDir, Path work) throws IOException, InterruptedException {
    GuestImage d = new GuestImage(imageDir, work);
    d.appendCmdline("basalt.testhook");
    for (var e : GuestServer.guestScripts().entrySet()) {
      d.putOem(e.getKey(), e.getValue());
    }
    return d;
  }

  /**
   * The default image: the build folder named by {@code -Dbasalt.qemu.image=DIR}, else built once
   * per test JVM by {@code basalt build} into {@code target/image} (base tree from the user's
   * cache), from the spec {@code -Dbasalt.qemu.spec=FILE} names (e.g. docs/specs/bookworm.yaml),
   * else from the default spec.
   */
  static synchronized Path defaultImage() {
    if (defaultImage == null) {
      String given = System.getProperty("basalt.qemu.image");
      String spec = System.getProperty("basalt.qemu.spec");
      Path dir = given != null ? Path.of(given) : Path.of("target", "image").toAbsolutePath();
      if (given == null || !Files.isRegularFile(dir.resolve("manifest.json"))) {
        List<String> args = new ArrayList<>(List.of("build", "--out", dir.toString()));
        if (spec != null) {
          args.addAll(List.of("--spec", Path.of(spec).toAbsolutePath().toString()));
        }
        int rc = Basalt.commandLine().execute(args.toArray(String[]::new));
        if (rc != 0) {
          throw new AssertionError("basalt " + String.join(" ", args) + " failed with exit " + rc);
        }
      }
      defaultImage = dir;
    }
    return defaultImage;
  }

  /** Byte offset of partition {@code number} (1-based, GPT order) in the disk. */
  long partitionStart(int number) {
    return partitions.get(number - 1).get("start").asLong() * 512;
  }

  /** Size in bytes of partition {@code number} (1-based) as built. */
  long partitionSize(int number) {
    return partitions.get(number - 1).get("size").asLong() * 512;
  }

  /** The kernel command line option {@code key=} of the image's PXE cmdline (e.g. usrhash). */
  String pxeOption(String key) throws IOException {
    String cmdline = Files.readString(imageDir.resolve("pxe/cmdline"));
    for (String w : cmdline.trim().split("\\s+")) {
      if (w.startsWith(key + "=")) {
        return w.substring(key.length() + 1);
      }
    }
    throw new IOException("no " + key + "= in " + imageDir.resolve("pxe/cmdline") + ": " + cmdline);
  }

  /** Appends {@code words} to the options line of every boot entry on the ESP of the copy. */
  GuestImage appendCmdline(String... words) throws IOException, InterruptedException {
    String esp = base + "@@" + partitionStart(1);
    String listing =
        Host.run("env", "MTOOLS_SKIP_CHECK=1", "mdir", "-b", "-i", esp, "::/loader/entries");
    List<String> entries =
        listing
            .lines()
            .filter(l -> l.endsWith(".conf"))
            .map(l -> l.substring(l.indexOf("/loader/entries/")))
            .toList();
    if (entries.isEmpty()) {
      throw new IOException("no boot entries in " + esp + ": " + listing);
    }
    for (String entry : entries) {
      String conf = Host.run("env", "MTOOLS_SKIP_CHECK=1", "mtype", "-i", esp, "::" + entry);
      Path patched = work.resolve("entry.conf");
      String suffix = " " + String.join(" ", words);
      Files.writeString(
          patched, conf.replaceFirst("(?m)^(options .*)$", "$1" + suffix.replace("$", "\\$")));
      Host.run(
          "env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-o", "-i", esp, patched.toString(), "::" + entry);
    }
    return this;
  }

  /** Copies {@code file} to the OEM partition (FAT) of the copy as {@code /name}. */
  GuestImage putOem(String name, Path file) throws IOException, InterruptedException {
    oemFiles.put(name, file.toAbsolutePath());
    Host.run(
        "env",
        "MTOOLS_SKIP_CHECK=1",
        "mcopy",
        "-o",
        "-i",
        base + "@@" + partitionStart(4),
        file.toString(),
        "::/" + name);
    return this;
  }

  /** Writes {@code content} to the OEM partition of the copy as {@code /name}. */
  GuestImage putOem(String name, String content) throws IOException, InterruptedException {
    Path f = work.resolve("oem-" + name.replace('/', '_'));
    Files.writeString(f, content);
    return putOem(name, f);
  }

  /**
   * A new qcow2 overlay {@code work/NAME.qcow2} over the copy; {@code size} (e.g. "4G") enlarges
   * the virtual disk as {@code qemu-img resize} would, null keeps the image's size.
   */
  Path overlay(String name, String size) throws IOException, InterruptedException {
    Path o = work.resolve(name + ".qcow2");
    Files.deleteIfExists(o);
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "raw",
                "-b",
                base.toString(),
                o.toString()));
    if (size != null) {
      cmd.add(size);
    }
    Host.run(cmd.toArray(String[]::new));
    return o;
  }

  /**
   * QEMU arguments of a q35 UEFI machine (OVMF, its own copy of the variable store {@code
   * work/NAME-vars.fd}, kept if it exists so reboots see the same variables) with 2 GiB, a virtio
   * NIC on user-mode networking with restrict=on plus {@code netdevExtra} (e.g.
   * ",guestfwd=tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 8080" or
   * ",hostfwd=tcp:127.0.0.1:2222-:22"; may be "").
   */
  List<String> uefi(String name, String netdevExtra) throws IOException {
    Path vars = work.resolve(name + "-vars.fd");
    if (!Files.exists(vars)) {
      Files.copy(Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd"), vars);
    }
    return new ArrayList<>(
        List.of(
            "-machine",
            "q35",
            "-m",
            "2G",
            "-smp",
            "2",
            "-drive",
            "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
            "-drive",
            "if=pflash,format=raw,unit=1,file=" + vars,
            "-netdev",
            "user,id=n0,restrict=on" + netdevExtra,
            "-device",
            "virtio-net-pci,netdev=n0"));
  }

  /** {@link #uefi} plus {@code disk} as the first virtio disk (boot index 0). */
  List<String> uefiVirtio(String name, Path disk, String netdevExtra) throws IOException {
    List<String> args = uefi(name, netdevExtra);
    args.addAll(
        List.of(
            "-drive",
            "if=none,id=d0,format=qcow2,file=" + disk,
            "-device",
            "virtio-blk-pci,drive=d0,bootindex=0"));
    return args;
  }

  /**
   * A TFTP folder {@code work/NAME-tftp} for a PXE boot of the image: its {@code pxe/vmlinuz},
   * {@code pxe/initramfs} and {@code pxe/usr.img} (hard links, sparse copies where links fail; the
   * initramfs fetches usr.img from the TFTP server named by the DHCP lease, QEMU's iPXE having no
   * {@code ${cwduri}}) and its {@code pxe/boot.ipxe} with {@code kernelWords} (e.g. {@code
   * basalt.testhook}) appended to the {@code kernel} line.
   *
   * @throws IOException if the image has no pxe/ output or the folder cannot be written
   */
  Path pxeTftp(String name, String... kernelWords) throws IOException, InterruptedException {
    Path pxe = imageDir.resolve("pxe");
    Path dir = work.resolve(name + "-tftp");
    Files.createDirectories(dir);
    for (String f : List.of("vmlinuz", "initramfs", "usr.img")) {
      Path dst = dir.resolve(f);
      Files.deleteIfExists(dst);
      try {
        Files.createLink(dst, pxe.resolve(f).toAbsolutePath());
      } catch (IOException | UnsupportedOperationException e) {
        Host.sparseCopy(pxe.resolve(f), dst);
      }
    }
    String script = Files.readString(pxe.resolve("boot.ipxe"));
    if (!script.matches("(?s).*(?m:^kernel vmlinuz .*$).*")) {
      throw new IOException(pxe.resolve("boot.ipxe") + ": no 'kernel vmlinuz ...' line: " + script);
    }
    if (kernelWords.length > 0) {
      script =
          script.replaceFirst(
              "(?m)^(kernel vmlinuz .*)$",
              "$1 " + String.join(" ", kernelWords).replace("$", "\\$"));
    }
    Files.writeString(dir.resolve("boot.ipxe"), script);
    return dir;
  }

  /**
   * QEMU arguments of a BIOS (SeaBIOS) machine with {@link #MEMORY_PXE} that network-boots: QEMU's
   * iPXE ROM on a virtio NIC gets {@code boot.ipxe} from QEMU's built-in TFTP server over {@code
   * tftpDir} (user-mode networking with restrict=on, plus {@code netdevExtra}; may be "").
   */
  static List<String> pxe(Path tftpDir, String netdevExtra) {
    return pxe(tftpDir, netdevExtra, MEMORY_PXE);
  }

  /** {@link #pxe(Path, String)} with {@code memory} (QEMU's {@code -m}) instead. */
  static List<String> pxe(Path tftpDir, String netdevExtra, String memory) {
    return new ArrayList<>(
        List.of(
            "-machine",
            "pc",
            "-m",
            memory,
            "-smp",
            "2",
            "-boot",
            "n",
            "-netdev",
            "user,id=n0,restrict=on,tftp="
                + tftpDir.toAbsolutePath()
                + ",bootfile=boot.ipxe"
                + netdevExtra,
            "-device",
            "virtio-net-pci,netdev=n0"));
  }

  /**
   * Memory of a PXE (live) guest: the 335 MiB usr.img is held in RAM and ROOT is tmpfs; the least
   * that reaches multi-user is in docs/benchmarks.md ("Live PXE memory"), the tests give room for
   * the test hook.
   */
  static final String MEMORY_PXE = "3G";

  /**
   * A small stand-alone FAT disk image {@code work/NAME-oem.raw} labelled OEM holding every file
   * put with {@link #putOem} so far: the OEM files for a machine without the image's disk (PXE).
   *
   * @throws IOException if mkfs.vfat or mcopy fail
   */
  Path oemDrive(String name) throws IOException, InterruptedException {
    long bytes = 16L << 20;
    for (Path f : oemFiles.values()) {
      bytes += Files.size(f);
    }
    Path img = work.resolve(name + "-oem.raw");
    Files.deleteIfExists(img);
    Host.run("truncate", "-s", Long.toString((bytes + (1 << 20) - 1) >> 20 << 20), img.toString());
    Host.run("mkfs.vfat", "-n", "OEM", img.toString());
    for (Map.Entry<String, Path> e : oemFiles.entrySet()) {
      Host.run(
          "env",
          "MTOOLS_SKIP_CHECK=1",
          "mcopy",
          "-o",
          "-i",
          img.toString(),
          e.getValue().toString(),
          "::/" + e.getKey());
    }
    return img;
  }

  /**
   * Waits for the test hook's output from console offset {@code from} and returns its {@code T:
   * key=value} lines in order (the last value of a repeated key wins).
   */
  static Map<String, String> hookOutput(QemuVm vm, int from) throws InterruptedException {
    QemuVm.Match begin = vm.expect(from, BOOT, "basalt-test: begin", FAILURES);
    QemuVm.Match end =
        vm.expect(begin.end, Duration.ofMinutes(15), "basalt-test: end rc=", FAILURES);
    String out = vm.console().substring(begin.end, end.start);
    Map<String, String> m = new LinkedHashMap<>();
    for (String l : out.split("\n")) {
      int t = l.indexOf("T: ");
      int eq = l.indexOf('=', Math.max(t, 0));
      if (t >= 0 && eq > t) {
        m.put(l.substring(t + 3, eq), l.substring(eq + 1).trim());
      }
    }
    return m;
  }
}
