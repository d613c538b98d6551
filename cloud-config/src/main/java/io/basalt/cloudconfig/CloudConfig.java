package io.basalt.cloudconfig;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * A parsed, validated {@code #cloud-config} document (CoreOS coreos-cloudinit format). Obtained
 * from {@link UserDataParser}; absent scalars are {@code null}, absent lists empty. Immutable and
 * thread-safe.
 *
 * @param hostname host name or null
 * @param users users to create
 * @param sshAuthorizedKeys keys for the default user {@code core}
 * @param writeFiles files to write
 * @param manageEtcHosts {@code "localhost"} or null
 * @param coreos the {@code coreos:} section
 * @param swarm {@code basalt.swarm}, or null
 */
public record CloudConfig(
    String hostname,
    List<User> users,
    List<String> sshAuthorizedKeys,
    List<WriteFile> writeFiles,
    String manageEtcHosts,
    CoreOs coreos,
    Swarm swarm) {

  public CloudConfig {
    users = List.copyOf(users);
    sshAuthorizedKeys = List.copyOf(sshAuthorizedKeys);
    writeFiles = List.copyOf(writeFiles);
    Objects.requireNonNull(coreos, "coreos");
  }

  /** An empty config (what an empty user-data or a script-only user-data means). */
  public static CloudConfig empty() {
    return new CloudConfig(null, List.of(), List.of(), List.of(), null, CoreOs.empty(), null);
  }

  /**
   * This config with a datasource's metadata folded in, as coreos-cloudinit merged them: the
   * metadata host name when the config sets none, the metadata SSH keys added to the default
   * user's, and the metadata's networkd units written as runtime units before the config's own.
   */
  public CloudConfig withMetadata(Metadata metadata) {
    Objects.requireNonNull(metadata, "metadata");
    java.util.List<String> keys = new java.util.ArrayList<>(sshAuthorizedKeys);
    for (String k : metadata.sshPublicKeys()) {
      if (!keys.contains(k)) {
        keys.add(k);
      }
    }
    java.util.List<Unit> units = new java.util.ArrayList<>();
    metadata
        .networkUnits()
        .forEach(
            (name, content) ->
                units.add(new Unit(name, content, false, true, false, null, List.of())));
    units.addAll(coreos.units());
    CoreOs c =
        new CoreOs(
            units,
            coreos.etcd(),
            coreos.etcd2(),
            coreos.fleet(),
            coreos.flannel(),
            coreos.update(),
            coreos.locksmith(),
            coreos.oem());
    return new CloudConfig(
        hostname != null ? hostname : metadata.hostname(),
        users,
        keys,
        writeFiles,
        manageEtcHosts,
        c,
        swarm);
  }

  /**
   * {@code basalt.swarm}: this machine's place in a Docker Swarm whose nodes meet through etcd.
   * Values are as written (after metadata substitution); {@code cluster} is null when not given.
   */
  public record Swarm(
      String role, String advertiseAddr, String cluster, Map<String, String> labels) {
    public Swarm {
      Objects.requireNonNull(role, "role");
      labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
    }
  }

  /** A {@code users[]} entry. {@link #toString()} never shows the password hash. */
  public record User(
      String name,
      String passwd,
      List<String> sshAuthorizedKeys,
      String gecos,
      String homedir,
      boolean noCreateHome,
      String primaryGroup,
      List<String> groups,
      boolean noUserGroup,
      boolean system,
      boolean noLogInit,
      String shell) {

    public User {
      Objects.requireNonNull(name, "name");
      sshAuthorizedKeys = List.copyOf(sshAuthorizedKeys);
      groups = List.copyOf(groups);
    }

    @Override
    public String toString() {
      return "User[name="
          + name
          + ", passwd="
          + (passwd == null ? "none" : "<redacted>")
          + ", keys="
          + sshAuthorizedKeys.size()
          + ", groups="
          + groups
          + "]";
    }
  }

  /**
   * A {@code write_files[]} entry; {@code content} is as written in the YAML (still encoded), or,
   * when {@code binaryContent}, the bytes of a YAML {@code !!binary} scalar, one ISO-8859-1 char
   * per byte (as coreos-cloudinit, which decodes the YAML binary before applying {@code encoding}).
   */
  public record WriteFile(
      String path,
      String content,
      String encoding,
      String owner,
      String permissions,
      boolean binaryContent) {

    public WriteFile {
      Objects.requireNonNull(path, "path");
    }

    /** An entry whose content is YAML text (not {@code !!binary}). */
    public WriteFile(
        String path, String content, String encoding, String owner, String permissions) {
      this(path, content, encoding, owner, permissions, false);
    }

    /** The file mode, from {@code permissions} (octal), 0644 when absent. */
    public int mode() {
      return permissions == null ? 0644 : Integer.parseInt(permissions, 8);
    }

    /**
     * The bytes to write: {@code content} decoded per {@code encoding}.
     *
     * @throws IOException when the content is not valid base64 or gzip
     */
    public byte[] decodedContent() throws IOException {
      return decode(content == null ? "" : content, encoding, binaryContent);
    }

    static byte[] decode(String content, String encoding, boolean binary) throws IOException {
      byte[] data = content.getBytes(binary ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
      if (encoding == null || encoding.isEmpty()) {
        return data;
      }
      boolean gz = encoding.startsWith("gz");
      boolean b64 = encoding.contains("b64") || encoding.contains("base64");
      if (b64) {
        try {
          data = Base64.getMimeDecoder().decode(stripWhitespace(content));
          // The MIME decoder skips foreign characters silently; re-check strictly.
          Base64.getDecoder().decode(stripWhitespace(content));
        } catch (IllegalArgumentException e) {
          throw new IOException("content is not valid base64: " + e.getMessage(), e);
        }
      }
      if (gz) {
        if (!b64) {
          // A gzip stream in YAML text arrives as ISO-8859-1 characters (binary YAML scalars).
          data = content.getBytes(StandardCharsets.ISO_8859_1);
        }
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data))) {
          data = in.readAllBytes();
        } catch (IOException e) {
          throw new IOException("content is not valid gzip: " + e.getMessage(), e);
        }
      }
      return data;
    }

    private static String stripWhitespace(String s) {
      StringBuilder b = new StringBuilder(s.length());
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (!Character.isWhitespace(c)) {
          b.append(c);
        }
      }
      return b.toString();
    }
  }

  /** A {@code coreos.units[]} entry. */
  public record Unit(
      String name,
      String content,
      boolean enable,
      boolean runtime,
      boolean mask,
      String command,
      List<DropIn> dropIns) {

    public Unit {
      Objects.requireNonNull(name, "name");
      dropIns = List.copyOf(dropIns);
    }

    /** Whether this is a systemd-networkd unit (.network, .netdev, .link). */
    public boolean isNetworkdUnit() {
      return name.endsWith(".network") || name.endsWith(".netdev") || name.endsWith(".link");
    }
  }

  /** A drop-in of a unit: file {@code NAME.d/name}. */
  public record DropIn(String name, String content) {
    public DropIn {
      Objects.requireNonNull(name, "name");
    }
  }

  /**
   * The {@code coreos:} section. The pass-through service sections are kept as environment variable
   * name to value maps in schema order (e.g. {@code ETCD_NAME -> node1}).
   */
  public record CoreOs(
      List<Unit> units,
      Map<String, String> etcd,
      Map<String, String> etcd2,
      Map<String, String> fleet,
      Map<String, String> flannel,
      Map<String, String> update,
      Map<String, String> locksmith,
      Map<String, String> oem) {

    public CoreOs {
      units = List.copyOf(units);
      etcd = ordered(etcd);
      etcd2 = ordered(etcd2);
      fleet = ordered(fleet);
      flannel = ordered(flannel);
      update = ordered(update);
      locksmith = ordered(locksmith);
      oem = ordered(oem);
    }

    private static Map<String, String> ordered(Map<String, String> m) {
      return Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    static CoreOs empty() {
      return new CoreOs(
          List.of(), Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), Map.of());
    }
  }
}
