package io.basalt.cloudconfig.datasource;

import io.basalt.host.HostPaths;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * The datasources in Basalt's documented order; the first one that has user-data or metadata wins:
 *
 * <ol>
 *   <li>OEM partition: {@code cloud-config.yml} on the FAT partition labelled OEM (mounted at
 *       {@code /run/basalt/oem})
 *   <li>config drive: ISO9660 labelled {@code config-2} ({@code /run/basalt/config-2})
 *   <li>OpenNebula context: ISO9660 labelled {@code CONTEXT} ({@code /run/basalt/context})
 *   <li>kernel command line {@code cloud-config-url=}
 *   <li>local file {@code /etc/basalt/cloud-config.yml}
 * </ol>
 *
 * Immutable and thread-safe.
 */
public final class Datasources {

  private final List<Datasource> ordered;

  public Datasources(List<Datasource> ordered) {
    this.ordered = List.copyOf(ordered);
  }

  /** Basalt's order, with the host's paths under {@code root} and the given URL wait bound. */
  public static Datasources standard(Path root, Duration urlMaxWait, Consumer<String> log) {
    return new Datasources(
        List.of(
            FileDatasource.oem(HostPaths.under(root, HostPaths.OEM_MOUNT)),
            new ConfigDriveDatasource(HostPaths.under(root, HostPaths.CONFIG_DRIVE_MOUNT)),
            new OpenNebulaDatasource(HostPaths.under(root, HostPaths.CONTEXT_MOUNT)),
            new UrlDatasource(
                HostPaths.under(root, HostPaths.PROC_CMDLINE),
                Duration.ofSeconds(1),
                Duration.ofSeconds(16),
                urlMaxWait,
                log),
            new FileDatasource("local", HostPaths.under(root, HostPaths.LOCAL_CLOUD_CONFIG))));
  }

  public List<Datasource> ordered() {
    return ordered;
  }

  /**
   * The first datasource that has something.
   *
   * @throws IOException when a present datasource cannot be read (later ones are not tried: a
   *     broken config drive must not silently fall through to another config)
   */
  public Optional<Datasource.Found> first(Consumer<String> log) throws IOException {
    for (Datasource d : ordered) {
      Optional<Datasource.Found> f = d.fetch();
      if (f.isPresent()) {
        log.accept("datasource " + d.name() + ": using " + f.get().source());
        return f;
      }
      log.accept("datasource " + d.name() + ": nothing there");
    }
    return Optional.empty();
  }

  /**
   * User-data bytes as text: gunzipped when gzip-compressed (as coreos-cloudinit accepted), then
   * strict UTF-8.
   *
   * @throws IOException when the bytes are not valid gzip or UTF-8
   */
  public static String text(byte[] userData) throws IOException {
    Objects.requireNonNull(userData, "userData");
    byte[] b = userData;
    if (b.length >= 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b) {
      try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(b))) {
        b = in.readNBytes(64 * 1024 * 1024);
      }
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IOException("user-data is not valid UTF-8 text", e);
    }
  }
}
