package io.basalt.cloudconfig.datasource;

import io.basalt.cloudconfig.Metadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * User-data in one file: the OEM partition's {@code cloud-config.yml} (the partition labelled OEM,
 * mounted read-only by the unit) or a local file such as {@code /etc/basalt/cloud-config.yml}.
 * Immutable and thread-safe.
 */
final class FileDatasource implements Datasource {

  private final String name;
  private final Path file;

  public FileDatasource(String name, Path file) {
    this.name = Objects.requireNonNull(name, "name");
    this.file = Objects.requireNonNull(file, "file");
  }

  /** The OEM partition mounted at {@code mountDir}: {@code mountDir/cloud-config.yml}. */
  public static FileDatasource oem(Path mountDir) {
    return new FileDatasource("oem", mountDir.resolve("cloud-config.yml"));
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Optional<Found> fetch() throws IOException {
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    return Optional.of(new Found(name + ":" + file, Files.readAllBytes(file), Metadata.none()));
  }
}
