package io.basalt.cloudconfig.datasource;

import io.basalt.cloudconfig.Metadata;
import java.io.IOException;
import java.util.Optional;

/**
 * A place user-data and metadata come from (OEM partition, config drive, OpenNebula context, kernel
 * command line URL, local file). Implementations are immutable and thread-safe.
 */
public interface Datasource {

  /** What a datasource found. {@code userData} is null when it carries metadata only. */
  record Found(String source, byte[] userData, Metadata metadata) {}

  /** A short name for logs ({@code oem}, {@code config-2}, ...). */
  String name();

  /**
   * Reads the datasource.
   *
   * @return empty when this datasource is not present or carries nothing
   * @throws IOException when it is present but cannot be read
   */
  Optional<Found> fetch() throws IOException;
}
