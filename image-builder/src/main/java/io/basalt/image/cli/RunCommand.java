package io.basalt.image.cli;

import io.basalt.host.AtomicFiles;
import io.basalt.image.qcow2.Qcow2Writer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code basalt run [ARTIFACT]}: boots a built image in QEMU (TCG) with the serial console on the
 * terminal: a disk image through UEFI (OVMF) on virtio or as a USB stick, or the PXE artifacts
 * through QEMU's iPXE ROM and built-in TFTP server; optionally with a cloud-config on a config-2
 * ISO; user-mode networking restricted to the guest, with an ssh forward on 127.0.0.1. Not
 * thread-safe; one instance per invocation.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Boot a built Basalt image in QEMU with the serial console on this terminal (quit: Ctrl-A X).",
      "ARTIFACT: a build output folder (default: the only one under ./out), a disk.raw or disk.qcow2,"
          + " or a pxe/ folder. Disks boot through UEFI (OVMF) on a copy-on-write overlay, so the"
          + " artifact is not changed (unless --in-place); PXE boots iPXE from QEMU's TFTP server."
    })
final class RunCommand implements Callable<Integer> {
  /** Exit code when the artifact or a tool is missing or the arguments are wrong. */
  public static final int EXIT_USAGE = 2;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "ARTIFACT",
      description = "what to boot (see above)")
  Path artifact;

  @Option(
      names = "--pxe",
      description = "boot the PXE artifacts (pxe/vmlinuz + pxe/initramfs) over iPXE/TFTP")
  boolean pxe;

  @Option(
      names = "--usb",
      description = "attach the disk as a USB mass-storage stick (xHCI) instead of virtio")
  boolean usb;

  @Option(
      names = "--iso",
      description =
          "boot the build's <name>-<version>.iso (UEFI) as a CD-ROM, or with --usb as a USB stick;"
              + " the guest's writes to it are discarded")
  boolean iso;

  @Option(
      names = "--cloud-config",
      paramLabel = "FILE",
      description = "a #cloud-config file, given to the guest on a config-2 ISO")
  Path cloudConfig;

  @Option(
      names = "--ssh-port",
      defaultValue = "2222",
      paramLabel = "PORT",
      description = "127.0.0.1 port forwarded to the guest's 22 (default: ${DEFAULT-VALUE})")
  int sshPort;

  /** The guest address that {@code --guest-forward} ports are reached at. */
  static final String GUEST_FORWARD_ADDRESS = "10.0.2.100";

  @Option(
      names = "--guest-forward",
      paramLabel = "PORT",
      description =
          "let the guest reach this machine's 127.0.0.1:PORT at http://"
              + GUEST_FORWARD_ADDRESS
              + ":PORT (e.g. basalt repo serve); repeatable; one busybox nc per connection"
              + " (Debian package busybox-static)")
  List<Integer> guestForwards = new ArrayList<>();

  @Option(
      names = "--memory",
      defaultValue = "2G",
      description = "guest memory (default: ${DEFAULT-VALUE})")
  String memory;

  @Option(
      names = "--disk-size",
      paramLabel = "SIZE",
      description =
          "virtual size of the disk overlay, e.g. 16G; ROOT grows to fill it on first boot"
              + " (default: 8G, or the disk's own size when that is larger)")
  String diskSize;

  /**
   * The overlay's virtual size when {@code --disk-size} is not given. The built disk is only as
   * large as its partitions (ROOT 64 MiB in the default spec), and ROOT grows only into space the
   * disk has: booted at its built size, etcd could not even preallocate its 64 MB WAL ("no space
   * left on device"). The overlay is thin, so the space costs nothing until the guest writes it.
   */
  static final long DEFAULT_OVERLAY_BYTES = 8L << 30;

  @Option(
      names = "--in-place",
      description =
          "boot the disk artifact itself instead of an overlay (the first boot changes it)")
  boolean inPlace;

  @Option(
      names = "--kernel-arg",
      paramLabel = "ARG",
      description = "PXE only: extra kernel argument (repeatable)")
  List<String> kernelArgs = new ArrayList<>();

  @Option(
      names = "--work-dir",
      paramLabel = "DIR",
      description =
          "where overlay, UEFI variables, ISO and TFTP folder go (default: <artifact folder>/run)")
  Path workDir;

  @Option(
      names = "--ovmf-code",
      defaultValue = "/usr/share/OVMF/OVMF_CODE_4M.fd",
      description = "UEFI firmware code (default: ${DEFAULT-VALUE})")
  Path ovmfCode;

  @Option(
      names = "--ovmf-vars",
      defaultValue = "/usr/share/OVMF/OVMF_VARS_4M.fd",
      description = "UEFI variable store template, copied per run (default: ${DEFAULT-VALUE})")
  Path ovmfVars;

  @Option(
      names = "--dry-run",
      description = "prepare the work folder and print the QEMU command instead of running it")
  boolean dryRun;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Plan plan;
    try {
      plan = plan();
    } catch (IllegalArgumentException | NoSuchFileException e) {
      err.println(
          "basalt run: "
              + (e instanceof NoSuchFileException
                  ? e.getMessage() + ": not found"
                  : e.getMessage()));
      return EXIT_USAGE;
    }
    for (List<String> c : plan.prepare) {
      if (dryRun) {
        out.println("# " + String.join(" ", c));
      }
      runTool(c);
    }
    if (dryRun) {
      out.println(String.join(" ", plan.qemu));
      out.flush();
      return 0;
    }
    out.println(
        "basalt run: booting " + plan.what + " in QEMU (TCG: expect a minute or more to boot).");
    out.println("basalt run: serial console below; quit with Ctrl-A X.");
    out.println(
        "basalt run: log in with  ssh -p "
            + sshPort
            + " <user>@127.0.0.1  once the console shows"
            + " 'basalt: multi-user reached' (the user and its key come from your cloud-config's"
            + " ssh_authorized_keys; Basalt has no default password).");
    out.flush();
    Process p = new ProcessBuilder(plan.qemu).inheritIO().start();
    return p.waitFor();
  }

  /**
   * The QEMU command and the preparation commands (overlay, ISO), with the files they need copied.
   */
  static final class Plan {
    final List<List<String>> prepare = new ArrayList<>();
    List<String> qemu;
    String what;
  }

  Plan plan() throws IOException {
    if (sshPort < 1 || sshPort > 65535) {
      throw new IllegalArgumentException("--ssh-port " + sshPort + " is not a TCP port");
    }
    for (int port : guestForwards) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException(
            "--guest-forward: expected a port 1-65535, found " + port);
      }
    }
    if (iso && pxe) {
      throw new IllegalArgumentException("--iso and --pxe exclude each other");
    }
    Path target =
        resolveArtifact(artifact == null ? Path.of("out") : artifact, artifact == null, pxe, iso);
    boolean isPxe = !iso && (pxe || Files.isDirectory(target));
    if (!isPxe && !kernelArgs.isEmpty()) {
      throw new IllegalArgumentException(
          "--kernel-arg works for PXE boots only (a disk's kernel arguments are in its boot entries)");
    }
    Path folder = target.toAbsolutePath().getParent();
    Path work = (workDir != null ? workDir : folder.resolve("run")).toAbsolutePath();
    Files.createDirectories(work);
    Plan plan = new Plan();
    List<String> q =
        new ArrayList<>(
            List.of(
                "qemu-system-x86_64",
                "-accel",
                "tcg",
                "-m",
                memory,
                "-display",
                "none",
                "-serial",
                "mon:stdio",
                "-no-reboot"));
    String net = "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:" + sshPort + "-:22";
    for (int port : guestForwards) {
      // restrict=on keeps the guest off the host and the outside; guestfwd is the one way in.
      net +=
          ",guestfwd=tcp:"
              + GUEST_FORWARD_ADDRESS
              + ":"
              + port
              + "-cmd:busybox nc 127.0.0.1 "
              + port;
    }
    if (isPxe) {
      Path tftp = work.resolve("tftp");
      Files.createDirectories(tftp);
      for (String f : List.of("vmlinuz", "initramfs", "usr.img")) {
        // usr.img: the initramfs fetches it over TFTP (QEMU's iPXE passes no folder URL); a
        // build before it carried usr.img in the initramfs and has none.
        if (f.equals("usr.img") && !Files.exists(target.resolve(f))) {
          continue;
        }
        link(target.resolve(f), tftp.resolve(f));
      }
      String script = Files.readString(target.resolve("boot.ipxe"), StandardCharsets.UTF_8);
      if (!kernelArgs.isEmpty()) {
        script =
            script.replaceFirst(
                "(?m)^(kernel vmlinuz .*)$",
                "$1 " + String.join(" ", kernelArgs).replace("$", "\\$"));
      }
      write(tftp.resolve("boot.ipxe"), script);
      net += ",tftp=" + tftp + ",bootfile=boot.ipxe";
      q.addAll(List.of("-machine", "pc", "-boot", "n"));
      plan.what = "PXE " + target + " (iPXE over QEMU's TFTP)";
    } else {
      requireFile(ovmfCode, "UEFI firmware (Debian package ovmf)");
      requireFile(ovmfVars, "UEFI variable store (Debian package ovmf)");
      Path vars = work.resolve("OVMF_VARS.fd");
      Files.copy(ovmfVars, vars, StandardCopyOption.REPLACE_EXISTING);
      if (iso) {
        isoDrive(q, target.toAbsolutePath(), vars);
        plan.what =
            target + (usb ? " as a USB stick" : " as a CD-ROM") + " (UEFI, writes discarded)";
      } else {
        String format = target.getFileName().toString().endsWith(".qcow2") ? "qcow2" : "raw";
        Path disk = target.toAbsolutePath();
        if (!inPlace) {
          Path overlay = work.resolve("disk-overlay.qcow2");
          Files.deleteIfExists(overlay);
          List<String> create =
              new ArrayList<>(
                  List.of(
                      "qemu-img",
                      "create",
                      "-q",
                      "-f",
                      "qcow2",
                      "-F",
                      format,
                      "-b",
                      disk.toString(),
                      overlay.toString()));
          if (diskSize != null) {
            create.add(diskSize);
          } else if (virtualSize(disk, format) < DEFAULT_OVERLAY_BYTES) {
            create.add(Long.toString(DEFAULT_OVERLAY_BYTES));
          }
          plan.prepare.add(create);
          disk = overlay;
          format = "qcow2";
        } else if (diskSize != null) {
          throw new IllegalArgumentException(
              "--disk-size needs the overlay; drop --in-place (or resize the artifact with qemu-img resize)");
        }
        q.addAll(
            List.of(
                "-machine",
                "q35",
                "-drive",
                "if=pflash,format=raw,unit=0,readonly=on,file=" + ovmfCode.toAbsolutePath(),
                "-drive",
                "if=pflash,format=raw,unit=1,file=" + vars));
        if (usb) {
          q.addAll(
              List.of(
                  "-device",
                  "qemu-xhci,id=xhci",
                  "-drive",
                  "if=none,id=stick,format=" + format + ",file=" + disk,
                  "-device",
                  "usb-storage,bus=xhci.0,drive=stick,bootindex=0"));
        } else {
          q.addAll(
              List.of(
                  "-drive",
                  "if=none,id=disk0,format=" + format + ",file=" + disk,
                  "-device",
                  "virtio-blk-pci,drive=disk0,bootindex=0"));
        }
        plan.what =
            target
                + (usb ? " as a USB stick" : " on virtio")
                + " (UEFI)"
                + (inPlace ? "" : ", changes kept in " + disk);
      }
    }
    q.addAll(List.of("-netdev", net, "-device", "virtio-net-pci,netdev=n0"));
    if (cloudConfig != null) {
      requireFile(cloudConfig, "cloud-config file");
      Path tree = work.resolve("config-2");
      Path userData = tree.resolve("openstack/latest/user_data");
      Files.createDirectories(userData.getParent());
      Files.copy(cloudConfig, userData, StandardCopyOption.REPLACE_EXISTING);
      Path iso = work.resolve("config-2.iso");
      Files.deleteIfExists(iso);
      plan.prepare.add(
          List.of(
              "xorriso",
              "-as",
              "mkisofs",
              "-quiet",
              "-V",
              "config-2",
              "-J",
              "-R",
              "-o",
              iso.toString(),
              tree.toString()));
      q.addAll(List.of("-drive", "if=virtio,format=raw,readonly=on,file=" + iso));
    }
    plan.qemu = q;
    return plan;
  }

  /** q35 with OVMF and the ISO as an AHCI CD-ROM, or as a USB stick whose writes are discarded. */
  private void isoDrive(List<String> q, Path isoFile, Path vars) {
    q.addAll(
        List.of(
            "-machine",
            "q35",
            "-drive",
            "if=pflash,format=raw,unit=0,readonly=on,file=" + ovmfCode.toAbsolutePath(),
            "-drive",
            "if=pflash,format=raw,unit=1,file=" + vars));
    if (usb) {
      q.addAll(
          List.of(
              "-device",
              "qemu-xhci,id=xhci",
              "-drive",
              "if=none,id=stick,format=raw,snapshot=on,file=" + isoFile,
              "-device",
              "usb-storage,bus=xhci.0,drive=stick,bootindex=0"));
    } else {
      q.addAll(
          List.of(
              "-drive",
              "if=none,id=cd,media=cdrom,format=raw,readonly=on,file=" + isoFile,
              "-device",
              "ide-cd,drive=cd,bootindex=0"));
    }
  }

  /**
   * The virtual size of a disk image: a raw file's length, or a qcow2 file's header field (bytes
   * 24-31, big-endian).
   *
   * @throws IOException when the file cannot be read or a qcow2 header is cut short
   */
  static long virtualSize(Path disk, String format) throws IOException {
    if (!format.equals("qcow2")) {
      return Files.size(disk);
    }
    try (InputStream in = Files.newInputStream(disk)) {
      ByteBuffer h = ByteBuffer.wrap(in.readNBytes(32));
      if (h.limit() < 32 || h.getInt(0) != Qcow2Writer.MAGIC) {
        throw new IOException(disk + ": not a qcow2 file (no QFI\\xfb header)");
      }
      return h.getLong(24);
    }
  }

  /**
   * Finds what to boot: a disk file as given; in a build folder disk.qcow2 (else disk.raw), or with
   * {@code pxe} its pxe/ folder; with {@code searchOut} the only build folder under {@code path}.
   *
   * @throws IllegalArgumentException naming what was looked for when nothing or several match
   */
  static Path resolveArtifact(Path path, boolean searchOut, boolean pxe) throws IOException {
    return resolveArtifact(path, searchOut, pxe, false);
  }

  /**
   * As {@link #resolveArtifact(Path, boolean, boolean)}; with {@code iso} the build folder's only
   * {@code *.iso}, or an {@code .iso} file as given.
   */
  static Path resolveArtifact(Path path, boolean searchOut, boolean pxe, boolean iso)
      throws IOException {
    if (!Files.exists(path)) {
      throw new NoSuchFileException(path.toString());
    }
    if (searchOut) {
      List<Path> builds = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(path)) {
        for (Path d : ds) {
          if (Files.isRegularFile(d.resolve("manifest.json"))) {
            builds.add(d);
          }
        }
      }
      if (builds.size() != 1) {
        throw new IllegalArgumentException(
            path
                + " holds "
                + builds.size()
                + " build folders (with manifest.json)"
                + (builds.isEmpty()
                    ? "; run 'basalt build' first"
                    : ": " + builds.stream().sorted().toList() + "; name one"));
      }
      path = builds.get(0);
    }
    if (iso) {
      if (Files.isRegularFile(path)) {
        if (!path.getFileName().toString().endsWith(".iso")) {
          throw new IllegalArgumentException(
              "--iso needs a build folder or an .iso file, not " + path);
        }
        return path;
      }
      List<Path> isos = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(path, "*.iso")) {
        ds.forEach(isos::add);
      }
      if (isos.size() != 1) {
        throw new IllegalArgumentException(
            path
                + " holds "
                + isos.size()
                + " .iso files"
                + (isos.isEmpty() ? " (build with 'iso' in the spec's outputs)" : "; name one"));
      }
      return isos.get(0);
    }
    if (Files.isRegularFile(path)) {
      if (pxe) {
        throw new IllegalArgumentException(
            "--pxe needs a build folder or its pxe/ folder, not the file " + path);
      }
      return path;
    }
    if (pxe || Files.isRegularFile(path.resolve("boot.ipxe"))) {
      Path dir = Files.isRegularFile(path.resolve("boot.ipxe")) ? path : path.resolve("pxe");
      for (String f : List.of("boot.ipxe", "vmlinuz", "initramfs")) {
        if (!Files.isRegularFile(dir.resolve(f))) {
          throw new IllegalArgumentException(
              dir.resolve(f)
                  + " missing: not a PXE output (build with 'pxe' in the spec's outputs)");
        }
      }
      return dir;
    }
    for (String f : List.of("disk.qcow2", "disk.raw")) {
      if (Files.isRegularFile(path.resolve(f))) {
        return path.resolve(f);
      }
    }
    throw new IllegalArgumentException(
        path + " has neither disk.qcow2 nor disk.raw (nor pxe/boot.ipxe)");
  }

  private static void requireFile(Path p, String what) throws NoSuchFileException {
    if (!Files.isRegularFile(p)) {
      throw new NoSuchFileException(p.toString(), null, what);
    }
  }

  /** Hard-links {@code src} at {@code dst} (replacing it), copying when links are not possible. */
  private static void link(Path src, Path dst) throws IOException {
    Files.deleteIfExists(dst);
    try {
      Files.createLink(dst, src.toAbsolutePath());
    } catch (IOException | UnsupportedOperationException e) {
      if (e instanceof FileAlreadyExistsException) {
        throw e;
      }
      AtomicFiles.writeOutput(
          dst, tmp -> Files.copy(src, tmp, StandardCopyOption.REPLACE_EXISTING));
    }
  }

  private static void write(Path p, String text) throws IOException {
    AtomicFiles.writeOutput(p, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
  }

  private static void runTool(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output;
    try (InputStream in = p.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (p.waitFor() != 0) {
      throw new IOException(
          String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + output.trim());
    }
  }
}
