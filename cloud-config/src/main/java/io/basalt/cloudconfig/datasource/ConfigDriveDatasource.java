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
      MetadataValues check = new MetadataValues(name(), md.toString());
      JsonNode n = object(readJson(json, md), check, "meta_data.json");
      hostname = text(n, "hostname", check);
      if (hostname != null) {
        check.hostname("hostname", hostname);
      }
      JsonNode pk = n.get("public_keys");
      if (pk != null && !pk.isNull()) {
        object(pk, check, "public_keys");
        for (Iterator<Map.Entry<String, JsonNode>> it = pk.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          String field = "public_keys." + e.getKey();
          if (!e.getValue().isTextual()) {
            throw check.invalidHidden(field, "an SSH public key as a JSON string");
          }
          keys.add(check.sshKey(field, e.getValue().asText().trim()));
        }
      }
    }
    String public4 = null;
    String local4 = null;
    for (String v : List.of("ec2/latest/meta-data.json", "ec2/2009-04-04/meta-data.json")) {
      Path ec2 = mountDir.resolve(v);
      if (Files.isRegularFile(ec2)) {
        MetadataValues check = new MetadataValues(name(), ec2.toString());
        JsonNode n = object(readJson(json, ec2), check, "meta-data.json");
        public4 = text(n, "public-ipv4", check);
        if (public4 != null) {
          check.ipv4("public-ipv4", public4);
        }
        local4 = text(n, "local-ipv4", check);
        if (local4 != null) {
          check.ipv4("local-ipv4", local4);
        }
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

  private static JsonNode object(JsonNode n, MetadataValues check, String what)
      throws InvalidMetadataException {
    if (!n.isObject()) {
      throw check.invalid(what, n.toString(), "a JSON object");
    }
    return n;
  }

  /** A string field, null when absent, null or empty. */
  private static String text(JsonNode n, String field, MetadataValues check)
      throws InvalidMetadataException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw check.invalid(field, v.toString(), "a JSON string");
    }
    return v.asText().isEmpty() ? null : v.asText();
  }
}
