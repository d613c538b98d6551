package io.basalt.image.pipeline;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The installed packages and versions read from a tree's {@code /var/lib/dpkg/status} (deb822
 * paragraphs; only those with {@code Status: install ok installed}). Stateless, thread-safe.
 */
final class DpkgStatus {
  private DpkgStatus() {}

  /**
   * Package name (with ":arch" when not the native/all architecture... kept as dpkg lists it) to
   * version, sorted.
   */
  static SortedMap<String, String> parse(byte[] status) {
    TreeMap<String, String> out = new TreeMap<>();
    String text = new String(status, StandardCharsets.UTF_8).replace("\r\n", "\n");
    for (String para : text.split("\n\n")) {
      String pkg = null;
      String version = null;
      String state = null;
      for (String line : para.split("\n")) {
        if (line.startsWith("Package:")) {
          pkg = line.substring(8).trim();
        } else if (line.startsWith("Version:")) {
          version = line.substring(8).trim();
        } else if (line.startsWith("Status:")) {
          state = line.substring(7).trim();
        }
      }
      if (pkg != null && version != null && "install ok installed".equals(state)) {
        out.put(pkg, version);
      }
    }
    return Collections.unmodifiableSortedMap(out);
  }
}
