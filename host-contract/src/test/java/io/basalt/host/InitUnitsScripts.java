package io.basalt.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

/** The init-units shell scripts that host-contract's tests read or run, and fakes for them. */
final class InitUnitsScripts {

  /** init-units' {@code src/main/resources/basalt}. */
  static final Path RESOURCES =
      Path.of(
              System.getProperty("basedir", "."),
              "..",
              "init-units",
              "src",
              "main",
              "resources",
              "basalt")
          .normalize();

  /** The initramfs {@code /init}. */
  static final Path INIT = RESOURCES.resolve("initramfs/init");

  private InitUnitsScripts() {}

  /** A script under {@link #RESOURCES}, e.g. {@code libexec/boot-fallback}. */
  static Path script(String relative) {
    return RESOURCES.resolve(relative);
  }

  /** busybox, the shell of the initramfs, when installed on this host. */
  static Optional<Path> busybox() {
    return List.of("/usr/bin/busybox", "/bin/busybox").stream()
        .map(Path::of)
        .filter(Files::isExecutable)
        .findFirst();
  }

  /** Writes an executable {@code #!/bin/sh} script {@code dir/name} running {@code body}. */
  static void fake(Path dir, String name, String body) throws IOException {
    Path f = dir.resolve(name);
    Files.writeString(f, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
