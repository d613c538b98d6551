package io.basalt.image.usr;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;

/**
 * Installs the host-side resources of {@code init-units} (Basalt's systemd units, their helper
 * scripts, presets, networkd and tmpfiles configuration, and the static "wants" links that enable
 * them) into an image tree, as listed by the resource {@value #MANIFEST}. Stateless; thread-safe.
 */
final class InitUnitsResources {
  /** The manifest resource: "file PATH MODE RESOURCE" and "link PATH TARGET" lines. */
  static final String MANIFEST = "basalt/init-units.manifest";

  private InitUnitsResources() {}

  /**
   * Adds every manifest entry to {@code image} (missing parent directories made 0755 root:root),
   * replacing entries at the same paths; every added entry gets modification time {@code mtime}.
   *
   * @throws IOException when the manifest or a resource it names is missing, or a line is malformed
   *     (the message names the line)
   */
  static FileTree.Builder addTo(FileTree.Builder image, long mtime) throws IOException {
    String manifest = new String(resource(MANIFEST), StandardCharsets.UTF_8);
    int lineNo = 0;
    for (String line : manifest.split("\n")) {
      lineNo++;
      String l = line.trim();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] f = l.split("\\s+");
      if (f[0].equals("file") && f.length == 4) {
        int mode;
        try {
          mode = Integer.parseInt(f[2], 8);
        } catch (NumberFormatException e) {
          throw new IOException(
              MANIFEST + " line " + lineNo + ": mode '" + f[2] + "' is not octal");
        }
        image.putWithParents(
            TreeEntry.regular(f[1], Content.ofBytes(resource(f[3])))
                .withMode(mode)
                .withMtime(mtime));
      } else if (f[0].equals("link") && f.length == 3) {
        image.putWithParents(TreeEntry.symlink(f[1], f[2]).withMtime(mtime));
      } else {
        throw new IOException(
            MANIFEST
                + " line "
                + lineNo
                + ": expected 'file PATH MODE RESOURCE' or 'link PATH TARGET', found '"
                + l
                + "'");
      }
    }
    return image;
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = InitUnitsResources.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new NoSuchFileException(
            name, null, "resource missing from the classpath (basalt-init-units jar)");
      }
      return in.readAllBytes();
    }
  }
}
