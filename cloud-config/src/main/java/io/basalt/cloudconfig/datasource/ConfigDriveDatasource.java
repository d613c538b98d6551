package io.basalt.cloudconfig.datasource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.cloudconfig.Metadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An OpenStack config drive (ISO9660 or FAT labelled {@code config-2}) mounted at a directory:
 * {@code openstack/latest/user_data}, host name and public keys from {@code
 * openstack/latest/meta_data.json}, addresses from {@code ec2/latest/meta-data.json} (or {@code
 * ec2/2009-04-04/}) as coreos-cloudinit's configdrive datasource read them. Immutable and
 * thread-safe.
 */
public final class ConfigDriveDatasource implements Datasource {

  private final Path mountDir;

  public ConfigDriveDatasource(Path mountDir) {
    this.mountDir = Objects.requireNonNull(mountDir, "mountDir");
  }

  @Override
  public String name() {
    return "config-2";
  }

  @Override
  public Optional<Found> fetch() throws IOException {
    Path openstack = mountDir.resolve("openstack/latest");
    if (!Files.isDirectory(openstack)) {
      return Optional.empty();
    }
    Path ud = openstack.resolve("user_data");
    byte[] userData = Files.isRegularFile(ud) ? Files.readAllBytes(ud) : null;
    ObjectMapper json = new ObjectMapper();
    String hostname = null;
    List<String> keys = new ArrayList<>();
    Path md = openstack.resolve("meta_data.json");
    if (Files.isRegularFile(md)) {
      JsonNode n = readJson(json, md);
      hostname = text(n, "hostname");
      JsonNode pk = n.path("public_keys");
      for (Iterator<Map.Entry<String, JsonNode>> it = pk.fields(); it.hasNext(); ) {
        keys.add(it.next().getValue().asText().trim());
      }
    }
    String public4 = null;
    String local4 = null;
    for (String v : List.of("ec2/latest/meta-data.json", "ec2/2009-04-04/meta-data.json")) {
      Path ec2 = mountDir.resolve(v);
      if (Files.isRegularFile(ec2)) {
        JsonNode n = readJson(json, ec2);
        public4 = text(n, "public-ipv4");
        local4 = text(n, "local-ipv4");
        break;
      }
    }
    if (userData == null && hostname == null && keys.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new Found(
            "config-2:" + mountDir,
            userData,
            new Metadata(public4, local4, null, null, hostname, keys, Map.of())));
  }

  private static JsonNode readJson(ObjectMapper json, Path p) throws IOException {
    try {
      return json.readTree(Files.readAllBytes(p));
    } catch (IOException e) {
      throw new IOException(p + " is not valid JSON: " + e.getMessage(), e);
    }
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() || v.asText().isEmpty() ? null : v.asText();
  }
}
