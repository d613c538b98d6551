package io.basalt.qemu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Builds a one-layer container image tarball in the docker-archive format (what {@code docker load}
 * and {@code ctr image import} read): the layer holds a static busybox as /bin/busybox.
 */
final class ImageArchive {
  private ImageArchive() {}

  static void write(Path busyboxStatic, String repoTag, Path out) throws IOException {
    byte[] busybox = Files.readAllBytes(busyboxStatic);
    ByteArrayOutputStream layer = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(layer)) {
      TarArchiveEntry dir = new TarArchiveEntry("bin/");
      dir.setMode(040755);
      dir.setModTime(0);
      t.putArchiveEntry(dir);
      t.closeArchiveEntry();
      TarArchiveEntry f = new TarArchiveEntry("bin/busybox");
      f.setMode(0100755);
      f.setSize(busybox.length);
      f.setModTime(0);
      t.putArchiveEntry(f);
      t.write(busybox);
      t.closeArchiveEntry();
    }
    byte[] layerBytes = layer.toByteArray();
    String diffId = sha256(layerBytes);
    byte[] config =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/busybox\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
                + diffId
                + "\"]},\"history\":[{\"created_by\":\"basalt qemu-tests\"}]}")
            .getBytes(StandardCharsets.UTF_8);
    String configName = sha256(config) + ".json";
    byte[] manifest =
        ("[{\"Config\":\""
                + configName
                + "\",\"RepoTags\":[\""
                + repoTag
                + "\"],\"Layers\":[\""
                + diffId
                + "/layer.tar\"]}]")
            .getBytes(StandardCharsets.UTF_8);
    try (OutputStream o = Files.newOutputStream(out);
        TarArchiveOutputStream t = new TarArchiveOutputStream(o)) {
      add(t, diffId + "/layer.tar", layerBytes);
      add(t, configName, config);
      add(t, "manifest.json", manifest);
    }
  }

  private static void add(TarArchiveOutputStream t, String name, byte[] data) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(data.length);
    e.setMode(0100644);
    e.setModTime(0);
    t.putArchiveEntry(e);
    t.write(data);
    t.closeArchiveEntry();
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
