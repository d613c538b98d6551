package io.basalt.image.usr;

import io.basalt.host.HostPaths;
import io.basalt.host.UpdateConfKeys;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.update.agent.UpdateConfCheck;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes the spec's {@code update:} section into the image tree: the trusted TUF root at {@link
 * HostPaths#SHIPPED_TUF_ROOT} (where the agent seeds its trusted metadata from) and the spec's
 * settings merged into the image's default update.conf at {@link HostPaths#UPDATE_CONF_DEFAULTS}
 * (init-units' file, its lines replaced in place or appended by {@link UpdateConfKeys#merge}). The
 * machine's {@code /etc/basalt/update.conf} (cloud-config's {@code coreos.update}) still overrides
 * them key by key. Stateless, thread-safe.
 */
public final class UpdateFiles {

  private UpdateFiles() {}

  /**
   * Adds the two files to {@code b}, mode 0644, mtime {@code epoch}.
   *
   * @throws UsrAssemblyException if the resulting update.conf is one the agent would refuse (the
   *     spec checks make this a bug) or the existing one is not a regular file
   * @throws IOException if the existing update.conf cannot be read
   */
  public static void add(FileTree.Builder b, ImageSpec.Update update, long epoch)
      throws IOException {
    put(b, HostPaths.SHIPPED_TUF_ROOT, update.rootJson(), epoch);
    String conf = updateConf(b.get(HostPaths.UPDATE_CONF_DEFAULTS), update);
    try {
      UpdateConfCheck.check(conf, HostPaths.UPDATE_CONF_DEFAULTS);
    } catch (IOException e) {
      throw new UsrAssemblyException(
          HostPaths.UPDATE_CONF_DEFAULTS, "the update agent refuses it: " + e.getMessage());
    }
    put(b, HostPaths.UPDATE_CONF_DEFAULTS, conf, epoch);
  }

  /** The image's default update.conf: {@code existing} (may be null) with the spec's settings. */
  static String updateConf(TreeEntry existing, ImageSpec.Update update) throws IOException {
    String text = "";
    if (existing != null) {
      if (existing.type() != EntryType.REGULAR) {
        throw new UsrAssemblyException(
            existing.path(), "expected a regular file, found a " + existing.type());
      }
      try (InputStream in = existing.content().open()) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
    return UpdateConfKeys.merge(text, update.settings());
  }

  private static void put(FileTree.Builder b, String path, String text, long epoch) {
    b.putWithParents(
        TreeEntry.regular(path, Content.ofBytes(text.getBytes(StandardCharsets.UTF_8)))
            .withMode(0644)
            .withMtime(epoch));
  }
}
