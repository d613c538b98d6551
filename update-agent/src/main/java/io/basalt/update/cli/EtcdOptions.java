package io.basalt.update.cli;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The etcd connection flags shared by {@code basaltctl lock} and {@code basalt fleetlock serve}, in
 * locksmithctl's spirit, each also settable from an environment variable ({@code BASALTCTL_...},
 * falling back to locksmithctl's {@code LOCKSMITHCTL_...}). A picocli mixin; not thread-safe.
 */
final class EtcdOptions {

  /** Default client endpoint, as locksmithctl's. */
  public static final String DEFAULT_ENDPOINT = "http://127.0.0.1:2379";

  @Option(
      scope = picocli.CommandLine.ScopeType.INHERIT,
      names = "--endpoint",
      paramLabel = "URL[,URL...]",
      description =
          "etcd client endpoint(s), tried in order with failover "
              + "(env BASALTCTL_ENDPOINT; default "
              + DEFAULT_ENDPOINT
              + ").")
  List<String> endpoints;

  @Option(
      scope = picocli.CommandLine.ScopeType.INHERIT,
      names = "--etcd-cafile",
      paramLabel = "FILE",
      description = "PEM CA bundle to verify etcd's certificate (env BASALTCTL_ETCD_CAFILE).")
  Path caFile;

  @Option(
      scope = picocli.CommandLine.ScopeType.INHERIT,
      names = "--etcd-certfile",
      paramLabel = "FILE",
      description = "PEM client certificate (env BASALTCTL_ETCD_CERTFILE).")
  Path certFile;

  @Option(
      scope = picocli.CommandLine.ScopeType.INHERIT,
      names = "--etcd-keyfile",
      paramLabel = "FILE",
      description = "PEM client private key (env BASALTCTL_ETCD_KEYFILE).")
  Path keyFile;

  @Option(
      scope = picocli.CommandLine.ScopeType.INHERIT,
      names = "--etcd-username",
      paramLabel = "NAME",
      description = "etcd user (env BASALTCTL_ETCD_USERNAME).")
  String username;

  @Option(
      scope = picocli.CommandLine.ScopeType.INHERIT,
      names = "--etcd-password",
      paramLabel = "PASSWORD",
      description =
          "etcd password (env BASALTCTL_ETCD_PASSWORD; prefer the variable: "
              + "flags show up in the process list).")
  String password;

  /** The setting from the flag, else BASALTCTL_NAME, else LOCKSMITHCTL_NAME, else null. */
  static String pick(String flag, Map<String, String> env, String name) {
    if (flag != null) {
      return flag;
    }
    String v = env.get("BASALTCTL_" + name);
    if (v == null || v.isEmpty()) {
      v = env.get("LOCKSMITHCTL_" + name);
    }
    return v == null || v.isEmpty() ? null : v;
  }

  private static Path pickPath(Path flag, Map<String, String> env, String name) {
    String v = pick(flag == null ? null : flag.toString(), env, name);
    return v == null ? null : Path.of(v);
  }

  /**
   * The etcd configuration after flags and environment.
   *
   * @throws IllegalArgumentException if an endpoint is malformed, or a certificate lacks its key
   */
  public EtcdConfig config(Map<String, String> env) {
    EtcdConfig.Builder b = EtcdConfig.builder();
    String eps = endpoints == null || endpoints.isEmpty() ? null : String.join(",", endpoints);
    eps = pick(eps, env, "ENDPOINT");
    b.endpoints(eps == null ? DEFAULT_ENDPOINT : eps);
    Path ca = pickPath(caFile, env, "ETCD_CAFILE");
    if (ca != null) {
      b.caFile(ca);
    }
    Path cert = pickPath(certFile, env, "ETCD_CERTFILE");
    Path key = pickPath(keyFile, env, "ETCD_KEYFILE");
    if (cert != null || key != null) {
      b.clientCertificate(cert, key);
    }
    String user = pick(username, env, "ETCD_USERNAME");
    String pw = pick(password, env, "ETCD_PASSWORD");
    if (user != null || pw != null) {
      b.credentials(user, pw);
    }
    return b.build();
  }

  /**
   * A client for the configured cluster.
   *
   * @throws IOException if TLS files cannot be read
   * @throws IllegalArgumentException as {@link #config}
   */
  public EtcdClient client(Map<String, String> env) throws IOException {
    return EtcdClient.create(config(env));
  }
}
