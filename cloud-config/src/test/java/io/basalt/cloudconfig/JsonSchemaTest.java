package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class JsonSchemaTest {

  /**
   * The schema checked in for editors (cloud-config/cloud-config.schema.json) is the generated one.
   */
  @Test
  void committedSchemaIsUpToDate() throws Exception {
    Path committed = Path.of("cloud-config.schema.json");
    assertEquals(
        JsonSchema.generate(),
        Files.readString(committed, StandardCharsets.UTF_8),
        "regenerate with: basalt cloud-config schema -o cloud-config/cloud-config.schema.json");
  }

  @Test
  void generatedFromTheValidatorsModel() throws Exception {
    JsonNode s = new ObjectMapper().readTree(JsonSchema.generate());
    assertEquals(JsonSchema.generate(), JsonSchema.generate());
    JsonNode units = s.at("/properties/coreos/properties/units/items");
    assertEquals("name", units.at("/required/0").asText());
    assertEquals(7, units.at("/properties/command/enum").size());
    assertTrue(s.at("/properties/coreos/properties/update/properties/reboot-strategy").isObject());
    assertTrue(
        s.at("/properties/coreos/properties/etcd/deprecationMessage").asText().contains("etcd2"));
    assertEquals(false, s.at("/properties/additionalProperties").isMissingNode() ? false : true);
    for (Schema.Field f : Schema.ETCD2.fields()) {
      assertTrue(
          s.at("/properties/coreos/properties/etcd2/properties/" + f.name()).isObject(), f.name());
    }
    assertEquals(
        Schema.WINDOW_START,
        s.at("/properties/coreos/properties/locksmith/properties/window_start/pattern").asText());
  }
}
