package io.basalt.update.lock;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how to reach an etcd v3 cluster: client endpoints (tried in order, with failover), TLS
 * material and username/password. Immutable and thread-safe.
 */
public final class EtcdConfig {

  private final List<URI> endpoints;
  private final Path caFile;
  private final Path certFile;
  private final Path keyFile;
  private final String username;
  private final String password;
  private final Duration requestTimeout;

  private EtcdConfig(Builder b) {
    if (b.endpoints.isEmpty()) {
      throw new IllegalArgumentException("no etcd endpoint given");
    }
    this.endpoints = List.copyOf(b.endpoints);
    this.caFile = b.caFile;
    this.certFile = b.certFile;
    this.keyFile = b.keyFile;
    this.username = b.username;
    this.password = b.password;
    this.requestTimeout = b.requestTimeout;
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException(
          "a client certificate needs both --etcd-certfile and --etcd-keyfile (got "
              + (certFile == null ? "only the key" : "only the certificate")
              + ")");
    }
    if (username == null && password != null) {
      throw new IllegalArgumentException("an etcd password was given without a username");
    }
  }

  /** Starts a configuration; at least one endpoint must be added. */
  public static Builder builder() {
    return new Builder();
  }

  /** The client endpoints in the order they are tried. */
  public List<URI> endpoints() {
    return endpoints;
  }

  public Optional<Path> caFile() {
    return Optional.ofNullable(caFile);
  }

  public Optional<Path> certFile() {
    return Optional.ofNullable(certFile);
  }

  public Optional<Path> keyFile() {
    return Optional.ofNullable(keyFile);
  }

  public Optional<String> username() {
    return Optional.ofNullable(username);
  }

  /** The password; empty when none was given. */
  public String password() {
    return password == null ? "" : password;
  }

  /** How long one HTTP request to one endpoint may take before the next endpoint is tried. */
  public Duration requestTimeout() {
    return requestTimeout;
  }

  /** Builder for {@link EtcdConfig}. Not thread-safe. */
  public static final class Builder {
    private final List<URI> endpoints = new ArrayList<>();
    private Path caFile;
    private Path certFile;
    private Path keyFile;
    private String username;
    private String password;
    private Duration requestTimeout = Duration.ofSeconds(5);

    private Builder() {}

    /**
     * Adds endpoints from a comma-separated list such as {@code
     * http://10.0.0.1:2379,https://b:2379}; a bare {@code host:port} means http.
     *
     * @throws IllegalArgumentException if an endpoint is not an http(s) URL or host:port
     */
    public Builder endpoints(String commaSeparated) {
      for (String part : commaSeparated.split(",")) {
        String e = part.trim();
        if (!e.isEmpty()) {
          endpoint(e);
        }
      }
      return this;
    }

    /**
     * Adds one endpoint.
     *
     * @throws IllegalArgumentException if it is not an http(s) URL or host:port
     */
    public Builder endpoint(String endpoint) {
      String e = endpoint.trim();
      if (!e.contains("://")) {
        e = "http://" + e;
      }
      URI uri;
      try {
        uri = URI.create(e);
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException(
            "bad etcd endpoint '" + endpoint + "': " + ex.getMessage());
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "bad etcd endpoint '" + endpoint + "': expected http(s)://host:port or host:port");
      }
      String path = uri.getPath() == null ? "" : uri.getPath().replaceAll("/+$", "");
      endpoints.add(URI.create(scheme + "://" + uri.getRawAuthority() + path));
      return this;
    }

    public Builder caFile(Path caFile) {
      this.caFile = caFile;
      return this;
    }

    public Builder clientCertificate(Path certFile, Path keyFile) {
      this.certFile = certFile;
      this.keyFile = keyFile;
      return this;
    }

    public Builder credentials(String username, String password) {
      this.username = username;
      this.password = password;
      return this;
    }

    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /**
     * Builds the configuration.
     *
     * @throws IllegalArgumentException if no endpoint was given, or a certificate comes without its
     *     key (or the reverse), or a password without a username
     */
    public EtcdConfig build() {
      return new EtcdConfig(this);
    }
  }
}
