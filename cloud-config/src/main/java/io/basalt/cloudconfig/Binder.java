package io.basalt.cloudconfig;

import io.basalt.cloudconfig.Schema.Field;
import io.basalt.cloudconfig.Schema.Obj;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds {@link CloudConfig} from the normalised tree {@link DocumentChecker} produced (keys with
 * underscores, values already type-checked). Stateless and thread-safe.
 */
final class Binder {

  private Binder() {}

  @SuppressWarnings("unchecked")
  static CloudConfig bind(Map<String, Object> tree) {
    List<CloudConfig.User> users = new ArrayList<>();
    for (Object o : list(tree, "users")) {
      Map<String, Object> u = (Map<String, Object>) o;
      users.add(
          new CloudConfig.User(
              str(u, "name"),
              str(u, "passwd"),
              strings(u, "ssh_authorized_keys"),
              str(u, "gecos"),
              str(u, "homedir"),
              bool(u, "no_create_home"),
              str(u, "primary_group"),
              strings(u, "groups"),
              bool(u, "no_user_group"),
              bool(u, "system"),
              bool(u, "no_log_init"),
              str(u, "shell")));
    }
    List<CloudConfig.WriteFile> files = new ArrayList<>();
    for (Object o : list(tree, "write_files")) {
      Map<String, Object> f = (Map<String, Object>) o;
      Object content = f.get("content");
      boolean binary = content instanceof byte[];
      files.add(
          new CloudConfig.WriteFile(
              str(f, "path"),
              binary
                  ? new String((byte[]) content, StandardCharsets.ISO_8859_1)
                  : str(f, "content"),
              str(f, "encoding"),
              str(f, "owner"),
              str(f, "permissions"),
              binary));
    }
    Map<String, Object> c = (Map<String, Object>) tree.getOrDefault("coreos", Map.of());
    List<CloudConfig.Unit> units = new ArrayList<>();
    for (Object o : list(c, "units")) {
      Map<String, Object> u = (Map<String, Object>) o;
      List<CloudConfig.DropIn> drops = new ArrayList<>();
      for (Object d : list(u, "drop_ins")) {
        Map<String, Object> dm = (Map<String, Object>) d;
        drops.add(new CloudConfig.DropIn(str(dm, "name"), str(dm, "content")));
      }
      units.add(
          new CloudConfig.Unit(
              str(u, "name"),
              str(u, "content"),
              bool(u, "enable"),
              bool(u, "runtime"),
              bool(u, "mask"),
              str(u, "command"),
              drops));
    }
    CloudConfig.CoreOs coreos =
        new CloudConfig.CoreOs(
            units,
            env(c, "etcd", Schema.ETCD),
            env(c, "etcd2", Schema.ETCD2),
            env(c, "fleet", Schema.FLEET),
            env(c, "flannel", Schema.FLANNEL),
            env(c, "update", Schema.UPDATE),
            env(c, "locksmith", Schema.LOCKSMITH),
            env(c, "oem", Schema.OEM));
    return new CloudConfig(
        str(tree, "hostname"),
        users,
        strings(tree, "ssh_authorized_keys"),
        files,
        str(tree, "manage_etc_hosts"),
        coreos,
        swarm(tree));
  }

  @SuppressWarnings("unchecked")
  private static CloudConfig.Swarm swarm(Map<String, Object> tree) {
    Map<String, Object> basalt = (Map<String, Object>) tree.getOrDefault("basalt", Map.of());
    Map<String, Object> s = (Map<String, Object>) basalt.get("swarm");
    if (s == null) {
      return null;
    }
    Map<String, String> labels = new LinkedHashMap<>();
    ((Map<String, Object>) s.getOrDefault("labels", Map.of()))
        .forEach((k, v) -> labels.put(k, v.toString()));
    return new CloudConfig.Swarm(
        str(s, "role"), str(s, "advertise_addr"), str(s, "cluster"), labels);
  }

  /**
   * A pass-through section as env name to value, in schema order, skipping empty values (as
   * coreos-cloudinit).
   */
  @SuppressWarnings("unchecked")
  private static Map<String, String> env(Map<String, Object> coreos, String key, Obj schema) {
    Map<String, Object> section = (Map<String, Object>) coreos.getOrDefault(key, Map.of());
    Map<String, String> out = new LinkedHashMap<>();
    for (Field f : schema.fields()) {
      Object v = section.get(f.name());
      if (v == null
          || v.toString().isEmpty()
          || Boolean.FALSE.equals(v)
          || Long.valueOf(0).equals(v)) {
        continue;
      }
      out.put(f.env(), v.toString());
    }
    return out;
  }

  private static String str(Map<String, Object> m, String key) {
    Object v = m.get(key);
    return v == null ? null : v.toString();
  }

  private static boolean bool(Map<String, Object> m, String key) {
    return Boolean.TRUE.equals(m.get(key));
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> m, String key) {
    return (List<Object>) m.getOrDefault(key, List.of());
  }

  private static List<String> strings(Map<String, Object> m, String key) {
    List<String> out = new ArrayList<>();
    for (Object o : list(m, key)) {
      out.add(o.toString());
    }
    return out;
  }
}
