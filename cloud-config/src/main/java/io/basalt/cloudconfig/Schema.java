package io.basalt.cloudconfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The CoreOS {@code #cloud-config} format described as data: the one model from which the validator
 * checks documents, the binder builds {@link CloudConfig}, and the JSON Schema is generated. Field
 * lists follow coreos-cloudinit's {@code config/*.go} structs (yaml and env tags). Immutable and
 * thread-safe.
 */
final class Schema {

  private Schema() {}

  /** A value type in the format. */
  sealed interface Type permits Str, Bool, Int, Num, Obj, Seq, Dict {}

  /**
   * A string. Any YAML scalar is accepted (coreos-cloudinit takes the scalar's text), checked
   * against {@code pattern} (error {@code patternHint} when it does not match) or {@code values}.
   */
  record Str(Pattern pattern, String patternHint, List<String> values, String format)
      implements Type {
    static Str any() {
      return new Str(null, null, List.of(), null);
    }

    static Str matching(String regex, String hint) {
      return new Str(Pattern.compile(regex), hint, List.of(), null);
    }

    static Str oneOf(String... values) {
      return new Str(null, null, List.of(values), null);
    }

    /** A string whose value is checked by a named rule of {@link Validator} (e.g. "url-list"). */
    static Str format(String format) {
      return new Str(null, null, List.of(), format);
    }
  }

  /** A YAML 1.1 boolean (true/false/yes/no/on/off). */
  record Bool() implements Type {}

  /** An integer. */
  record Int() implements Type {}

  /** A number (integer or float). */
  record Num() implements Type {}

  /**
   * A mapping with known keys; unknown keys are warned about, or, when {@code closed} (Basalt's own
   * sections, which have no older readers to stay compatible with), errors.
   */
  record Obj(List<Field> fields, Map<String, Field> byName, boolean closed) implements Type {
    static Obj of(Field... fields) {
      return make(false, fields);
    }

    static Obj closed(Field... fields) {
      return make(true, fields);
    }

    private static Obj make(boolean closed, Field... fields) {
      Map<String, Field> m = new LinkedHashMap<>();
      for (Field f : fields) {
        m.put(f.name(), f);
      }
      return new Obj(List.of(fields), Collections.unmodifiableMap(m), closed);
    }

    Field field(String name) {
      return byName.get(name);
    }
  }

  /** A sequence of one element type. */
  record Seq(Type element) implements Type {}

  /**
   * A mapping of free-form keys (kept as written, checked by the named {@code keyFormat} rule of
   * the validator together with their value) to string values.
   */
  record Dict(String keyFormat, String keyPattern) implements Type {}

  /**
   * A key of a mapping: its canonical (underscore) name, type, one-line description, deprecation
   * message (null when current), environment variable it renders to (null when none), and whether
   * it is required.
   */
  record Field(
      String name, Type type, String description, String deprecated, String env, boolean required) {
    Field deprecate(String why) {
      return new Field(name, type, description, why, env, required);
    }

    Field require() {
      return new Field(name, type, description, deprecated, env, true);
    }
  }

  static Field f(String name, Type type, String description) {
    return new Field(name, type, description, null, null, false);
  }

  static Field env(String name, Type type, String env, String description) {
    return new Field(name, type, description, null, env, false);
  }

  /** Unit commands coreos-cloudinit accepts (systemctl verbs). */
  static final List<String> UNIT_COMMANDS =
      List.of(
          "start",
          "stop",
          "restart",
          "reload",
          "try-restart",
          "reload-or-restart",
          "reload-or-try-restart");

  /** write_files encodings, all spellings coreos-cloudinit accepts. */
  static final List<String> ENCODINGS =
      List.of("b64", "base64", "gz", "gzip", "gz+b64", "gz+base64", "gzip+b64", "gzip+base64");

  /** Reboot strategies: Basalt's four plus CoreOS's best-effort (deprecated, mapped). */
  static final List<String> REBOOT_STRATEGIES =
      List.of("etcd-lock", "fleetlock", "reboot", "off", "best-effort");

  static final String WINDOW_START =
      "^((?i:sun|mon|tue|wed|thu|fri|sat) )?0*([0-9]|1[0-9]|2[0-3]):0*([0-9]|[1-5][0-9])$";
  static final String WINDOW_LENGTH = "^[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+$";

  /** A duration as the update agent reads it: seconds, or parts like 1h30m (d, h, m, s, ms). */
  static final String DURATION = "^([0-9]+|([0-9]+(ms|d|h|m|s))+)$";

  static final Obj DROP_IN =
      Obj.of(
          f("name", Str.format("dropin-name"), "Drop-in file name, ending in .conf.").require(),
          f("content", Str.any(), "Drop-in file content."));

  static final Obj UNIT =
      Obj.of(
          f("name", Str.format("unit-name"), "Unit name with its suffix, e.g. etcd.service.")
              .require(),
          f(
              "content",
              Str.any(),
              "Unit file content; written to /etc/systemd/system (or /run when runtime)."),
          f("enable", new Bool(), "Enable the unit (systemctl enable) after the daemon-reload."),
          f(
              "runtime",
              new Bool(),
              "Write under /run/systemd/system (gone at reboot) instead of /etc."),
          f("mask", new Bool(), "Mask the unit (symlink to /dev/null)."),
          f(
              "command",
              Str.oneOf(UNIT_COMMANDS.toArray(String[]::new)),
              "systemctl command run on the unit at every apply."),
          f("drop_ins", new Seq(DROP_IN), "Drop-ins written to NAME.d/."));

  static final Obj ETCD2 =
      Obj.of(
          env(
              "advertise_client_urls",
              Str.format("url-list"),
              "ETCD_ADVERTISE_CLIENT_URLS",
              "Client URLs advertised to the cluster."),
          env("ca_file", Str.any(), "ETCD_CA_FILE", "CA file.")
              .deprecate("ca_file is obsoleted by trusted_ca_file and client_cert_auth"),
          env("cert_file", Str.any(), "ETCD_CERT_FILE", "Client server TLS certificate."),
          env(
              "client_cert_auth",
              new Bool(),
              "ETCD_CLIENT_CERT_AUTH",
              "Require client certificates."),
          env("cors", Str.any(), "ETCD_CORS", "CORS origins."),
          env("data_dir", Str.any(), "ETCD_DATA_DIR", "Data directory."),
          env("debug", new Bool(), "ETCD_DEBUG", "Debug logging."),
          env(
              "discovery",
              Str.format("url"),
              "ETCD_DISCOVERY",
              "Discovery URL used to bootstrap the cluster."),
          env(
              "discovery_fallback",
              Str.oneOf("exit", "proxy"),
              "ETCD_DISCOVERY_FALLBACK",
              "Behaviour when discovery fails."),
          env(
              "discovery_srv",
              Str.any(),
              "ETCD_DISCOVERY_SRV",
              "DNS SRV domain used to bootstrap the cluster."),
          env(
              "discovery_proxy",
              Str.format("url"),
              "ETCD_DISCOVERY_PROXY",
              "HTTP proxy for the discovery service."),
          env("election_timeout", new Int(), "ETCD_ELECTION_TIMEOUT", "Election timeout in ms."),
          env("enable_pprof", new Bool(), "ETCD_ENABLE_PPROF", "Expose pprof."),
          env(
              "force_new_cluster",
              new Bool(),
              "ETCD_FORCE_NEW_CLUSTER",
              "Force a new one-member cluster."),
          env(
              "heartbeat_interval",
              new Int(),
              "ETCD_HEARTBEAT_INTERVAL",
              "Heartbeat interval in ms."),
          env(
              "initial_advertise_peer_urls",
              Str.format("url-list"),
              "ETCD_INITIAL_ADVERTISE_PEER_URLS",
              "Peer URLs advertised to the cluster."),
          env(
              "initial_cluster",
              Str.any(),
              "ETCD_INITIAL_CLUSTER",
              "Initial cluster configuration (name=url,...)."),
          env(
              "initial_cluster_state",
              Str.oneOf("new", "existing"),
              "ETCD_INITIAL_CLUSTER_STATE",
              "new or existing."),
          env(
              "initial_cluster_token",
              Str.any(),
              "ETCD_INITIAL_CLUSTER_TOKEN",
              "Initial cluster token."),
          env("key_file", Str.any(), "ETCD_KEY_FILE", "Client server TLS key."),
          env(
              "listen_client_urls",
              Str.format("url-list"),
              "ETCD_LISTEN_CLIENT_URLS",
              "URLs to listen on for clients."),
          env(
              "listen_peer_urls",
              Str.format("url-list"),
              "ETCD_LISTEN_PEER_URLS",
              "URLs to listen on for peers."),
          env(
              "log_package_levels",
              Str.any(),
              "ETCD_LOG_PACKAGE_LEVELS",
              "Per-package log levels."),
          env("max_snapshots", new Int(), "ETCD_MAX_SNAPSHOTS", "Snapshot files to retain."),
          env("max_wals", new Int(), "ETCD_MAX_WALS", "WAL files to retain."),
          env("name", Str.any(), "ETCD_NAME", "Member name."),
          env("peer_ca_file", Str.any(), "ETCD_PEER_CA_FILE", "Peer CA file.")
              .deprecate(
                  "peer_ca_file is obsoleted by peer_trusted_ca_file and peer_client_cert_auth"),
          env("peer_cert_file", Str.any(), "ETCD_PEER_CERT_FILE", "Peer TLS certificate."),
          env("peer_key_file", Str.any(), "ETCD_PEER_KEY_FILE", "Peer TLS key."),
          env(
              "peer_client_cert_auth",
              new Bool(),
              "ETCD_PEER_CLIENT_CERT_AUTH",
              "Require peer client certificates."),
          env(
              "peer_trusted_ca_file",
              Str.any(),
              "ETCD_PEER_TRUSTED_CA_FILE",
              "Peer trusted CA file."),
          env(
              "proxy",
              Str.oneOf("on", "off", "readonly"),
              "ETCD_PROXY",
              "Proxy mode: on, off or readonly."),
          env(
              "proxy_dial_timeout",
              new Int(),
              "ETCD_PROXY_DIAL_TIMEOUT",
              "Proxy dial timeout in ms."),
          env(
              "proxy_failure_wait",
              new Int(),
              "ETCD_PROXY_FAILURE_WAIT",
              "Proxy failure wait in ms."),
          env(
              "proxy_read_timeout",
              new Int(),
              "ETCD_PROXY_READ_TIMEOUT",
              "Proxy read timeout in ms."),
          env(
              "proxy_refresh_interval",
              new Int(),
              "ETCD_PROXY_REFRESH_INTERVAL",
              "Proxy refresh interval in ms."),
          env(
              "proxy_write_timeout",
              new Int(),
              "ETCD_PROXY_WRITE_TIMEOUT",
              "Proxy write timeout in ms."),
          env(
              "snapshot_count",
              new Int(),
              "ETCD_SNAPSHOT_COUNT",
              "Committed transactions before a snapshot."),
          env(
              "strict_reconfig_check",
              new Bool(),
              "ETCD_STRICT_RECONFIG_CHECK",
              "Reject unsafe reconfiguration."),
          env("trusted_ca_file", Str.any(), "ETCD_TRUSTED_CA_FILE", "Client trusted CA file."),
          env("wal_dir", Str.any(), "ETCD_WAL_DIR", "WAL directory."));

  static final Obj ETCD =
      Obj.of(
          env("addr", Str.any(), "ETCD_ADDR", "Advertised client address (etcd 0.4)."),
          env("bind_addr", Str.any(), "ETCD_BIND_ADDR", "Client listen address (etcd 0.4)."),
          env("ca_file", Str.any(), "ETCD_CA_FILE", "CA file."),
          env("cert_file", Str.any(), "ETCD_CERT_FILE", "TLS certificate."),
          env("cluster_active_size", new Int(), "ETCD_CLUSTER_ACTIVE_SIZE", "Active cluster size."),
          env(
              "cluster_remove_delay",
              new Num(),
              "ETCD_CLUSTER_REMOVE_DELAY",
              "Seconds before removing a peer."),
          env(
              "cluster_sync_interval",
              new Num(),
              "ETCD_CLUSTER_SYNC_INTERVAL",
              "Seconds between syncs."),
          env("cors", Str.any(), "ETCD_CORS", "CORS origins."),
          env("data_dir", Str.any(), "ETCD_DATA_DIR", "Data directory."),
          env("discovery", Str.format("url"), "ETCD_DISCOVERY", "Discovery URL."),
          env("graphite_host", Str.any(), "ETCD_GRAPHITE_HOST", "Graphite host."),
          env("http_read_timeout", new Num(), "ETCD_HTTP_READ_TIMEOUT", "HTTP read timeout."),
          env("http_write_timeout", new Num(), "ETCD_HTTP_WRITE_TIMEOUT", "HTTP write timeout."),
          env("key_file", Str.any(), "ETCD_KEY_FILE", "TLS key."),
          env("max_result_buffer", new Int(), "ETCD_MAX_RESULT_BUFFER", "Max result buffer."),
          env("max_retry_attempts", new Int(), "ETCD_MAX_RETRY_ATTEMPTS", "Max retry attempts."),
          env("name", Str.any(), "ETCD_NAME", "Member name."),
          env("peer_addr", Str.any(), "ETCD_PEER_ADDR", "Advertised peer address."),
          env("peer_bind_addr", Str.any(), "ETCD_PEER_BIND_ADDR", "Peer listen address."),
          env("peer_ca_file", Str.any(), "ETCD_PEER_CA_FILE", "Peer CA file."),
          env("peer_cert_file", Str.any(), "ETCD_PEER_CERT_FILE", "Peer certificate."),
          env(
              "peer_election_timeout",
              new Int(),
              "ETCD_PEER_ELECTION_TIMEOUT",
              "Election timeout in ms."),
          env(
              "peer_heartbeat_interval",
              new Int(),
              "ETCD_PEER_HEARTBEAT_INTERVAL",
              "Heartbeat interval in ms."),
          env("peer_key_file", Str.any(), "ETCD_PEER_KEY_FILE", "Peer key."),
          env("peers", Str.any(), "ETCD_PEERS", "Comma-separated peers."),
          env("peers_file", Str.any(), "ETCD_PEERS_FILE", "File listing peers."),
          env("retry_interval", new Num(), "ETCD_RETRY_INTERVAL", "Retry interval in seconds."),
          env("snapshot", new Bool(), "ETCD_SNAPSHOT", "Enable snapshots."),
          env("snapshot_count", new Int(), "ETCD_SNAPSHOTCOUNT", "Transactions before a snapshot."),
          env("trace", Str.any(), "ETCD_TRACE", "Trace."),
          env("verbose", new Bool(), "ETCD_VERBOSE", "Verbose logging."),
          env("very_verbose", new Bool(), "ETCD_VERY_VERBOSE", "Very verbose logging."),
          env(
              "very_very_verbose",
              new Bool(),
              "ETCD_VERY_VERY_VERBOSE",
              "Very very verbose logging."));

  static final Obj FLEET =
      Obj.of(
          env("agent_ttl", Str.any(), "FLEET_AGENT_TTL", "Agent TTL, e.g. 30s."),
          env(
              "authorized_keys_file",
              Str.any(),
              "FLEET_AUTHORIZED_KEYS_FILE",
              "Authorized keys file for fleetctl."),
          env("disable_engine", new Bool(), "FLEET_DISABLE_ENGINE", "Run without the engine."),
          env(
              "engine_reconcile_interval",
              new Num(),
              "FLEET_ENGINE_RECONCILE_INTERVAL",
              "Engine reconcile interval in seconds."),
          env("etcd_cafile", Str.any(), "FLEET_ETCD_CAFILE", "etcd CA file."),
          env("etcd_certfile", Str.any(), "FLEET_ETCD_CERTFILE", "etcd client certificate."),
          env("etcd_keyfile", Str.any(), "FLEET_ETCD_KEYFILE", "etcd client key."),
          env("etcd_key_prefix", Str.any(), "FLEET_ETCD_KEY_PREFIX", "etcd key prefix."),
          env(
              "etcd_request_timeout",
              new Num(),
              "FLEET_ETCD_REQUEST_TIMEOUT",
              "etcd request timeout in seconds."),
          env("etcd_servers", Str.format("url-list"), "FLEET_ETCD_SERVERS", "etcd endpoints."),
          env(
              "metadata",
              Str.format("fleet-metadata"),
              "FLEET_METADATA",
              "Machine metadata, key=value,... ."),
          env("public_ip", Str.any(), "FLEET_PUBLIC_IP", "Public IP of this machine."),
          env("token_limit", new Int(), "FLEET_TOKEN_LIMIT", "Units per token."),
          env("verbosity", new Int(), "FLEET_VERBOSITY", "Log verbosity."),
          env("verify_units", new Bool(), "FLEET_VERIFY_UNITS", "Verify unit signatures."));

  static final Obj FLANNEL =
      Obj.of(
          env(
              "etcd_endpoints",
              Str.format("url-list"),
              "FLANNELD_ETCD_ENDPOINTS",
              "etcd endpoints."),
          env("etcd_cafile", Str.any(), "FLANNELD_ETCD_CAFILE", "etcd CA file."),
          env("etcd_certfile", Str.any(), "FLANNELD_ETCD_CERTFILE", "etcd client certificate."),
          env("etcd_keyfile", Str.any(), "FLANNELD_ETCD_KEYFILE", "etcd client key."),
          env(
              "etcd_prefix",
              Str.any(),
              "FLANNELD_ETCD_PREFIX",
              "etcd prefix of the network config."),
          env("etcd_username", Str.any(), "FLANNELD_ETCD_USERNAME", "etcd user name."),
          env("etcd_password", Str.any(), "FLANNELD_ETCD_PASSWORD", "etcd password."),
          env("ip_masq", new Bool(), "FLANNELD_IP_MASQ", "Masquerade traffic leaving the overlay."),
          env(
              "subnet_file",
              Str.any(),
              "FLANNELD_SUBNET_FILE",
              "Where the subnet file is written."),
          env("interface", Str.any(), "FLANNELD_IFACE", "Interface to use for inter-host traffic."),
          env("public_ip", Str.any(), "FLANNELD_PUBLIC_IP", "Public IP of this machine."));

  static final Obj UPDATE =
      Obj.of(
          env(
              "reboot_strategy",
              Str.oneOf(REBOOT_STRATEGIES.toArray(String[]::new)),
              "REBOOT_STRATEGY",
              "etcd-lock, fleetlock, reboot or off (CoreOS best-effort is accepted and mapped)."),
          env("group", Str.any(), "GROUP", "Update channel/group."),
          env("server", Str.format("url"), "SERVER", "Update repository URL."),
          env(
              "swarm_drain",
              Str.oneOf("auto", "yes", "no"),
              "SWARM_DRAIN",
              "Basalt: drain this Docker Swarm node before an OS reboot and set it active after"
                  + " the blessed boot: auto (when the engine is in a swarm), yes or no."),
          env(
              "swarm_drain_timeout",
              Str.matching(DURATION, "a duration like '5m', '90s' or '1h30m'"),
              "SWARM_DRAIN_TIMEOUT",
              "Basalt: how long to wait for the node's tasks to move before rebooting anyway,"
                  + " e.g. 5m."),
          env(
              "etcd_quorum_check",
              Str.oneOf("auto", "yes", "no"),
              "ETCD_QUORUM_CHECK",
              "Basalt: refuse the reboot lock while this reboot would cost etcd its quorum: auto"
                  + " (with etcd-lock and a local etcd member), yes or no."));

  static final Obj LOCKSMITH =
      Obj.of(
          env(
              "endpoint",
              Str.format("url-list"),
              "LOCKSMITHD_ENDPOINT",
              "etcd endpoints for the reboot lock."),
          env("etcd_cafile", Str.any(), "LOCKSMITHD_ETCD_CAFILE", "etcd CA file."),
          env("etcd_certfile", Str.any(), "LOCKSMITHD_ETCD_CERTFILE", "etcd client certificate."),
          env("etcd_keyfile", Str.any(), "LOCKSMITHD_ETCD_KEYFILE", "etcd client key."),
          env("etcd_username", Str.any(), "LOCKSMITHD_ETCD_USERNAME", "etcd user name."),
          env("etcd_password", Str.any(), "LOCKSMITHD_ETCD_PASSWORD", "etcd password."),
          env("group", Str.any(), "LOCKSMITHD_GROUP", "Reboot lock group."),
          env(
              "window_start",
              Str.matching(WINDOW_START, "a reboot window start like 'Thu 04:00' or '22:30'"),
              "LOCKSMITHD_REBOOT_WINDOW_START",
              "Reboot window start: [weekday] hh:mm."),
          env(
              "window_length",
              Str.matching(WINDOW_LENGTH, "a duration like '1h30m'"),
              "LOCKSMITHD_REBOOT_WINDOW_LENGTH",
              "Reboot window length, e.g. 1h30m."));

  static final Obj OEM =
      Obj.of(
          env("id", Str.any(), "ID", "OEM id."),
          env("name", Str.any(), "NAME", "OEM name."),
          env("version_id", Str.any(), "VERSION_ID", "OEM version."),
          env("home_url", Str.format("url"), "HOME_URL", "OEM home page."),
          env("bug_report_url", Str.format("url"), "BUG_REPORT_URL", "Where to report bugs."));

  static final Obj COREOS =
      Obj.of(
          f("etcd", ETCD, "etcd 0.4 settings (deprecated: use etcd2).")
              .deprecate("coreos.etcd configures etcd 0.4; use coreos.etcd2"),
          f(
              "etcd2",
              ETCD2,
              "etcd settings, written as ETCD_* environment in a drop-in for etcd.service."),
          f("flannel", FLANNEL, "flannel settings (FLANNELD_* in a drop-in for flanneld.service)."),
          f("fleet", FLEET, "fleet settings (FLEET_* in a drop-in for fleet.service)."),
          f("locksmith", LOCKSMITH, "Reboot coordination settings for Basalt's update agent."),
          f("oem", OEM, "OEM identity, written to /etc/oem-release."),
          f("update", UPDATE, "Update agent settings (written to /etc/basalt/update.conf)."),
          f("units", new Seq(UNIT), "systemd units to write, enable, mask and start."));

  static final Obj WRITE_FILE =
      Obj.of(
          f("path", Str.format("abs-path"), "Absolute path of the file to write.").require(),
          f("content", Str.any(), "File content, encoded as 'encoding' says."),
          f(
              "encoding",
              Str.oneOf(ENCODINGS.toArray(String[]::new)),
              "Content encoding: base64, gzip or gzip+base64 (any spelling)."),
          f(
              "owner",
              Str.matching(
                  "^[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?(:[A-Za-z0-9_][A-Za-z0-9_.-]*\\$?)?$",
                  "user or user:group"),
              "Owner as user or user:group (default root:root)."),
          f(
              "permissions",
              Str.matching("^0?[0-7]{3,4}$", "an octal mode like '0644'"),
              "Octal mode (default 0644)."));

  static final Obj USER =
      Obj.of(
          f("name", Str.format("user-name"), "Login name.").require(),
          f(
              "passwd",
              Str.format("password-hash"),
              "Password hash (crypt(3)), never a clear-text password."),
          f(
              "ssh_authorized_keys",
              new Seq(Str.format("ssh-key")),
              "Public keys added to the user's authorized_keys."),
          f("coreos_ssh_import_github", Str.any(), "Ignored.")
              .deprecate(
                  "coreos_ssh_import_github is not supported: fetching keys at boot is unreliable; list the keys in ssh_authorized_keys"),
          f("coreos_ssh_import_github_users", new Seq(Str.any()), "Ignored.")
              .deprecate(
                  "coreos_ssh_import_github_users is not supported: list the keys in ssh_authorized_keys"),
          f("coreos_ssh_import_url", Str.any(), "Ignored.")
              .deprecate(
                  "coreos_ssh_import_url is not supported: list the keys in ssh_authorized_keys"),
          f("gecos", Str.any(), "GECOS (comment) field."),
          f("homedir", Str.format("abs-path"), "Home directory."),
          f("no_create_home", new Bool(), "Do not create the home directory."),
          f("primary_group", Str.format("group-name"), "Primary group name."),
          f(
              "groups",
              new Seq(Str.format("group-name")),
              "Supplementary groups (created when missing)."),
          f("no_user_group", new Bool(), "Do not create a group named after the user."),
          f("system", new Bool(), "Create a system account."),
          f("no_log_init", new Bool(), "Do not add the user to lastlog/faillog."),
          f("shell", Str.format("abs-path"), "Login shell."));

  static final Obj SWARM =
      Obj.closed(
          f(
                  "role",
                  Str.oneOf("manager", "worker"),
                  "manager or worker: a manager may initialise the swarm and holds its state.")
              .require(),
          f(
                  "advertise_addr",
                  Str.format("ip-address"),
                  "The address other nodes reach this one at (an IP address or $private_ipv4,"
                      + " $public_ipv4, $private_ipv6, $public_ipv6).")
              .require(),
          f(
              "cluster",
              Str.format("swarm-cluster"),
              "Name of the swarm in etcd (/basalt/swarm/NAME/), default 'default'."),
          f(
              "labels",
              new Dict("swarm-label", "^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$"),
              "Node labels (key: value) for placement constraints (node.labels.KEY)."));

  static final Obj BASALT =
      Obj.closed(
          f(
              "swarm",
              SWARM,
              "Join a Docker Swarm whose nodes meet through etcd (written to"
                  + " /etc/basalt/swarm.conf; basalt-swarm.service)."));

  /** The top-level document. */
  static final Obj ROOT =
      Obj.of(
          f("hostname", Str.format("hostname"), "Host name."),
          f("users", new Seq(USER), "Users to create."),
          f(
              "ssh_authorized_keys",
              new Seq(Str.format("ssh-key")),
              "Keys for the default user 'core'."),
          f("write_files", new Seq(WRITE_FILE), "Files to write."),
          f(
              "manage_etc_hosts",
              Str.oneOf("localhost"),
              "'localhost' writes /etc/hosts resolving the host name locally."),
          f(
              "coreos",
              COREOS,
              "CoreOS section: units, etcd, update, locksmith, fleet, flannel, oem."),
          f("basalt", BASALT, "Basalt's extensions to the format: swarm."));

  /** All key names of an object, for "did you mean" suggestions. */
  static List<String> names(Obj obj) {
    List<String> out = new ArrayList<>();
    for (Field f : obj.fields()) {
      out.add(f.name());
    }
    return out;
  }
}
