package io.basalt.image.install;

import io.basalt.host.KernelCommandLine;
import io.basalt.host.UpdatePayload;
import io.basalt.image.squashfs.SquashfsReader;
import io.basalt.image.tree.Content;
import io.basalt.update.install.VerityVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * An update payload folder ({@code update/} of a build, {@code /basalt/update} of the ISO, or the
 * files a TUF repository signed) checked before anything is installed from it: {@code payload.json}
 * read with the contract's reader, each file's size and sha256 compared with it, and usr.img's
 * dm-verity hash tree checked against the root hash with the update agent's own verifier ({@link
 * VerityVerifier}), exactly as the agent checks a slot it wrote. Then what the disk needs and the
 * payload does not list is read out of the verified usr.img: systemd-boot's EFI binary and
 * SOURCE_DATE_EPOCH (the squashfs build time), so an install gives the bytes the build gave.
 * Immutable.
 *
 * @param dir the folder
 * @param meta payload.json
 * @param epoch the build's SOURCE_DATE_EPOCH (usr.img's squashfs time)
 * @param systemdBoot systemd-boot's EFI binary from usr.img
 */
public record Payload(Path dir, UpdatePayload meta, long epoch, Content systemdBoot) {

  /** systemd-boot in the /usr squashfs (BootEntries.SYSTEMD_BOOT_EFI without /usr). */
  static final String SYSTEMD_BOOT_IN_USR = "/lib/systemd/boot/efi/systemd-bootx64.efi";

  /** The payload's usr.img. */
  public Path usrImg() {
    return dir.resolve(UpdatePayload.USR_IMG);
  }

  /** The payload's kernel. */
  public Path kernel() {
    return dir.resolve(UpdatePayload.KERNEL);
  }

  /** The payload's disk initramfs. */
  public Path initramfs() {
    return dir.resolve(UpdatePayload.INITRAMFS);
  }

  /**
   * Reads {@code dir/payload.json}, checks every file against it and usr.img against its root hash,
   * and reads the boot loader out of usr.img.
   *
   * @throws InstallException of kind PAYLOAD naming the file and what is wrong with it
   */
  public static Payload verify(Path dir, VerityVerifier verity, Path systemRoot)
      throws InstallException {
    Path json = dir.resolve(UpdatePayload.PAYLOAD_JSON);
    UpdatePayload meta;
    try {
      meta = UpdatePayload.parse(Files.readAllBytes(json), json.toString());
    } catch (NoSuchFileException e) {
      throw bad(json + ": missing (not an update payload folder)", e);
    } catch (IOException e) {
      throw bad(e.getMessage(), e);
    }
    return verify(dir, meta, verity, systemRoot);
  }

  /**
   * Checks the files of {@code dir} against {@code meta} (already trusted, e.g. TUF-verified) and
   * usr.img against the root hash; reads the boot loader out of usr.img.
   *
   * @throws InstallException of kind PAYLOAD naming the file and what is wrong with it
   */
  public static Payload verify(Path dir, UpdatePayload meta, VerityVerifier verity, Path systemRoot)
      throws InstallException {
    for (UpdatePayload.FileEntry f : meta.files()) {
      checkFile(dir.resolve(f.path()), f);
    }
    Path usr = dir.resolve(UpdatePayload.USR_IMG);
    try {
      verity.verify(usr, meta.usrRootHash(), meta.usrHashOffset());
    } catch (IOException e) {
      throw bad(e.getMessage(), e);
    }
    try (SeekableByteChannel ch = Files.newByteChannel(usr, StandardOpenOption.READ)) {
      SquashfsReader r = SquashfsReader.open(ch, 0);
      Optional<Content> running = runningBootLoader(meta, systemRoot);
      if (running.isPresent()) {
        return new Payload(dir, meta, r.mtime(), running.get());
      }
      byte[] sdboot =
          readFile(r, usr)
              .orElseThrow(
                  () ->
                      bad(
                          usr
                              + ": has no /usr"
                              + SYSTEMD_BOOT_IN_USR
                              + " (an image built without systemd-boot cannot boot from a disk)",
                          null));
      return new Payload(dir, meta, r.mtime(), Content.ofBytes(sdboot));
    } catch (IOException e) {
      throw bad(usr + ": " + e.getMessage(), e);
    }
  }

  /**
   * systemd-boot from the running system's /usr when that is this payload's (the kernel command
   * line's {@code usrhash=} is its root hash, and dm-verity checks every block read): the same
   * bytes as in usr.img, read without decompressing it (a host ships no zstd library).
   */
  private static Optional<Content> runningBootLoader(UpdatePayload meta, Path systemRoot)
      throws IOException {
    Path cmdline = systemRoot.resolve("proc/cmdline");
    Path loader = systemRoot.resolve("usr" + SYSTEMD_BOOT_IN_USR);
    if (!Files.isRegularFile(cmdline) || !Files.isRegularFile(loader)) {
      return Optional.empty();
    }
    Map<String, String> args =
        KernelCommandLine.parse(Files.readString(cmdline, StandardCharsets.UTF_8).strip());
    if (!meta.usrRootHash().equals(args.get(KernelCommandLine.USR_HASH))) {
      return Optional.empty();
    }
    return Optional.of(Content.ofBytes(Files.readAllBytes(loader)));
  }

  private static Optional<byte[]> readFile(SquashfsReader r, Path usr) throws IOException {
    try {
      return r.readFile(SYSTEMD_BOOT_IN_USR);
    } catch (LinkageError e) {
      // zstd-jni is not on a host's class path
      throw new IOException(
          "cannot decompress it here ("
              + e
              + "); install the running image's own version on this host, or install from a"
              + " workstation",
          e);
    }
  }

  private static void checkFile(Path p, UpdatePayload.FileEntry f) throws InstallException {
    long size;
    try {
      size = Files.size(p);
    } catch (NoSuchFileException e) {
      throw bad(p + ": missing (payload.json lists it)", e);
    } catch (IOException e) {
      throw bad(p + ": " + e.getMessage(), e);
    }
    if (size != f.size()) {
      throw bad(p + ": " + size + " bytes, payload.json says " + f.size(), null);
    }
    String sha = sha256(p);
    if (!sha.equals(f.sha256())) {
      throw bad(p + ": sha256 " + sha + ", payload.json says " + f.sha256(), null);
    }
  }

  static String sha256(Path p) throws InstallException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = Files.newInputStream(p)) {
      byte[] buf = new byte[1 << 20];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    } catch (IOException e) {
      throw bad(p + ": " + e.getMessage(), e);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static InstallException bad(String message, Throwable cause) {
    return new InstallException(InstallException.Kind.PAYLOAD, message, cause);
  }
}
