package io.basalt.cloudconfig.render;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.nio.file.FileSystem;

/** In-memory Unix file systems with owner and POSIX attributes, for applier tests. */
final class TestFs {
  private TestFs() {}

  static FileSystem unix() {
    return Jimfs.newFileSystem(
        Configuration.unix().toBuilder()
            .setAttributeViews("basic", "owner", "posix", "unix")
            // As on a host, where the applier runs as root.
            .setDefaultAttributeValue("owner:owner", "root")
            .setDefaultAttributeValue("posix:group", "root")
            .build());
  }
}
